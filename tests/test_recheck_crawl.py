"""End to end: real `govbrief crawl` runs over a local site whose pages change and disappear.

One module-scoped archive, four runs (each a real Scrapy process against 127.0.0.1):
  run 1  the site is intact: seven articles are archived.
  run 2  "200 days later" (GOVBRIEF_NOW): one article edited, one 404, one 410, one redirected to
         the home page, one soft-404 notice, one behind a 412 JS challenge, one unchanged (304).
  run 3  "7 hours after that": only the challenged article is due again; the challenge is gone.
  run 4  "100 days after run 2": the deleted articles are due again; the 404 one is back online.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import rows, run_crawl

from pipelines.recheck.policy import stamp
from pipelines.store import storage

REPO = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------ the site


@dataclass
class Article:
    number: int
    date: str
    title: str
    paras: list[str]

    @property
    def path(self) -> str:
        return f"/xw/{self.date[:4]}{self.date[5:7]}/t{self.date.replace('-', '')}_{self.number}.html"


ARTICLES = {
    "edited": Article(1001, "2023-01-14", "泰州市重大产业项目集中开工", [
        "1月14日，泰州市2023年一季度重大产业项目集中开工仪式在高港区举行。本次集中开工项目共32个，"
        "总投资达256亿元，涵盖新能源、高端装备、生物医药、新一代信息技术等领域，其中单体投资超10亿元的项目11个。",
        "市委主要负责同志在开工仪式上指出，要坚持项目为王，全力以赴抓招商、上项目、强产业，以高质量项目支撑"
        "高质量发展。各地各部门要强化要素保障，优化营商环境，确保项目早开工、早投产、早见效。",
        "据了解，今年全市计划实施重大产业项目200个以上，年度计划投资超过800亿元，其中列入省级重大项目28个。"
        "市发展改革委将会同有关部门建立项目推进台账，实行月度调度、季度观摩。",
    ]),
    "http404": Article(1002, "2023-02-03", "关于2023年度市级预算内基本建设投资计划的公示", [
        "根据《政府投资条例》和《泰州市市级政府投资项目管理办法》有关规定，现将2023年度市级预算内基本建设"
        "投资计划予以公示，公示期为2023年2月3日至2023年2月9日。",
        "本年度市级预算内基本建设投资计划共安排项目46个，安排资金9.8亿元，主要用于城市道路、排水防涝、"
        "教育卫生、保障性住房等民生领域，其中续建项目31个，新开工项目15个。",
        "公示期间，如有异议，请以书面形式向市发展和改革委员会投资处反映，反映情况须真实具体，并署真实姓名。",
    ]),
    "http410": Article(1003, "2023-02-20", "高港区化工园区改造提升项目环境影响评价公众参与公告", [
        "高港区化工园区改造提升项目拟在园区现有用地范围内实施，建设内容包括危险化学品仓储设施改造、"
        "污水集中处理设施提标、园区封闭化管理系统建设等，项目总投资约4.6亿元。",
        "根据《环境影响评价公众参与办法》，现公开征求与本项目环境影响有关的意见。公众可通过信函、"
        "电子邮件等方式向建设单位提交意见，征求意见期限为公告之日起10个工作日。",
        "建设单位将在报批环境影响报告书前，对收到的公众意见进行整理，并在报告书中说明采纳情况。",
    ]),
    "home": Article(1004, "2023-03-08", "泰州市城市更新行动实施方案政策解读", [
        "为贯彻落实国家和省关于实施城市更新行动的决策部署，市住房和城乡建设局牵头起草了《泰州市城市更新"
        "行动实施方案》，经市政府常务会议审议通过，现就主要内容解读如下。",
        "方案明确，到2025年全市累计改造城镇老旧小区300个以上，惠及居民约8万户；实施老旧街区、老旧厂区"
        "改造项目20个，新增公共停车泊位1.5万个，新建改造城市绿道100公里。",
        "方案提出建立政府引导、市场运作、公众参与的可持续实施模式，鼓励社会资本参与城市更新项目投资运营。",
    ]),
    "soft404": Article(1005, "2023-03-15", "关于征收海陵区部分国有土地上房屋的决定", [
        "因城市基础设施建设需要，根据《国有土地上房屋征收与补偿条例》等规定，市人民政府决定征收海陵区"
        "东进路以南、凤凰路以东地块范围内国有土地上的房屋，征收范围以红线图为准。",
        "征收部门为海陵区住房和城乡建设局，征收实施单位为海陵区房屋征收服务中心。签约期限为本决定公告之日起"
        "60日，在签约期限内完成搬迁的，按照补偿方案给予搬迁奖励。",
        "被征收人对本决定不服的，可以自公告之日起60日内依法申请行政复议，也可以在6个月内依法提起行政诉讼。",
    ]),
    "challenge": Article(1006, "2023-04-10", "泰州市2023年一季度招商引资签约项目情况通报", [
        "一季度，全市新签约亿元以上产业项目126个，计划总投资1082亿元，同比增长18.6%。其中10亿元以上项目"
        "29个，50亿元以上项目5个，外资项目签约合同外资9.3亿美元。",
        "从产业分布看，新能源、生物医药、高端装备三大主导产业签约项目占比达到68%，项目质态持续优化。"
        "靖江市、泰兴市、高港区签约项目数位列全市前三。",
        "下一步，各地要加快推动签约项目落地转化，建立签约、注册、开工、投产全流程跟踪服务机制。",
    ]),
    "unchanged": Article(1007, "2023-04-21", "泰州市推进长江大保护生态修复工程进展", [
        "今年以来，我市深入推进长江大保护，长江岸线生态修复工程完成投资7.2亿元，累计修复岸线12.4公里，"
        "新增造林绿化面积3600亩，沿江生态廊道建设取得阶段性成效。",
        "全市持续开展入江排污口排查整治，已完成整治入江排污口430个，长江干流泰州段水质稳定保持Ⅱ类，"
        "主要入江支流断面水质优Ⅲ类比例达到100%。",
        "下一步，我市将统筹推进沿江化工企业关改搬转和岸线资源集约利用，打造长江生态文明建设示范段。",
    ]),
}
EDITED_PARAS = [
    ARTICLES["edited"].paras[0],
    ARTICLES["edited"].paras[1],
    "据了解，今年全市计划实施重大产业项目220个以上，年度计划投资超过900亿元，其中列入省级重大项目31个。"
    "市发展改革委将会同有关部门建立项目推进台账，实行月度调度、季度观摩。",
]

SOFT404_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>提示信息</title></head><body>
<div class="tips"><img src="/images/tip.png" alt=""><p>对不起，该信息已删除或不存在！</p>
<p><a href="/">返回首页</a></p></div></body></html>"""
# 瑞数-style: a 412 whose body is a script that computes a cookie and reloads the page
CHALLENGE_PAGE = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<script type="text/javascript">$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=84213;
$_ts.cd="qhyDrAlFcGqDrpWhDGEElsWUrpVvqqAqxAElhAEqrpqxEAqqqGWlcAEkhAqqDakqrpqxhaqxAGWlAElqDAWqxGEkDkqx";</script>
<script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.js"></script></head>
<body></body></html>"""
NOT_FOUND_PAGE = "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr>nginx</body></html>"


def article_page(article: Article, paras: list[str] | None = None) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in (paras or article.paras))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{article.title}_泰州市人民政府</title>
<meta name="ArticleTitle" content="{article.title}"><meta name="PubDate" content="{article.date} 09:30">
<meta name="ContentSource" content="泰州市人民政府办公室"></head><body>
<div class="header"><a href="/">首页</a> <a href="/xw/index.html">新闻中心</a></div>
<div class="main"><h1 class="title">{article.title}</h1>
<div class="info">发布时间：{article.date} 来源：泰州市人民政府办公室</div>
<div class="TRS_Editor">{body}</div></div>
<div class="footer">主办：泰州市人民政府办公室 苏ICP备05000000号</div></body></html>"""


