"""The pager rules (crawler/rules/pagers.yml) one by one, on small pages of our own (no network).

The same shapes are crawled over real HTTP in tests/test_completeness.py."""

from __future__ import annotations

import gzip

import pytest

from crawler.discovery import (
    article_page_links,
    article_parts,
    attachment_links,
    jpage_requests,
    js_pagination,
    load_pager_rules,
    may_have_parts,
    may_link_attachments,
    parse_list_page,
    sitemap_body,
    sitemaps_in_robots,
)

ITEMS = "".join(f'<li><a href="/news/content_{n}.html">项目{n}</a><span>2024-05-0{n}</span></li>' for n in range(1, 5))


def page(pager: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><ul>{ITEMS}</ul>{pager}</body></html>"


@pytest.mark.parametrize("pager, base, expected", [
    # 下一页 + 共N页 on a first page without a number: every page named from the next link's shape
    ('<div>共4页 <a href="list_2.html">下一页</a></div>', "http://a.gov.cn/news/list.html",
     [f"http://a.gov.cn/news/list_{n}.html" for n in (2, 3, 4)]),
    # a later page of the same column: no guessed list_1.html (the first page has no number)
    ('<div>共4页 <a href="list.html">首页</a> <a href="list_3.html">下一页</a></div>', "http://a.gov.cn/news/list_2.html",
     ["http://a.gov.cn/news/list_3.html"]),
    # 第1/N页 and numbered links on a TRS-like index (index_1 is page 2)
    ('<div>第1/3页 <a href="index_1.html">2</a> <a href="index_2.html">3</a></div>', "http://a.gov.cn/x/index.html",
     ["http://a.gov.cn/x/index_1.html", "http://a.gov.cn/x/index_2.html"]),
    # 页次 N/M with 后页 on N.shtml pages
    ('<div>页次：1/3 <a href="2.shtml">后页</a></div>', "http://a.gov.cn/xwzx/index.shtml",
     ["http://a.gov.cn/xwzx/2.shtml", "http://a.gov.cn/xwzx/3.shtml"]),
    # ?cur=N with a symbol pager and 尾页
    ('<div><a href="list.jsp?cur=2">&gt;</a> <a href="list.jsp?cur=5">尾页</a></div>', "http://a.gov.cn/list.jsp?cur=1",
     [f"http://a.gov.cn/list.jsp?cur={n}" for n in range(2, 6)]),
    # pageIndex= with » and 总页数
    ('<div>总页数：3 <a href="List.aspx?pageIndex=2">»</a></div>', "http://a.gov.cn/List.aspx?pageIndex=1",
     ["http://a.gov.cn/List.aspx?pageIndex=2", "http://a.gov.cn/List.aspx?pageIndex=3"]),
    # traditional script 下一頁
    ('<div><a href="index_2.html">下一頁</a></div>', "http://a.gov.hk/news/index.html",
     ["http://a.gov.hk/news/index_2.html"]),
    # VSB counting down: 下页 -> 4.htm, 尾页 -> 1.htm
    ('<div>共5页 <a href="xwdt/4.htm">下页</a> <a href="xwdt/1.htm">尾页</a></div>', "http://a.edu.cn/xwdt.htm",
     [f"http://a.edu.cn/xwdt/{n}.htm" for n in (4, 3, 2, 1)]),
])
def test_pagers_name_every_page(pager, base, expected):
    result = parse_list_page(page(pager), base)
    assert result.pagination == expected
    assert result.next_page == expected[0]
    assert len(result.articles) == 4


def test_rel_next_link_in_head():
    result = parse_list_page(page("", '<link rel="next" href="/news/page/2/">'), "http://a.gov.cn/news/")
    assert result.next_page == "http://a.gov.cn/news/page/2/"


def test_pager_of_another_column_is_not_followed():
    result = parse_list_page(page('<a href="/other/list_2.html">2</a>'), "http://a.gov.cn/news/list.html")
    assert result.pagination == []


def test_absurd_counts_name_no_pages():
    result = parse_list_page(page('<div>共99999页 <a href="list_2.html">下一页</a></div>'),
                             "http://a.gov.cn/news/list.html")
    assert result.pagination == ["http://a.gov.cn/news/list_2.html"]


def test_a_createpagehtml_column_beyond_the_naming_limit_is_walked_page_by_page():
    """A TRS column of 2,500 pages (50,000 articles at 20 a page) is too many to name from the count,
    but each page names the next, so a crawl still reaches the end (within the source's max_pages);
    the last page names none."""
    def call(count: int, current: int) -> str:
        return f'<script>createPageHTML({count}, {current}, "index", "html");</script>'

    assert js_pagination(call(2500, 0), "http://a.gov.cn/xw/index.html") == ["http://a.gov.cn/xw/index_1.html"]
    assert js_pagination(call(2500, 7), "http://a.gov.cn/xw/index_7.html") == ["http://a.gov.cn/xw/index_8.html"]
    assert js_pagination(call(2500, 2499), "http://a.gov.cn/xw/index_2499.html") == []
    assert len(js_pagination(call(30, 0), "http://a.gov.cn/xw/index.html")) == 29  # within the limit: all


def test_js_pager_written_as_markup_with_count_in_text():
    html = ('<div>共3页</div><script>for (var i = 2; i <= n; i++) { document.write(\'<a href="list_\' + i + '
            '\'.html">\' + i + \'</a>\'); }</script>')
    assert js_pagination(html, "http://a.gov.cn/js/list.html") == [
        "http://a.gov.cn/js/list_2.html", "http://a.gov.cn/js/list_3.html"]


def test_trs_pager_written_by_script_counts_from_zero():
    html = ('<script>var countPage = 4; var currentPage = 0; var nextPage = currentPage + 1;'
            'document.write("<a href=\'index_" + nextPage + ".html\'>下一页</a>");</script>')
    assert js_pagination(html, "http://a.gov.cn/xw/index.html") == [
        f"http://a.gov.cn/xw/index_{k}.html" for k in (1, 2, 3)]


def test_hand_written_js_pager():
    html = 'var totalPage = 4; function go(n){ location.href = "list_" + n + ".html"; }'
    assert js_pagination(html, "http://a.gov.cn/js/list.html") == [
        f"http://a.gov.cn/js/list_{n}.html" for n in (2, 3, 4)]


def test_script_pagers_beyond_the_naming_limit_name_the_next_page_only():
    hand = 'var totalPage = 3000; function go(n){ location.href = "list_" + n + ".html"; }'
    assert js_pagination(hand, "http://a.gov.cn/js/list.html") == ["http://a.gov.cn/js/list_2.html"]
    assert js_pagination(hand, "http://a.gov.cn/js/list_41.html") == ["http://a.gov.cn/js/list_42.html"]
    assert js_pagination(hand, "http://a.gov.cn/js/list_3000.html") == []
    trs = ('<script>var countPage = 5000; var currentPage = 0; var nextPage = currentPage + 1;'
           'document.write("<a href=\'index_" + nextPage + ".html\'>下一页</a>");</script>')
    assert js_pagination(trs, "http://a.gov.cn/xw/index.html") == ["http://a.gov.cn/xw/index_1.html"]


NEXTGROUP = ("/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=3&path=/&columnid=55&unitid=7"
             "&webname=%E5%8E%BF&permissiontype=0")
JPAGE = ('<div id="7"><script type="text/xml"><datastore>'
         f'<nextgroup><![CDATA[<a href="{NEXTGROUP}"></a>]]></nextgroup>'
         "<recordset>{records}</recordset></datastore></script>"
         "<script>$('#7').jpage({{ totalRecord: 20, perPage: 2, groupSize: 3 }});</script></div>")


def test_jpage_group_columns_post_the_remaining_record_ranges():
    records = "".join(f'<record><![CDATA[<a href="/art/2024/5/1/art_55_{n}.html">x</a>]]></record>' for n in range(6))
    posts = jpage_requests(JPAGE.format(records=records), "http://q.gov.cn/col/col55/index.html")
    assert [p.url.rsplit("?", 1)[1] for p in posts] == [
        "startrecord=7&endrecord=12&perpage=2", "startrecord=13&endrecord=18&perpage=2",
        "startrecord=19&endrecord=20&perpage=2"]
    assert posts[0].url.startswith("http://q.gov.cn/module/web/jpage/dataproxy.jsp?")
    assert dict(posts[0].form) == {"col": "1", "appid": "1", "webid": "3", "path": "/", "columnid": "55", "unitid": "7",
                                   "webname": "县", "permissiontype": "0"}
    # one page of records only (perPage records): a ?pageNum=N column, no POSTs
    one_page = "".join(f'<record><![CDATA[<a href="/art/2024/5/1/art_55_{n}.html">x</a>]]></record>' for n in range(2))
    assert jpage_requests(JPAGE.format(records=one_page), "http://q.gov.cn/col/col55/index.html") == []


def test_javascript_and_mailto_are_never_links():
    html = page('<a href="javascript:goPage(2)">下一页</a><a href="mailto:x@a.gov.cn">信箱</a>')
    result = parse_list_page(html, "http://a.gov.cn/news/list.html")
    assert result.pagination == [] and not [u for u in result.lists if "mailto" in u or "javascript" in u]


def test_iframe_lists():
    result = parse_list_page('<html><body><iframe src="/list/inner.html"></iframe>'
                             '<iframe src="http://other.example.com/x.html"></iframe></body></html>',
                             "http://a.gov.cn/index.html")
    assert result.frames == ["http://a.gov.cn/list/inner.html"]


def test_article_parts_and_attachments():
    html = ('<div class="content">正文</div><div>共3页 <a href="t20240501_9_1.html">2</a> '
            '<a href="t20240501_9_2.html">3</a> <a href="t20240501_9_1.html">下一页</a></div>'
            '<p>附件：<a href="/files/计划.pdf">计划.pdf</a> <a href="down.jsp?filename=a.xls">表</a>'
            '<a href="/other.html">相关</a></p>')
    url = "http://a.gov.cn/xw/202405/t20240501_9.html"
    assert article_parts(html, url) == ["http://a.gov.cn/xw/202405/t20240501_9_1.html",
                                        "http://a.gov.cn/xw/202405/t20240501_9_2.html"]
    links = attachment_links(html, url)
    assert [link.url for link in links] == ["http://a.gov.cn/files/%E8%AE%A1%E5%88%92.pdf",
                                            "http://a.gov.cn/xw/202405/down.jsp?filename=a.xls"]
    assert links[0].text == "计划.pdf"


def test_sitemaps_from_robots_and_gzip_bounded():
    robots = b"User-agent: *\nDisallow: /x/\nSitemap: /sitemap_index.xml\nsitemap: https://a.gov.cn/s2.xml.gz\n"
    assert sitemaps_in_robots(robots, "https://a.gov.cn/robots.txt") == [
        "https://a.gov.cn/sitemap_index.xml", "https://a.gov.cn/s2.xml.gz"]
    xml = b"<urlset></urlset>"
    assert sitemap_body(gzip.compress(xml), 1000) == xml
    with pytest.raises(Exception):  # noqa: B017 (Scrapy raises its own size error)
        sitemap_body(gzip.compress(b" " * 100_000), 1000)


def test_rules_file_has_a_comment_per_rule():
    rules = load_pager_rules()
    assert "下一页" in rules.next_texts and "尾页" in rules.last_texts
    assert {s.name for s in rules.url_shapes} >= {"underscore-suffix", "numbered-file", "query-parameter"}

def test_article_parts_named_in_any_spelling_of_the_file_name():
    """The pager search is skipped on pages that never name their own file: a continuation page is
    always named after it, whether the link spells it raw, percent-encoded or by a script pager."""
    url = "http://a.gov.cn/xw/%E9%A1%B9%E7%9B%AE.html"  # 项目.html, canonical (percent-encoded)
    raw = '<p>正文</p><a href="项目_1.html">下一页</a>'
    assert article_parts(raw, url) == ["http://a.gov.cn/xw/%E9%A1%B9%E7%9B%AE_1.html"]
    scripted = ('<p>正文</p><script>var countPage = 2; var currentPage = 0;'
                'createPageHTML(countPage, currentPage, "t20240501_9", "html");</script>')
    assert article_parts(scripted, "http://a.gov.cn/xw/t20240501_9.html") == [
        "http://a.gov.cn/xw/t20240501_9_1.html"]
    unnamed = '<p>正文</p><div>共3页 <a href="index_1.html">下一页</a></div>'  # a column's pager, not parts
    assert article_parts(unnamed, "http://a.gov.cn/xw/t20240501_9.html") == []


def test_raw_bytes_gate_never_hides_an_attachment_or_a_part():
    """The crawl skips decoding an article page whose bytes rule out attachments and parts: check the
    gate says yes on every page that has one (GBK bytes, upper case, query downloads, links and every
    script pager shape naming the parts) and no on a plain page, whose scripts may say "window.document"
    and which may spell its own file name (canonical link, form action, a widget's document id)."""
    url = "http://a.gov.cn/xw/202405/t20240501_9.html"
    plain = ("<p>项目建设</p><script>window.document.title</script><a href='/xw/t1.html'>相关</a>"
             '<link rel="canonical" href="t20240501_9.html"><form action="t20240501_9.html"></form>'
             '<script>var share = {"docId": "t20240501_9", "url": "./t20240501_9.html"};</script>')
    assert not may_link_attachments(plain.encode("gbk"))
    assert not may_have_parts(plain.encode("gbk"), url)
    for page in ('<a href="/files/计划.PDF">计划</a>', '<a href="down.jsp?filename=a.xls&id=3">表</a>',
                 '<a href=x.docx>x</a>'):
        body = (plain + page).encode("gbk")
        assert may_link_attachments(body), page
        assert attachment_links(body.decode("gbk"), url)  # and the link is really one
    assert may_have_parts((plain + '<a href="T20240501_9_1.HTML">2</a>').encode("gbk"), url)  # any case
    for pager in ('<a href="t20240501_9_1.html">下一页</a>',  # a link
                  '<script>createPageHTML(3, 0, "t20240501_9", "html");</script>',  # TRS
                  "<script>createPageHTML('page_div', 3, 0, 't20240501_9', 'html', 20);</script>",
                  "<script>var pageCount = 3; var currentPage = 0; u = 't20240501_9_' + i + '.html';</script>",
                  '<script>var countPage = 3; document.write("<a href=\\"t20240501_9_" + i + ".html\\">");</script>'):
        html = plain + pager
        assert may_have_parts(html.encode("gbk"), url), pager
        assert article_parts(html, url), pager  # and the pager really names parts
    assert not article_parts(plain + '<script>createPageHTML(3, 0, "index", "html");</script>', url)
    assert may_have_parts(plain.encode("gbk"), "http://a.gov.cn/xw/%E9%A1%B9%E7%9B%AE.html")  # not ASCII
    assert may_link_attachments((plain + '<a href="a.pdf">a</a>').encode("utf-16"))
    assert may_have_parts(plain.encode("utf-16"), url)  # UTF-16: the bytes say nothing


def test_an_article_page_is_decoded_only_when_its_bytes_allow_a_link_further():
    """The spider's reading of an article page (article_page_links): a page that only names itself is
    never decoded; one with an attachment gives it, and its parts only from a first page."""
    url = "http://a.gov.cn/xw/202405/t20240501_9.html"
    decoded: list[str] = []

    def reader(html: str):
        return lambda: decoded.append(html) or html

    plain = '<meta name="Url" content="/xw/202405/t20240501_9.html"><p>项目建设</p>'
    assert article_page_links(plain.encode("gbk"), url, reader(plain), first_page=True) == ([], [])
    assert decoded == []
    full = plain + '<a href="/files/计划.pdf">计划</a><a href="t20240501_9_1.html">下一页</a>'
    attachments, parts = article_page_links(full.encode("gbk"), url, reader(full), first_page=True)
    assert [link.url for link in attachments] == ["http://a.gov.cn/files/%E8%AE%A1%E5%88%92.pdf"]
    assert parts == ["http://a.gov.cn/xw/202405/t20240501_9_1.html"]
    attachments, parts = article_page_links(full.encode("gbk"), url, reader(full), first_page=False)
    assert len(attachments) == 1 and parts == []
    assert len(decoded) == 2
