"""Discovery rules on small hand-written pages of the three CMS families (no network)."""

from crawler.discovery import (
    canonical_url,
    hanweb_pagination,
    js_pagination,
    looks_like_article_url,
    looks_like_list_url,
    parse_feed,
    parse_list_page,
)

TRS_LIST = """<html><body><ul class="list">
<li><a href="./202301/t20230114_7654321.html">项目一</a><span>2023-01-14</span></li>
<li><a href="./202212/t20221230_7654000.html">项目二</a><span>2022-12-30</span></li>
</ul><div class="page"><script>createPageHTML(4, 0, "index", "html");</script></div>
<a href="/xwzx/zsyz/index.html">招商引资</a><a href="javascript:void(0)">打印</a>
<a href="/images/logo.png">logo</a></body></html>"""


def test_trs_articles_and_js_pagination():
    page = parse_list_page(TRS_LIST, "http://city.example.gov.cn/xwzx/xmjs/index.html")
    assert [link.url for link in page.articles] == [
        "http://city.example.gov.cn/xwzx/xmjs/202301/t20230114_7654321.html",
        "http://city.example.gov.cn/xwzx/xmjs/202212/t20221230_7654000.html",
    ]
    assert page.pagination == [f"http://city.example.gov.cn/xwzx/xmjs/index_{n}.html" for n in (1, 2, 3)]
    assert page.lists == ["http://city.example.gov.cn/xwzx/zsyz/index.html"]


def test_createpagehtml_variants():
    base = "http://x.gov.cn/a/index_2.html"
    classic = js_pagination('<script>createPageHTML(3, 2, "index", "shtml")</script>', base)
    assert classic == ["http://x.gov.cn/a/index.shtml", "http://x.gov.cn/a/index_1.shtml"]
    with_vars = js_pagination(
        "var countPage = 3; var currentPage = 0; createPageHTML(countPage, currentPage, 'index', 'html');", base)
    # the page being read (index_2.html) is never its own pagination
    assert with_vars == ["http://x.gov.cn/a/index_1.html"]
    newer = js_pagination('createPageHTML("page_div", 2, 1, "list", "html", 40);', base)
    assert newer == ["http://x.gov.cn/a/list.html"]
    # absurd (a typo, a trap): not named from the count; the next page only, as a 下一页 link would be
    assert js_pagination("createPageHTML(100000, 0, 'index', 'html')", base) == ["http://x.gov.cn/a/index_1.html"]


HANWEB = """<html><body><div id="4567"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&columnid=1229"></a>]]></nextgroup>
<recordset>
<record><![CDATA[<li><a href="/art/2023/3/2/art_1229_3456789.html" title="区重点项目">区重点项目</a>
<span>2023-03-02</span></li>]]></record>
<record><![CDATA[<li><a href="/art/2023/2/28/art_1229_3456700.html">招商签约</a><span>2023-02-28</span></li>]]></record>
</recordset></datastore></script>
<script>var totalRecord = 40; var perPage = 15;</script></div>
<a href="/col/col1230/index.html">政务公开</a></body></html>"""


def test_hanweb_records_and_page_parameters():
    base = "http://qu.example.gov.cn/col/col1229/index.html?uid=4567&pageNum=1"
    page = parse_list_page(HANWEB, base)
    assert [link.url for link in page.articles] == [
        "http://qu.example.gov.cn/art/2023/3/2/art_1229_3456789.html",
        "http://qu.example.gov.cn/art/2023/2/28/art_1229_3456700.html",
    ]
    assert hanweb_pagination(HANWEB, base) == [
        "http://qu.example.gov.cn/col/col1229/index.html?uid=4567&pageNum=2",
        "http://qu.example.gov.cn/col/col1229/index.html?uid=4567&pageNum=3",
    ]
    assert "http://qu.example.gov.cn/col/col1230/index.html" in page.lists


