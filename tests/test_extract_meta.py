"""Metadata a journalist cites: headline, date (with its source), 来源, author, editor."""

from __future__ import annotations

import lxml.html
import pytest

from pipelines.extract.article import extract_article
from pipelines.extract.clean_dom import strip_junk
from pipelines.extract.metadata_cn import (
    card_like,
    clean_title,
    date_from_url,
    extract_meta,
    parse_date,
    published_in_line,
    strip_farm_decorations,
    strip_site_suffix,
)


def meta_of(html: str, url: str = "http://www.example.gov.cn/xw/1.html"):
    doc = lxml.html.document_fromstring(html)
    strip_junk(doc)
    return extract_meta(doc, url)


@pytest.mark.parametrize(("text", "iso"), [
    ("2022年02月21日", "2022-02-21"),
    ("发布时间：2022-2-1 10:00", "2022-02-01"),
    ("2022/10/19 15:32", "2022-10-19"),
    ("2022.10.19", "2022-10-19"),
    ("2年前 (2023-08-07)", "2023-08-07"),
    ("Admin - admin 于2022年02月21日发表", "2022-02-21"),
    ("二〇二二年二月二十一日", "2022-02-21"),
    ("20220221", "2022-02-21"),
    ("二零二三年十二月三十一日", "2023-12-31"),
    ("9/17/2004 5:54:13 AM", "2004-09-17"),  # month first, unambiguous
    ("7/5/2005 9:23:57 PM", None),  # 7 May or 5 July: not guessed
    ("2022年13月40日", None),
    ("浏览次数：512", None),
])
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(("url", "iso"), [
    ("http://www.example.gov.cn/xwzx/202202/t20220221_123456.html", "2022-02-21"),
    ("http://news.example.com/2012/01/17/123.html", "2012-01-17"),
    ("http://news.example.com/c/2012-01-16/042123805830.shtml", "2012-01-16"),
    ("http://news.example.com/20050513/n225551143.shtml", "2005-05-13"),
    ("http://www.example.com/a/123456.html", None),
])
def test_date_from_url(url: str, iso: str | None) -> None:
    assert date_from_url(url) == iso


@pytest.mark.parametrize(("title", "headline"), [
    ("临江县召开推进会_临江县人民政府", "临江县召开推进会"),
    ("天宁区召开2023年重大项目推进会-东莞劳务派遣网", "天宁区召开2023年重大项目推进会"),
    ("江苏执行基本药物新目录 价格平均再降3成 - 新浪网 - 新闻", "江苏执行基本药物新目录 价格平均再降3成"),
    ("九亭镇服务转型发展——区委统战部一行莅临调研 | 某某网", "九亭镇服务转型发展——区委统战部一行莅临调研"),
    ("没有后缀的标题", "没有后缀的标题"),
])
def test_strip_site_suffix(title: str, headline: str) -> None:
    assert strip_site_suffix(title) == headline


def test_headline_is_the_heading_found_in_title() -> None:
    m = meta_of("""<html><head><title>某某县召开重点项目推进会_某某县人民政府</title></head><body>
        <div class="logo"><h1>某某县人民政府</h1></div>
        <div class="art"><div class="tit">某某县召开重点项目推进会</div>
        <div class="info">2021年03月15日 来源：某某日报 作者：李明 责任编辑：王芳</div>
        <p>3月12日，某某县召开重点项目推进会，部署全年项目建设工作。会议由县长主持。</p></div>
        <ul><li><a href="/1.html">其他新闻标题</a> 2020-01-01</li></ul></body></html>""")
    assert (m.title, m.title_source) == ("某某县召开重点项目推进会", "heading")
    assert (m.published, m.published_source) == ("2021-03-15", "info-line")
    assert (m.source_org, m.author, m.editor) == ("某某日报", "李明", "王芳")