def list_page() -> str:
    items = "\n".join(
        f'<li><a href=".{a.path[3:]}" title="{a.title}">{a.title}</a><span>{a.date}</span></li>'
        for a in sorted(ARTICLES.values(), key=lambda a: a.date, reverse=True))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>新闻中心_泰州市人民政府</title></head>
<body><div class="header"><a href="/">首页</a></div><div class="list"><ul>{items}</ul></div></body></html>"""


HOME_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>泰州市人民政府</title></head>
<body><h1>泰州市人民政府</h1><a href="/xw/index.html">新闻中心</a></body></html>"""


@dataclass
class Hit:
    path: str
    status: int
    headers: dict[str, str]


@dataclass
class Site:
    """The pages and what each article does now ("ok", "edited", 404, 410, "home", "soft404", "challenge")."""

    modes: dict[str, str | int] = field(default_factory=lambda: {key: "ok" for key in ARTICLES})
    hits: list[Hit] = field(default_factory=list)
    port: int = 0

    def respond(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if path in ("/", "/index.html"):
            return 200, {}, HOME_PAGE
        if path == "/xw/index.html":
            return 200, {}, list_page()
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, "User-agent: *\nDisallow:\n"
        key = next((k for k, a in ARTICLES.items() if a.path == path), None)
        if key is None:
            return 404, {}, NOT_FOUND_PAGE
        mode, article = self.modes[key], ARTICLES[key]
        if mode == 404:
            return 404, {}, NOT_FOUND_PAGE
        if mode == 410:
            return 410, {}, "<html><body>Gone</body></html>"
        if mode == "home":
            return 302, {"Location": "/"}, ""
        if mode == "soft404":
            return 200, {}, SOFT404_PAGE
        if mode == "challenge":
            return 412, {"Set-Cookie": "FSSBBIl1UgzbN7NO=5kX; Path=/; HttpOnly"}, CHALLENGE_PAGE
        html = article_page(article, EDITED_PARAS if mode == "edited" else None)
        etag = '"' + hashlib.sha1(html.encode()).hexdigest()[:16] + '"'
        modified = "Sat, 01 Jul 2023 08:00:00 GMT" if mode == "edited" else "Sat, 14 Jan 2023 01:30:00 GMT"
        validators = {"ETag": etag, "Last-Modified": modified}
        if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers and headers.get("if-modified-since") == modified):
            return 304, validators, ""
        return 200, validators, html

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}{ARTICLES[key].path}"


