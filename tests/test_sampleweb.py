"""The sample web itself: static files, the server's quirks on purpose, and the ground truth.

Fast and offline: one server set for the module, plain urllib (no proxies), no crawler involved.
"""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from sampleweb import EXPECTED, SITE_IDS, SITES_DIR, SampleWeb, build_sites, start_sample_web

# Never route 127.0.0.1 through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        return self.body.decode("gb18030" if "charset=utf-8" not in self.content_type else "utf-8")


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Fetched:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Fetched(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as err:
        return Fetched(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with start_sample_web() as running:
        yield running


def _articles(site: str | None = None, via: str | None = None) -> list[dict]:
    return [a for a in EXPECTED["articles"]
            if (site is None or a["site"] == site) and (via is None or a["via"] == via)]


def _decode(site: str, body: bytes) -> str:
    return body.decode("gb18030" if site == "county-gbk" else "utf-8")


# --- the generated files ----------------------------------------------------------------------


def test_generated_files_are_up_to_date_and_reproducible() -> None:
    # Rendering twice gives identical bytes, and the committed files equal a fresh rendering.
    assert build_sites.render_all() == build_sites.render_all()
    assert build_sites.check() == []


def test_sample_web_is_small() -> None:
    total = sum(p.stat().st_size for p in SITES_DIR.rglob("*") if p.is_file())
    assert total < 2_000_000


def test_expected_json_is_consistent() -> None:
    articles = EXPECTED["articles"]
    titles = [a["title"] for a in articles]
    assert len(titles) == len(set(titles)), "titles must be unique across the sample web"
    paths = [(a["site"], a["path"]) for a in articles]
    assert len(paths) == len(set(paths))
    for a in articles:
        assert a["site"] in SITE_IDS
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["published"])
        assert a["via"] in ("list", "sitemap", "feed")
    counts = {site: len(_articles(site)) for site in SITE_IDS}
    assert counts == {"city-trs": 17, "district-hanweb": 10, "farm-repost": 6, "county-gbk": 6}
    assert [a["path"] for a in _articles(via="sitemap")] == ["/art/2023/4/3/art_1229_3462345.html"]
    assert {a["site"] for a in _articles(via="feed")} == {"farm-repost", "county-gbk"}
    assert sum(a["kind"] == "notice" for a in articles) == 2
    assert [a["script"] for a in articles].count("hant") == 1
    never = {(n["site"], n["path"]) for n in EXPECTED["never_fetch"]}
    assert never == {("city-trs", "/private/202301/t20230101_1000001.html")}
    assert not never & set(paths)
    for host in ("www.gov.cn", "www.jiangsu.gov.cn", "beian.miit.gov.cn"):
        assert host in EXPECTED["external_hosts"]
    assert "127.0.0.1" not in EXPECTED["external_hosts"]


# --- serving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("site,path", [
    ("city-trs", "/xwzx/xmjs/index.html"), ("city-trs", "/xwzx/zsyz/index.html"),
    ("district-hanweb", "/col/col1229/index.html"), ("farm-repost", "/news/"),
    ("county-gbk", "/news/list.html"),
])
def test_list_pages_are_served(web: SampleWeb, site: str, path: str) -> None:
    page = fetch(web.url(site, path))
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    assert "__SITE_" not in _decode(site, page.body)


def test_root_and_directories_map_to_index(web: SampleWeb) -> None:
    assert fetch(web.url("city-trs", "/")).body == fetch(web.url("city-trs", "/index.html")).body
    assert fetch(web.url("city-trs", "/xwzx/xmjs/")).body == fetch(web.url("city-trs", "/xwzx/xmjs/index.html")).body
    assert fetch(web.url("farm-repost", "/news")).status == 200


def test_trs_pagination_exists_only_in_the_script(web: SampleWeb) -> None:
    item = re.compile(r'<li><a href="\./(\d{6})/t(\d{8})_\d{7}\.html" title="[^"]+" target="_blank">[^<]+</a>'
                      r"<span>(\d{4}-\d{2}-\d{2})</span></li>")
    found = 0
    for current, name in enumerate(["index.html", "index_1.html", "index_2.html", "index_3.html"]):
        page = fetch(web.url("city-trs", f"/xwzx/xmjs/{name}"))
        text = page.text()
        assert page.status == 200
        assert f'createPageHTML(4, {current}, "index", "html");' in text
        assert "function createPageHTML(" in text
        assert "index_1.html" not in text and "index_2.html" not in text and "index_3.html" not in text
        for month, day, shown in item.findall(text):
            assert day.startswith(month) and shown.replace("-", "") == day
            found += 1
    assert found == len([a for a in _articles("city-trs") if "/xmjs/" in a["path"]]) == 14
    zsyz = fetch(web.url("city-trs", "/xwzx/zsyz/index.html")).text()
    assert 'createPageHTML(1, 0, "index", "html");' in zsyz