def test_cms_meta_first() -> None:
    m = meta_of("""<html><head><meta name="ArticleTitle" content="某某市召开招商大会">
        <meta name="PubDate" content="2020-10-19 15:32"><meta name="ContentSource" content="某某市商务局">
        <title>某某市召开招商大会_某某市人民政府</title></head><body><h1>某某市召开招商大会</h1>
        <div>发布时间：2020-10-20</div><p>正文内容正文内容正文内容正文内容。</p></body></html>""")
    assert (m.title, m.title_source) == ("某某市召开招商大会", "meta:ArticleTitle")
    # the date the page labels 发布时间 comes before the CMS meta (which some CMSs fill with 成文日期)
    assert (m.published, m.published_source) == ("2020-10-20", "info-line:label")
    assert m.source_org == "某某市商务局"
    unlabelled = meta_of("""<html><head><meta name="PubDate" content="2020-10-19 15:32">
        <title>某某市召开招商大会</title></head><body><h1>某某市召开招商大会</h1><div>2020-10-20</div><p>正文内容正文内容正文内容。</p></body></html>""")
    assert (unlabelled.published, unlabelled.published_source) == ("2020-10-19", "meta:PubDate")


def test_og_title_when_no_heading_matches() -> None:
    m = meta_of("""<html><head><meta property="og:title" content="某某区项目集中签约_搜狐">
        <title>搜狐</title></head><body><p>没有标题元素的页面正文内容。</p></body></html>""")
    assert (m.title, m.title_source) == ("某某区项目集中签约", "meta:og:title")


def test_date_never_from_related_list() -> None:
    m = meta_of("""<html><head><title>某某镇开展环境整治_某某镇</title></head><body>
        <h1>某某镇开展环境整治</h1><p>近日，某某镇开展人居环境整治行动，清理垃圾十余吨。</p>
        <div class="rel"><ul><li><a href="/1.html">某某镇召开会议</a><span>2019-03-01</span></li>
        <li><a href="/2.html">某某镇开展演练</a><span>发布时间：2019-02-11</span></li></ul></div>
        <a href="/p.html">上一篇 2019年3月30日</a></body></html>""", url="http://www.example.com/a/1.html")
    assert m.published is None and m.published_source is None


def test_contributor_note_is_source() -> None:
    m = meta_of("""<html><head><title>某某县召开推进会</title></head><body><h1>某某县召开推进会</h1>
        <p>某某县召开推进会，部署全年工作。</p><p>（某某县融媒体中心供稿）</p></body></html>""")
    assert m.source_org == "某某县融媒体中心"


@pytest.mark.parametrize(("line", "iso"), [
    ("成文日期：2023-03-01 发布日期：2023-03-06", "2023-03-06"),
    ("更新时间：2024-10-08", None),
    ("成文日期：2023-03-01", None),
    ("2023-03-06 来源：临河日报", "2023-03-06"),
])
def test_published_in_line_prefers_the_publication_label(line: str, iso: str | None) -> None:
    assert published_in_line(line) == iso


def test_title_file_suffix() -> None:
    assert clean_title("某某区2023年工作方案.docx") == ("某某区2023年工作方案", ".docx")
    assert clean_title("关于印发实施意见的通知.PDF") == ("关于印发实施意见的通知", ".PDF")
    assert clean_title("Python 3.11 发布") == ("Python 3.11 发布", None)


