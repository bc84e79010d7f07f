"""Each structure family of the extractor on a fixture page of its own (tests/fixtures/extract/families,
raw bytes as a server sends them: the 政务公开 page is GBK, the Taiwanese notice is Big5 declared as
GB18030). The page's article must come out exactly, paragraph by paragraph; the family's lines must
be gone and the provenance must say which family removed them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.extract.article import Article, extract_article
from pipelines.extract.clean_rules import load_rules

FIXTURES = Path(__file__).parent / "fixtures" / "extract" / "families"
OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "extract"

NOTICE = [
    "为加快推进全市重大项目建设，进一步优化营商环境，经市政府同意，现就做好2023年重大项目要素保障工作通知如下。",
    "各地各部门要建立项目要素保障清单，对用地、用能、资金等要素需求实行台账管理，做到应保尽保。",
    "市发展改革委要会同有关部门加强调度，每月通报一次进展情况，对推进不力的项目及时督促整改。",
]
NEWS = [
    "3月2日，临河区召开重点项目建设推进会，总结一季度项目建设情况，部署下一阶段重点工作。",
    "会议通报，一季度全区42个重点项目完成投资38.6亿元，占年度计划的26.3%，项目开工率达到85%以上。",
    "会议要求，各镇街、各部门要倒排工期、挂图作战，全力以赴推动项目早开工、早投产、早见效。",
]


def extract(name: str, content_type: str | None = None) -> Article:
    body = (FIXTURES / name).read_bytes()
    article = extract_article(body, f"http://www.linhe.gov.cn/art/2023/3/6/{name}", content_type)
    assert article is not None
    return article


def removed(article: Article) -> dict[str, int]:
    return article.provenance["removed_by_family"]


def test_grid_table_parsed_into_fields_and_kept_out_of_the_text() -> None:
    """政务公开 page (GBK, a <table> grid, portal chrome): 发布日期 is the publication date, 成文日期 the
    signing date."""
    body = (FIXTURES / "grid_gbk.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the fixture really is GBK
    a = extract("grid_gbk.html", "text/html")
    assert a.text.splitlines()[:3] == NOTICE
    assert (a.doc_number, a.index_no) == ("临政办发〔2023〕12号", "11320100MB1234567X/2023-00123")
    assert (a.issuing_org, a.written_date) == ("临河市人民政府办公室", "2023-03-01")
    assert (a.published, a.published_source) == ("2023-03-06", "grid:发布日期")
    for chrome in ("索引号", "主题分类", "有效性", "当前位置", "网站标识码", "ICP备", "公网安备", "运行维护",
                   "网站地图", "打印本页", "长者模式"):
        assert chrome not in a.text
    assert removed(a)["grid"] == 1 and removed(a)["chrome"] >= 5
    assert a.provenance["grid"]["labels"][:3] == ["索引号", "主题分类", "发文机关"]


def test_grid_as_label_value_list() -> None:
    a = extract("grid_list.html")
    assert a.text.splitlines() == NEWS
    assert (a.issuing_org, a.written_date, a.published) == ("临河区发展和改革局", "2023-03-02", "2023-03-03")
    assert a.index_no == "0012345/2023-00456"  # "索 引 号": labels padded with spaces
    assert a.doc_number is None  # "文号：无" is no number
    assert removed(a) == {"grid": 1}


def test_repost_and_editorial_trailers() -> None:
    a = extract("trailer_repost.html")
    assert a.text.splitlines() == NEWS
    assert a.source_org == "临河日报" and a.provenance["source_org"]["from"] == "info-line"
    assert a.provenance["title"]["original_title"] == "一季度完成投资38.6亿元！临河区项目建设跑出加速度"
    assert removed(a) == {"trailer": 6}


def test_subscription_and_promotion_blocks() -> None:
    a = extract("promotion_wechat.html")
    assert a.text.splitlines() == NEWS
    assert removed(a)["promotion"] == 6  # 蓝字关注, 长按识别二维码, 点个在看, 分享到, 阅读原文, 继续滑动看下一个
    assert a.source_org == "临河发布"  # "来源 | 临河发布"
    assert removed(a)["navigation"] >= 1  # 往期推荐 and its list


def test_link_lists_and_lists_of_dated_titles() -> None:
    a = extract("linklist_dated.html")
    assert a.text.splitlines() == NEWS
    assert removed(a)["link-list"] == 5
    assert a.provenance["removed_by_rule"]["dated-title-list"] == 4


def test_document_share_title_suffix_and_paywall() -> None:
    a = extract("docshare_paywall.html")
    assert a.title == "临河区2023年重大项目要素保障工作方案"
    assert a.provenance["title"]["suffix_removed"] == ".docx"
    assert a.text.splitlines() == NOTICE[:2]  # what follows the paywall marker is not shown text
    assert removed(a)["paywall"] == 5  # the document card, the marker and what follows, 2 download baits
    assert a.published == "2023-03-08"  # the upload date of the document card


def test_dates_relative_form_not_update_time_nor_recommendation_card() -> None:
    a = extract("dates_relative.html")
    assert a.published == "2024-09-24"  # "1年前 (2024-09-24)", not 更新时间 2024-10-08, not the card's date
    assert a.text.splitlines() == NEWS


def test_big5_declared_as_gb18030_and_chinese_numeral_date() -> None:
    body = (FIXTURES / "big5_declared_gb18030.html").read_bytes()
    a = extract_article(body, "http://www.example.gov.tw/news/1.html", "text/html; charset=gb18030")
    assert a is not None and a.encoding == "big5hkscs" and a.script == "hant"
    assert a.text.splitlines()[0].startswith("臺中市政府今日召開重大建設推動會議")
    assert a.published == "2023-03-02"  # 二零二三年三月二日
    assert any(w.startswith("charset-guessed: big5hkscs (declared gb18030)") for w in a.warnings)
    assert a.provenance["warnings"] == a.warnings and a.provenance["encoding"]["from"] == "detected"


# every family of rules/spam.yml is exercised by a fixture page of its own
FAMILY_PAGES = {
    "grid": FIXTURES / "grid_gbk.html", "chrome": FIXTURES / "grid_gbk.html",
    "trailer": FIXTURES / "trailer_repost.html", "promotion": FIXTURES / "promotion_wechat.html",
    "navigation": FIXTURES / "promotion_wechat.html", "paywall": FIXTURES / "docshare_paywall.html",
    "info": FIXTURES / "dates_relative.html", "contact": OTHER_FIXTURES / "portal_contact.html",
    "disclaimer": OTHER_FIXTURES / "portal_contact.html", "seo": OTHER_FIXTURES / "portal_contact.html",
}


def test_every_rule_family_has_a_page_where_it_fires() -> None:
    families = {r.family for r in load_rules()}
    assert families == set(FAMILY_PAGES)
    assert all(r.comment and r.family != "other" for r in load_rules())
    for family, page in FAMILY_PAGES.items():
        article = extract_article(page.read_bytes(), f"http://www.example.gov.cn/{page.name}", None)
        assert article is not None and article.provenance["removed_by_family"].get(family), (family, page.name)


def test_grid_rows_sharing_a_layout_table_with_the_text() -> None:
    """The grid's rows and the document's text in one table (a city portal's 政务公开 template): the
    label rows go, the text rows stay."""
    a = extract("grid_rows_layout_table.html")
    assert a.text.splitlines() == [
        "各县（市、区）发展改革部门：为推动重点项目加快建设，经研究，决定于近期开展全市重点项目督查工作，现将有关事项通知如下。",
        "督查采取实地查看、听取汇报、查阅资料相结合的方式进行，重点督查项目开工、投资完成和要素保障等情况。"]
    assert (a.doc_number, a.index_no) == ("临发改〔2023〕21号", "113201000014/2023-00088")
    assert (a.issuing_org, a.written_date, a.published) == ("临河市发展和改革委员会", "2023-04-10", "2023-04-12")
    assert removed(a) == {"grid": 4, "title": 1}