def test_trs_article_metadata(web: SampleWeb) -> None:
    text = fetch(web.url("city-trs", "/xwzx/xmjs/202301/t20230114_7654321.html")).text()
    assert '<meta name="ArticleTitle" content="泰兴市2023年重大项目建设动员大会召开">' in text
    assert '<meta name="PubDate" content="2023-01-14 09:30">' in text
    assert '<meta name="ContentSource" content="泰兴日报">' in text
    assert "<title>泰兴市2023年重大项目建设动员大会召开_泰兴市人民政府</title>" in text
    assert "发布时间：2023年01月14日 09:30" in text
    related = text.split("相关阅读", 1)[1]
    assert len(re.findall(r"<li><a href=", related.split("</ul>", 1)[0])) == 5
    for marker in ("上一篇", "下一篇", "分享到", "打印本页", "关闭窗口", "版权所有", "网站标识码", "ICP",
                   "/calendar/?month=2023-01"):
        assert marker in text


def test_hanweb_page_numbers_serve_different_record_sets(web: SampleWeb) -> None:
    record = re.compile(r'<record><!\[CDATA\[\s*<li><a href="(/art/\d{4}/\d{1,2}/\d{1,2}/art_1229_\d{7}\.html)"')
    pages = []
    for n in (1, 2, 3):
        page = fetch(web.url("district-hanweb", f"/col/col1229/index.html?uid=1234&pageNum={n}"))
        assert page.status == 200
        assert "totalRecord: 9" in page.text() and "perPage: 3" in page.text()
        pages.append(record.findall(page.text()))
    assert pages[0] == record.findall(fetch(web.url("district-hanweb", "/col/col1229/index.html")).text())
    assert all(len(p) == 3 for p in pages)
    listed = {a["path"] for a in _articles("district-hanweb", "list")}
    assert set(pages[0]) | set(pages[1]) | set(pages[2]) == listed
    assert fetch(web.url("district-hanweb", "/col/col1229/index.html?uid=1234&pageNum=4")).status == 404
    assert fetch(web.url("district-hanweb", "/col/col1229/index.html?uid=1234&pageNum=x")).status == 404


def test_county_gbk_is_served_with_the_wrong_charset(web: SampleWeb) -> None:
    page = fetch(web.url("county-gbk", "/news/2023/0315/123.html"))
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"  # a lie: the bytes are GBK
    with pytest.raises(UnicodeDecodeError):
        page.body.decode("utf-8")
    text = page.body.decode("gb18030")
    assert "charset=gb2312" in text
    assert "<title>郸城县举行2023年一季度重大项目集中开工仪式--郸城县人民政府</title>" in text
    assert "时间：2023年03月15日" in text
    # 镕 and 珺 are in GBK but not in GB2312: only a GBK/GB18030 decoder gets this page right.
    for char in "镕珺喆":
        with pytest.raises(UnicodeEncodeError):
            char.encode("gb2312")
    assert "李镕" in text and "王珺" in text and "张喆" in text
    listing = fetch(web.url("county-gbk", "/news/list.html"))
    assert listing.headers["content-type"] == "text/html"  # no charset at all
    assert "郸城要闻" in listing.body.decode("gb18030")


def test_calendar_trap_is_infinite(web: SampleWeb) -> None:
    text = fetch(web.url("city-trs", "/calendar/?month=2031-07")).text()
    assert 'href="/calendar/?month=2031-06"' in text and 'href="/calendar/?month=2031-08"' in text
    december = fetch(web.url("city-trs", "/calendar/?month=1999-12")).text()
    assert 'href="/calendar/?month=2000-01"' in december and 'href="/calendar/?month=1999-11"' in december
    links = set(re.findall(r'href="(/calendar/[^"]*)"', text))
    assert len(links) >= 5  # prev, next, event days
    assert fetch(web.url("city-trs", "/calendar/?month=garbage")).status == 200


def test_unknown_paths_are_404(web: SampleWeb) -> None:
    for site, path in [("city-trs", "/no/such/page.html"), ("farm-repost", "/a/1_2"),
                       ("county-gbk", "/news/2023/0101/1.html"), ("city-trs", "/../../etc/passwd"),
                       ("district-hanweb", "/module/web/jpage/dataproxy.jsp?page=1"),
                       ("farm-repost", "/calendar/")]:
        page = fetch(web.url(site, path))
        assert page.status == 404, (site, path)
        assert "404" in page.body.decode("utf-8")