@pytest.mark.parametrize("title, headline, removed", [
    ("第二篇：某县2023年重点项目建设工作总结【精选】", "某县2023年重点项目建设工作总结", ["第二篇：", "【精选】"]),
    ("第3篇:全县招商引资推进会上的讲话(通用5篇)", "全县招商引资推进会上的讲话", ["第3篇:", "(通用5篇)"]),
    ("[精品]【最新版】重大项目谋划工作方案（word版可编辑）", "重大项目谋划工作方案",
     ["[精品]", "【最新版】", "（word版可编辑）"]),
    ("全市項目建設推進會講話稿[精選]", "全市項目建設推進會講話稿", ["[精選]"]),  # traditional script, kept
    ("关于征求重大项目管理办法意见的公告（征求意见稿）", "关于征求重大项目管理办法意见的公告（征求意见稿）", []),
    ("2024年市政府工作报告（全文）", "2024年市政府工作报告（全文）", []),
    ("某县优秀（精品）课程名单公示", "某县优秀（精品）课程名单公示", []),  # a tag inside the headline stays
    ("第一篇：[精选]", "第一篇：[精选]", []),  # nothing would be left
    ("第一章 总则", "第一章 总则", []),
])
def test_document_site_decorations_leave_the_title(title: str, headline: str, removed: list[str]) -> None:
    """Document-sharing sites number a compilation's documents (第一篇：) and tag them ([精选], (通用5篇)):
    decorations at either end of the title go, a bracket that says what the document is stays."""
    assert strip_farm_decorations(title) == (headline, removed)


PAGE_DECORATED = """<html><head><title>第一篇：全市项目建设推进会讲话稿[精选]_某某文库</title></head><body>
    <h1>第一篇：全市项目建设推进会讲话稿[精选]</h1>
    <p>今天召开全市项目建设推进会，主要任务是总结去年项目建设工作，安排部署今年重点任务，动员全市上下狠抓项目落实。</p>
    </body></html>""".encode()


def test_a_decorated_title_is_read_clean_from_the_page() -> None:
    m = meta_of(PAGE_DECORATED.decode("utf-8"), url="http://wenku.example.com/view/8c2f.html")
    assert (m.title, m.title_decorations_removed) == ("全市项目建设推进会讲话稿", ["第一篇：", "[精选]"])
    article = extract_article(PAGE_DECORATED, "http://wenku.example.com/view/8c2f.html", "text/html; charset=utf-8")
    assert article.title == "全市项目建设推进会讲话稿"
    assert article.provenance["title"]["decorations_removed"] == ["第一篇：", "[精选]"]


def test_title_of_a_page_without_title_or_h1_is_the_line_above_the_text() -> None:
    m = meta_of("""<html><body><div>当前位置：首页 &gt; 科普</div><p align="center"><b>临河水库除险加固工程简介</b></p>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固、溢洪道改建和管理设施配套。</p>
        </body></html>""")
    assert (m.title, m.title_source) == ("临河水库除险加固工程简介", "line-before-text")
    fragment = meta_of("""<html><body><p>为了贯彻落实全市水利发展规划，</p>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固、溢洪道改建和管理设施配套。</p>
        </body></html>""")
    assert fragment.title is None  # a sentence fragment is no headline


def test_title_loses_private_use_characters() -> None:
    """GBK user-defined bytes (AA A5) decode to U+E004: no reader sees the character the author meant."""
    assert clean_title("市长\ue004调研重点项目") == ("市长调研重点项目", None)
    m = meta_of("<html><head><title>\ue004\ue004市长调研重点项目</title></head><body>"
                "<p>市长调研重点项目建设进展，要求加快推进、确保年内竣工投产，早日发挥效益。</p></body></html>")
    assert m.title == "市长调研重点项目"


def test_several_h1_boxes_are_no_headline_the_line_above_the_text_is() -> None:
    """No <title>, and the template styles its box headings as <h1> (导航, 公告): none is the headline."""
    m = meta_of("""<html><body><h1>网站导航</h1><ul><li><a href="/">首页</a></li></ul>
        <div><b>临河水库除险加固工程开工</b></div>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固、溢洪道改建和管理设施配套。</p>
        <h1>公告栏目</h1><p>暂无公告</p></body></html>""")
    assert (m.title, m.title_source) == ("临河水库除险加固工程开工", "line-before-text")
    one = meta_of("""<html><body><h1>临河水库除险加固工程开工</h1>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固、溢洪道改建和管理设施配套。</p>
        </body></html>""")
    assert (one.title, one.title_source) == ("临河水库除险加固工程开工", "h1")