def start_site() -> tuple[Site, ThreadingHTTPServer]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, text = site.respond(self.path.split("?")[0], headers)
            site.hits.append(Hit(self.path, status, headers))
            body = text.encode("utf-8")
            self.send_response(status)
            if status != 304:
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # keep pytest output readable
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server


# ------------------------------------------------------------------ running crawls


def crawl(sources: Path, db: Path, now: datetime | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("GOVBRIEF_NOW", None)
    if now is not None:
        env["GOVBRIEF_NOW"] = stamp(now)
    return run_crawl(sources, db, env=env)


def article_hits(hits: list[Hit]) -> list[Hit]:
    paths = {a.path for a in ARTICLES.values()}
    return [h for h in hits if h.path in paths]


@dataclass
class Runs:
    site: Site
    db: Path
    results: list[subprocess.CompletedProcess]
    hits: list[list[Hit]]  # per run
    snapshot: dict[str, dict]  # url -> article row after run 1
    times: list[datetime | None]

    def article(self, key: str) -> dict:
        [row] = rows(self.db, "select * from articles where url = ?", [self.site.url(key)])
        return row

    def stats(self, run: int) -> dict:
        [row] = rows(self.db, "select stats from crawl_runs where id = ?", [run])
        return json.loads(row["stats"])["test-city"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Iterator[Runs]:
    site, server = start_site()
    tmp = tmp_path_factory.mktemp("recheck")
    sources, db = tmp / "sources.yml", tmp / "archive.db"
    sources.write_text(
        "sources:\n  - id: test-city\n    name: 泰州市人民政府（测试）\n    region: 江苏省泰州市\n"
        f"    start_urls: [http://127.0.0.1:{site.port}/xw/index.html]\n", encoding="utf-8")
    # "later" is relative to the real clock, which stamps the first run's captures
    base = datetime.now(UTC).replace(microsecond=0)
    times = [None, base + timedelta(days=200), base + timedelta(days=200, hours=7), base + timedelta(days=300)]
    scenario = [
        {},
        {"edited": "edited", "http404": 404, "http410": 410, "home": "home", "soft404": "soft404",
         "challenge": "challenge"},
        {"challenge": "ok"},  # the anti-bot wall is down again
        {"http404": "ok"},  # the 404 article is republished as it was
    ]
    results, hits, snapshot = [], [], {}
    try:
        for when, changes in zip(times, scenario, strict=True):
            site.modes.update(changes)
            start = len(site.hits)
            results.append(crawl(sources, db, when))
            hits.append(site.hits[start:])
            if not snapshot:
                snapshot = {r["url"]: r for r in rows(db, "select * from articles")}
        yield Runs(site, db, results, hits, snapshot, times)
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ tests


def test_every_run_is_healthy(runs):
    for number, result in enumerate(runs.results, start=1):
        assert result.returncode == 0, f"run {number}: {result.stdout}{result.stderr[-3000:]}"
    assert len(runs.snapshot) == len(ARTICLES)
    assert all(row["text"] and row["title"] for row in runs.snapshot.values())


def test_first_run_rechecks_nothing(runs):
    assert sorted(h.path for h in article_hits(runs.hits[0])) == sorted(a.path for a in ARTICLES.values())
    assert not any(k.startswith("recheck_") for k in runs.stats(1))


def test_second_run_rechecks_every_old_article_once(runs):
    assert sorted(h.path for h in article_hits(runs.hits[1])) == sorted(a.path for a in ARTICLES.values())
    stats = runs.stats(2)
    outcomes = {k: v for k, v in stats.items() if k.startswith("recheck_")}
    assert outcomes == {"recheck_changed": 1, "recheck_gone": 4, "recheck_challenge": 1, "recheck_not_modified": 1}


def test_unchanged_article_answered_304_to_conditional_request(runs):
    [hit] = [h for h in article_hits(runs.hits[1]) if h.path == ARTICLES["unchanged"].path]
    first = [h for h in article_hits(runs.hits[0]) if h.path == ARTICLES["unchanged"].path][0]
    assert "if-none-match" not in first.headers
    assert hit.headers.get("if-none-match", "").startswith('"') and hit.status == 304
    assert hit.headers.get("if-modified-since") == "Sat, 14 Jan 2023 01:30:00 GMT"
    row = runs.article("unchanged")
    assert row["last_check_outcome"] == "not_modified" and row["gone_since"] is None
    assert row["last_seen"] == stamp(runs.times[1])
    # a 304 stores no capture: the article's only capture is still the first one
    assert len(rows(runs.db, "select id from captures where url = ?", [runs.site.url("unchanged")])) == 1


def test_edited_article_has_two_versions_and_a_diff(runs):
    url = runs.site.url("edited")
    row, before = runs.article("edited"), runs.snapshot[url]
    assert row["version_count"] == 2 and row["last_changed"] == stamp(runs.times[1])
    assert "重大产业项目220个以上" in row["text"] and "重大产业项目200个以上" not in row["text"]
    assert row["capture_id"] != before["capture_id"] and row["first_fetched"] == before["first_fetched"]
    v1, v2 = rows(runs.db, "select * from article_versions where article_id = ? order by version", [row["id"]])
    assert (v1["version"], v1["text"], v1["capture_id"]) == (1, before["text"], before["capture_id"])
    assert (v2["version"], v2["text"], v2["capture_id"]) == (2, row["text"], row["capture_id"])
    diff = v2["diff"].splitlines()
    assert diff[0].startswith("--- v1") and diff[1] == f"+++ v2 {stamp(runs.times[1])}"
    assert "-" + ARTICLES["edited"].paras[2] in diff and "+" + EDITED_PARAS[2] in diff
    assert not any(line.startswith(("-", "+")) and "开工仪式上指出" in line for line in diff)  # untouched paragraph
    assert "1 paragraph changed" in v2["summary"] and "超过[-8-]{+9+}00亿元" in v2["summary"]
    [change] = rows(runs.db, "select * from changed_articles")
    assert (change["url"], change["version"], change["previous_capture_id"]) == (url, 2, before["capture_id"])
    # the old capture is still there and still says the old thing
    old = storage.load_capture(rows(runs.db, "select * from captures where id = ?", [before["capture_id"]])[0])
    assert "重大产业项目200个以上" in old.body.decode("utf-8")


@pytest.mark.parametrize("key, reason, status", [
    ("http404", "http_404", 404),
    ("http410", "http_410", 410),
    ("home", "redirect_home", 302),
    ("soft404", "soft404", 200),
])
def test_deleted_articles_are_recorded_with_reason(runs, key, reason, status):
    url = runs.site.url(key)
    events = rows(runs.db, "select * from article_events where url = ? and event = 'gone'", [url])
    assert [(e["reason"], e["status"], e["at"]) for e in events] == [(reason, status, stamp(runs.times[1]))]
    capture = rows(runs.db, "select status from captures where id = ?", [events[0]["capture_id"]])[0]
    assert capture["status"] == status  # the deletion answer itself is kept as evidence
    if key == "home":
        assert events[0]["detail"] == f"http://127.0.0.1:{runs.site.port}/"
    if key == "soft404":
        assert events[0]["detail"] == "该信息已删除"


def test_deleted_article_keeps_its_last_good_capture_readable(runs):
    deleted = {r["url"]: r for r in rows(runs.db, "select * from deleted_articles")}
    assert set(deleted) == {runs.site.url(k) for k in ("http410", "home", "soft404")}  # 404 came back in run 4
    for key in ("http410", "home", "soft404"):
        url = runs.site.url(key)
        row, before = runs.article(key), runs.snapshot[url]
        assert row["gone_since"] == stamp(runs.times[1])  # first sighting, not moved by the later check
        assert (row["title"], row["text"]) == (before["title"], before["text"])
        good = rows(runs.db, "select * from captures where id = ?", [deleted[url]["last_good_capture_id"]])[0]
        capture = storage.load_capture(good)
        assert capture.status == 200 and ARTICLES[key].paras[0] in capture.body.decode("utf-8")
        assert deleted[url]["last_seen"] == before["fetched_at"]


def test_challenge_is_not_a_deletion_and_is_retried_next_run(runs):
    path = ARTICLES["challenge"].path
    [second] = [h for h in article_hits(runs.hits[1]) if h.path == path]
    assert second.status == 412
    [event] = rows(runs.db, "select * from article_events where url = ?", [runs.site.url("challenge")])
    assert (event["event"], event["reason"], event["status"]) == ("challenge", "js_challenge", 412)
    # run 3, seven hours later: only the challenged article is due again, and it is fine
    assert [h.path for h in article_hits(runs.hits[2])] == [path]
    assert runs.stats(3).get("recheck_not_modified") == 1
    row = runs.article("challenge")
    assert row["gone_since"] is None and row["last_check_outcome"] == "not_modified"
    assert row["last_seen"] == stamp(runs.times[2])


def test_gone_articles_are_rechecked_rarely_and_one_comes_back(runs):
    gone = {ARTICLES[k].path for k in ("http404", "http410", "home", "soft404")}
    fourth = article_hits(runs.hits[3])
    assert sorted(h.path for h in fourth) == sorted(gone)  # everything else is not due yet
    assert all("if-none-match" not in h.headers for h in fourth)  # gone: ask for the full page
    outcomes = {k: v for k, v in runs.stats(4).items() if k.startswith("recheck_")}
    assert outcomes == {"recheck_back": 1, "recheck_still_gone": 3}
    row = runs.article("http404")
    assert row["gone_since"] is None and row["gone_reason"] is None and row["last_check_outcome"] == "back"
    [back] = rows(runs.db, "select * from article_events where url = ? and event = 'back'", [runs.site.url("http404")])
    detail = json.loads(back["detail"])
    assert detail["gone_since"] == stamp(runs.times[1]) and detail["days_gone"] == 100 and not detail["changed"]
    assert runs.article("http410")["last_check_outcome"] == "still_gone"