GENERIC = """<html><body><table class="news">
<tr><td><a href="/show.asp?id=101">县委召开项目推进会</a></td><td>2023年03月15日</td></tr>
<tr><td><a href="/show.asp?id=102">招商引资再传捷报</a></td><td>2023年03月10日</td></tr>
<tr><td><a href="/show.asp?id=103">重点工程开工</a></td><td>2023年03月01日</td></tr>
</table><div class="pager"><a href="/list.asp?page=2">下一页</a></div>
<ul class="nav"><li><a href="/about.asp">概况</a></li><li><a href="/contact.asp">联系</a></li>
<li><a href="/map.asp">地图</a></li></ul></body></html>"""


def test_generic_dated_list_without_known_url_shapes():
    page = parse_list_page(GENERIC, "http://xian.example.gov.cn/list.asp")
    expected = [f"http://xian.example.gov.cn/show.asp?id={n}" for n in (101, 102, 103)]
    assert [link.url for link in page.articles] == expected
    assert all(link.dated for link in page.articles)
    assert page.pagination == ["http://xian.example.gov.cn/list.asp?page=2"]
    # navigation without dates is neither article nor list
    assert not any("about" in u for u in page.lists)


def test_url_shapes():
    assert looks_like_article_url("http://a.gov.cn/xw/202301/t20230114_7654321.html")
    assert looks_like_article_url("http://a.gov.cn/art/2023/3/2/art_1229_3456789.html")
    assert looks_like_article_url("http://a.gov.cn/news/2023/0315/123.html")
    assert looks_like_article_url("https://www.sohu.com/a/560123456_121106832")
    assert not looks_like_article_url("http://a.gov.cn/xw/index_3.html")
    assert not looks_like_article_url("http://a.gov.cn/files/t20230114_7654321.pdf")
    assert looks_like_list_url("http://a.gov.cn/col/col1229/index.html?uid=1&pageNum=2")
    assert looks_like_list_url("http://a.gov.cn/xwzx/")
    assert canonical_url("HTTP://A.gov.cn:80/x.html#top") == "http://a.gov.cn/x.html"


def test_feeds_rss_and_atom():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://a/</link>
    <item><title>1</title><link>http://a.gov.cn/a/1.html</link></item>
    <item><title>2</title><link> http://a.gov.cn/a/2.html </link></item></channel></rss>"""
    atom = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
    <link href="http://a.gov.cn/"/><entry><title>x</title><link rel="alternate" href="http://a.gov.cn/b/3.html"/>
    </entry></feed>"""
    assert parse_feed(rss) == ["http://a.gov.cn/a/1.html", "http://a.gov.cn/a/2.html"]
    assert parse_feed(atom) == ["http://a.gov.cn/b/3.html"]
    assert parse_feed(b"<html>not a feed</html>") == []
    assert parse_feed(b"\x00\x01garbage") == []


VSB_LIST = """<html><body><div class="list"><ul>
<li><a href="../info/1012/12345.htm">重大项目集中开工</a><span>2023-05-06</span></li>
<li><a href="../info/1012/12340.htm">招商推介会举行</a><span>2023-05-01</span></li>
</ul></div><div class="pb_sys_common"><a href="xmjs/2.htm">2</a><a href="xmjs/2.htm">下页</a>
<a href="xmjs/9.htm">尾页</a></div><a href="../zsyz/2.htm">2</a></body></html>"""


def test_vsb_style_pagination_in_a_subfolder():
    page = parse_list_page(VSB_LIST, "http://x.gov.cn/xwzx/xmjs.htm")
    assert [link.url for link in page.articles] == ["http://x.gov.cn/info/1012/12345.htm",
                                                    "http://x.gov.cn/info/1012/12340.htm"]
    # 尾页 names the last page (9): every page between is named from the shared URL shape
    assert page.pagination == [f"http://x.gov.cn/xwzx/xmjs/{n}.htm" for n in range(2, 10)]
    assert page.next_page == "http://x.gov.cn/xwzx/xmjs/2.htm"