def test_placeholders_are_replaced_by_base_urls(web: SampleWeb) -> None:
    home = fetch(web.url("city-trs", "/")).text()
    assert web.url("farm-repost", "/a/560123456_121106832") in home
    assert "__SITE_" not in home
    sitemap = fetch(web.url("district-hanweb", "/sitemap.xml")).text()
    assert web.base_urls["district-hanweb"] + "/art/" in sitemap and "__SITE_" not in sitemap
    assert web.substitute(b"x __SITE_county-gbk__/a __SITE_nope__") == (
        f"x {web.base_urls['county-gbk']}/a __SITE_nope__".encode())


def test_every_expected_article_is_served(web: SampleWeb) -> None:
    for article in EXPECTED["articles"]:
        page = fetch(web.url(article["site"], article["path"]))
        assert page.status == 200, article["path"]
        assert page.content_type.startswith("text/html")
        text = _decode(article["site"], page.body)
        assert unescape(text).count(article["title"]) >= 1, article["path"]
        assert "__SITE_" not in text


def test_farm_articles_have_no_extension_and_heavy_spam(web: SampleWeb) -> None:
    page = fetch(web.url("farm-repost", "/a/560123456_121106832"))
    assert page.status == 200 and page.content_type == "text/html; charset=utf-8"
    text = page.text()
    for spam in ("试读结束", "加微信", "客服热线", "QQ", "版权声明", "返回搜狐，查看更多", "相关推荐",
                 "来源：泰兴市人民政府", "项目建设 项目建设 招商引资"):
        assert spam in text, spam
    hant = fetch(web.url("farm-repost", "/a/636718294_121106832")).text()
    assert "泰興市長沈立群" in hant and "試讀結束" in hant


def test_robots_txt_disallows_the_private_article(web: SampleWeb) -> None:
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetch(web.url("city-trs", "/robots.txt")).text().splitlines())
    for item in EXPECTED["never_fetch"]:
        assert not robots.can_fetch("govbrief", web.url(item["site"], item["path"]))
        assert (SITES_DIR / item["site"] / item["path"].lstrip("/")).is_file()
        lists = "".join(fetch(web.url("city-trs", f"/xwzx/xmjs/{n}")).text()
                        for n in ("index.html", "index_1.html", "index_2.html", "index_3.html"))
        assert f'href="{item["path"]}"' in lists  # linked, so only robots.txt keeps a crawler out
    assert robots.can_fetch("govbrief", web.url("city-trs", "/xwzx/xmjs/index.html"))