@pytest.mark.parametrize(("names", "card"), [
    ("hotnews", True), ("news_hot", True), ("rdHot", True), ("hotList", True), ("xgwzList", True),
    ("related-articles", True), ("newslist", True), ("side-recommend2", True), ("more", True),
    ("LeftPhoto", False), ("article-photo", False), ("photos", False), ("TRS_Editor", False),
    ("content", False), ("", False),
])
def test_card_words_are_whole_name_parts(names: str, card: bool) -> None:
    assert card_like(names) is card


def test_the_date_line_inside_a_photo_box_is_the_articles() -> None:
    """News templates wrap the article in a box named after its picture ("LeftPhoto"): "hot" inside
    "photo" once made the whole article a recommendation card, and its date line was skipped."""
    m = meta_of("""<html><head><title>临河水库除险加固工程开工_临河新闻网</title></head><body>
        <div class="LeftPhoto"><h1>临河水库除险加固工程开工</h1><div class="info">2023-05-06 10:00 来源：临河日报</div>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固。</p></div>
        <div class="hotNews"><h3>热点新闻</h3><p>另一篇报道 2024-01-02</p></div></body></html>""",
                url="http://news.example.com/a/123.html")
    assert m.published == "2023-05-06"


def test_title_of_a_page_without_title_or_h1_is_the_line_above_its_date_line() -> None:
    """Headline, then date and 来源, then a lead-in line that is no headline (it ends with a comma)."""
    m = meta_of("""<html><body><div>当前位置：首页 &gt; 新闻</div><p><b>临河水库除险加固工程开工</b></p>
        <p>2023年5月6日 来源：临河日报</p><p>本报讯 为了贯彻落实全市水利发展规划，</p>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固、溢洪道改建和管理设施配套。</p>
        </body></html>""")
    assert (m.title, m.title_source) == ("临河水库除险加固工程开工", "line-above-info")
    crumbs = meta_of("""<html><body><div>首页 &gt;&gt; 新闻中心</div><p>2023年5月6日 来源：临河日报</p>
        <p>本报讯 为了贯彻落实全市水利发展规划，</p>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固、溢洪道改建和管理设施配套。</p>
        </body></html>""")
    assert crumbs.title is None  # a breadcrumb trail above the date line is no headline


def test_an_info_line_written_as_a_list_is_read() -> None:
    """<ul><li>发布时间：…</li><li>来源：…</li></ul> under the headline is the info line; a related list
    (its items link their articles) never is."""
    m = meta_of("""<html><head><title>临河水库除险加固工程开工_临河市人民政府</title></head><body>
        <h1>临河水库除险加固工程开工</h1><div class="info"><ul><li>发布时间：2023-05-06</li><li>来源：临河日报</li>
        </ul></div><p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固。</p>
        <div class="related"><ul><li><a href="/a.html">其他文章</a> 2024-01-01</li></ul></div></body></html>""",
                url="http://www.example.gov.cn/xw/1.html")
    assert (m.published, m.source_org) == ("2023-05-06", "临河日报")
    linked = meta_of("""<html><head><title>临河水库除险加固工程开工_临河市人民政府</title></head><body>
        <h1>临河水库除险加固工程开工</h1><ul><li><a href="/a.html">其他文章 2024-01-01</a></li></ul>
        <p>临河水库除险加固工程是全市重点水利项目，总投资3.2亿元，主要建设内容包括大坝加固。</p></body></html>""",
                     url="http://www.example.gov.cn/xw/1.html")
    assert linked.published is None


@pytest.mark.parametrize(("line", "iso"), [
    ("手机免费访问 外汇网 2011年12月15日", "2011-12-15"),  # a word further back is no label of this date
    ("更新时间：2023-03-06", None),
    ("截止日期 2023-03-06", None),
    ("活动时间为：2023-06-01", None),
    ("有效期至2025-12-31", None),
])
def test_another_dates_label_sits_right_before_it(line: str, iso: str | None) -> None:
    assert published_in_line(line) == iso