def test_feeds_and_sitemap(web: SampleWeb) -> None:
    sitemap = fetch(web.url("district-hanweb", "/sitemap.xml"))
    assert sitemap.content_type.startswith("application/xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text for e in ET.fromstring(sitemap.body).findall("s:url/s:loc", ns)]
    assert len(locs) == 5
    assert web.url("district-hanweb", "/art/2023/4/3/art_1229_3462345.html") in locs

    rss = fetch(web.url("farm-repost", "/rss.xml"))
    assert rss.content_type.startswith("application/rss+xml")
    items = ET.fromstring(rss.body).findall("channel/item")
    assert {i.findtext("link") for i in items} == {web.url("farm-repost", a["path"]) for a in _articles("farm-repost")}
    assert all(re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0800", i.findtext("pubDate")) for i in items)

    atom = fetch(web.url("county-gbk", "/atom.xml"))
    assert atom.content_type.startswith("application/atom+xml")
    a = {"a": "http://www.w3.org/2005/Atom"}
    links = {e.get("href") for e in ET.fromstring(atom.body).findall("a:entry/a:link", a)}
    assert links == {web.url("county-gbk", x["path"]) for x in _articles("county-gbk")}


# --- the ground truth matches what link-following can reach ----------------------------------

_HREF = re.compile(r"""href=["']([^"'#]+)["']""", re.I)
_CREATE_PAGE = re.compile(r'createPageHTML\((\d+),\s*(\d+),\s*"(\w+)",\s*"(\w+)"\)')


def _crawl_links(web: SampleWeb, site: str) -> set[str]:
    """Paths reachable on one site from its start URLs by following links (like a simple crawler:
    plain hrefs, hrefs inside Hanweb CDATA records, TRS createPageHTML pages; robots.txt and the
    calendar trap respected; other origins never requested)."""
    sources = {s["id"]: s for s in yaml.safe_load(web.render_sources())["sources"]}
    base = web.base_urls[site]
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetch(base + "/robots.txt").text().splitlines() if fetch(base + "/robots.txt").status == 200 else [])
    queue = deque(sources[site]["start_urls"])
    seen: set[str] = set(queue)
    while queue:
        url = queue.popleft()
        page = fetch(url)
        if page.status != 200 or "html" not in page.content_type:
            continue
        text = unescape(_decode(site, page.body))
        found = [urljoin(url, h) for h in _HREF.findall(text)]
        for count, current, name, ext in _CREATE_PAGE.findall(text):
            found += [urljoin(url, name + ("" if i == 0 else f"_{i}") + "." + ext)
                      for i in range(int(count)) if i != int(current)]
        for link in found:
            parts = urlsplit(link)
            if f"{parts.scheme}://{parts.netloc}" != base or link in seen:
                continue
            if parts.path.startswith("/calendar") or not robots.can_fetch("govbrief", link):
                continue
            seen.add(link)
            queue.append(link)
    return {urlsplit(u).path for u in seen}


@pytest.mark.parametrize("site", SITE_IDS)
def test_link_following_reaches_exactly_the_list_articles(web: SampleWeb, site: str) -> None:
    reached = _crawl_links(web, site)
    listed = {a["path"] for a in _articles(site, "list")}
    hidden = {a["path"] for a in _articles(site) if a["via"] != "list"}
    assert listed <= reached
    assert not hidden & reached, "sitemap/feed-only articles must not be linked"
    never = {n["path"] for n in EXPECTED["never_fetch"] if n["site"] == site}
    assert not never & reached


# --- server behaviour -------------------------------------------------------------------------


def test_request_log_records_requests(web: SampleWeb) -> None:
    url = web.url("district-hanweb", "/col/col1229/index.html?uid=1234&pageNum=2")
    fetch(url, headers={"User-Agent": "govbrief-test/1.0"})
    fetch(web.url("district-hanweb", "/nope.html"), headers={"User-Agent": "govbrief-test/1.0"})
    records = [r for r in web.requests_for("district-hanweb") if r.user_agent == "govbrief-test/1.0"]
    assert [(r.method, r.path, r.status) for r in records[-2:]] == [
        ("GET", "/col/col1229/index.html?uid=1234&pageNum=2", 200), ("GET", "/nope.html", 404)]
    assert all(r.site == "district-hanweb" for r in web.requests_for("district-hanweb"))
    assert len(web.requests) >= len(web.requests_for("district-hanweb"))


def test_conditional_requests_and_head(web: SampleWeb) -> None:
    url = web.url("city-trs", "/xwzx/xmjs/index.html")
    first = fetch(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)
    assert fetch(url, headers={"If-None-Match": etag}).status == 304
    assert fetch(url, headers={"If-None-Match": '"other"'}).status == 200
    assert fetch(url, headers={"If-Modified-Since": modified}).status == 304
    head = fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["content-length"]) == len(first.body)


def test_sources_yml_renders_with_real_urls(web: SampleWeb) -> None:
    text = web.render_sources()
    assert not [line for line in text.splitlines() if "__SITE_" in line.split("#", 1)[0]]
    sources = yaml.safe_load(text)["sources"]
    assert [s["id"] for s in sources] == list(SITE_IDS)
    for source in sources:
        for key in ("start_urls", "sitemap_urls", "feed_urls"):
            for url in source.get(key, []):
                assert web.site_of(url) == source["id"]
                assert fetch(url).status == 200, url
        if source.get("article_url_pattern"):
            pattern = re.compile(source["article_url_pattern"])
            for article in _articles(source["id"]):
                assert pattern.search(web.url(source["id"], article["path"])), article["path"]
    assert sources[1]["sitemap_urls"] == [web.url("district-hanweb", "/sitemap.xml")]
    assert sources[2]["feed_urls"] == [web.url("farm-repost", "/rss.xml")]
    assert sources[3]["feed_urls"] == [web.url("county-gbk", "/atom.xml")]


def test_write_sources(web: SampleWeb, tmp_path) -> None:
    path = web.write_sources(tmp_path / "nested" / "sources.yml")
    assert path.read_text(encoding="utf-8") == web.render_sources()


def test_server_had_no_errors(web: SampleWeb) -> None:
    # Runs after the tests above in this module: none of their requests hit a server bug.
    assert web.errors == []


def test_a_server_bug_is_a_500_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from sampleweb import server

    def broken(site: str, rel_path: str) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "content_type", broken)
    with start_sample_web() as running:
        assert fetch(running.url("city-trs", "/index.html")).status == 500
        assert [(site, str(exc)) for site, exc in running.errors] == [("city-trs", "boom")]
        assert running.requests[-1].status == 500


def test_stop_closes_every_port() -> None:
    with start_sample_web() as running:
        ports = [urlsplit(u).port for u in running.base_urls.values()]
        assert len(set(ports)) == len(SITE_IDS)
        assert fetch(running.url("farm-repost", "/rss.xml")).status == 200
    for port in ports:
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    running.stop()  # idempotent
