"""extract_article on small raw-byte fixtures (tests/fixtures/extract): one page per kind of site
(gov CMS in GBK, document farm with paywall bait, industry portal with contact block, traditional
Chinese repost in Big5, short notice, date only in the URL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.extract.article import EXTRACTOR_VERSION, Article, extract_article, extract_manifest

FIX = Path(__file__).parent / "fixtures" / "extract"


def extract(name: str, url: str, content_type: str | None = None) -> Article:
    article = extract_article((FIX / name).read_bytes(), url, content_type)
    assert article is not None
    return article


@pytest.fixture(scope="module")
def gov() -> Article:
    # GBK bytes served with a wrong "utf-8" header, as gov sites do
    return extract("gov_cms_gbk.html", "http://www.linjiang.gov.cn/xw/202103/t20210315_99.html",
                   "text/html; charset=utf-8")


@pytest.fixture(scope="module")
def farm() -> Article:
    return extract("farm_paywall.html", "https://example.org/2.html")


@pytest.fixture(scope="module")
def portal() -> Article:
    return extract("portal_contact.html", "https://example.com/dg/9.html", "text/html")


@pytest.fixture(scope="module")
def hant() -> Article:
    return extract("repost_hant_big5.html", "https://www.example.com/a/1_2")


def test_gbk_fixture_is_really_gbk() -> None:
    raw = (FIX / "gov_cms_gbk.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "临江县" in raw.decode("gbk")


def test_gov_cms_text_is_the_article_only(gov: Article) -> None:
    assert gov.text.splitlines() == [
        "3月12日，临江县召开重点项目建设推进会，县委书记王明出席会议并讲话，县长李华主持会议。",
        "会上，12个重点项目集中签约，总投资56.8亿元，涵盖新材料、装备制造等领域。",
        "王明强调，要强化要素保障，确保项目早开工、早投产、早见效。",
    ]
    assert gov.encoding == "gb18030"


def test_gov_cms_metadata(gov: Article) -> None:
    assert gov.title == "临江县召开重点项目建设推进会"
    assert gov.title_source == "meta:ArticleTitle"
    assert (gov.published, gov.published_source) == ("2021-03-15", "info-line:label")  # 发布时间 first
    assert gov.source_org == "临江县融媒体中心"
    assert gov.script == "hans" and gov.language == "zh"


def test_paywall_contact_disclaimer_prevnext_related_removed(farm: Article) -> None:
    assert farm.text.splitlines() == [
        "4月3日，南湖区召开一季度重大项目推进会，通报全区项目建设进展情况。",
        "一季度，全区新签约亿元以上项目18个，总投资126亿元，同比增长21%。",
        "区长要求，各部门要坚持项目为王，以时不我待的紧迫感推进项目建设。",
    ]
    for spam in ("试读结束", "微信", "版权", "转载", "上一篇", "相关推荐", "东城区", "客服", "返回顶部"):
        assert spam not in farm.text


def test_title_without_site_suffix_and_date_from_info_line(farm: Article) -> None:
    assert farm.title == "南湖区一季度项目建设实现开门红"
    # the prev/next links carry other dates; the date under the headline is the article's
    assert (farm.published, farm.published_source) == ("2023-04-06", "info-line")
    assert farm.source_org is None and farm.author is None


def test_contact_block_keyword_stuffing_teasers_removed(portal: Article) -> None:
    assert portal.text.splitlines() == [
        "9月13日，东港区2022年第三批重大项目集中开工活动举行，共有15个项目集中开工。",
        "这批项目总投资30亿元，涵盖高端装备、新能源、现代物流等领域，将为全区经济增长注入新动能。",
    ]
    assert portal.published == "2022-09-14"


def test_traditional_repost(hant: Article) -> None:
    assert hant.encoding.startswith("big5")
    assert hant.title == "高雄市推動重大建設計畫"
    assert hant.text.splitlines() == [
        "市政府今日召開記者會，宣布推動十項重大建設計畫，總經費達新臺幣一千二百億元。",
        "市長表示，這些計畫將帶動地方產業發展，並創造大量就業機會。",
    ]
    assert (hant.published, hant.published_source) == ("2022-02-21", "info-line")
    assert hant.author == "陳志明" and hant.editor == "林美華"
    assert hant.script == "hant" and hant.language == "zh"
    # simplified forms for search; the stored original is untouched
    assert hant.title_simplified == "高雄市推动重大建设计划"
    assert "召开记者会" in hant.text_simplified and "召開記者會" in hant.text


def test_short_notice_kept_cleanly() -> None:
    notice = extract("short_notice.html", "http://qs.example.gov.cn/tz/1.html")
    assert notice.text == "自2024年7月1日起，镇政府办公时间调整为上午8:30至12:00，下午14:30至18:00。特此通知。"
    assert notice.title == "关于调整办公时间的通知"
    # a date inside the notice is not its publication date
    assert notice.published is None


def test_date_from_url_not_from_article_or_related_list() -> None:
    page = extract("url_date.html", "http://www.baihe.example.gov.cn/xw/202203/t20220305_123.html")
    assert (page.published, page.published_source) == ("2022-03-05", "url")
    assert page.title == "白河市部署春季植树造林工作"
    assert "白河市开展森林防火宣传" not in page.text


def test_no_article_returns_none() -> None:
    assert extract_article(b"", "http://x.example/") is None
    assert extract_article(b"<html><body><div><a href='/'>\xe9\xa6\x96\xe9\xa1\xb5</a></div></body></html>",
                           "http://x.example/") is None


def test_as_dict_fields() -> None:
    page = extract("url_date.html", "http://www.baihe.example.gov.cn/xw/202203/t20220305_123.html")
    d = page.as_dict()
    for key in ("url", "title", "text", "published", "published_source", "source_org", "author", "editor",
                "script", "language", "title_simplified", "text_simplified", "encoding", "extractor_version",
                "warnings", "title_source", "text_source"):
        assert key in d
    assert d["extractor_version"] == EXTRACTOR_VERSION
    json.dumps(d)


_PLACES = ["东湖", "西山", "南岭", "北川", "中原"]
_TOPICS = ["新能源电池", "智能装备", "生物医药", "现代物流", "电子信息"]


def _host_page(i: int) -> bytes:
    """Pages of one site: the same chrome (a column name, a slogan) around different articles."""
    place, topic = _PLACES[i - 1], _TOPICS[i - 1]
    return f"""<html><head><meta charset="utf-8"><title>{place}区{topic}项目开工</title></head><body>
<div class="side"><p>本站专栏：乡村振兴进行时</p></div>
<h1>{place}区{topic}项目开工</h1>
<div class="c"><p>{place}区举行{topic}项目开工仪式，该项目是今年全区投资规模最大的产业项目，建成后将形成产业链。</p>
<p>{place}区负责人表示，将全力做好{topic}项目要素保障，推动项目早日建成投产。</p></div>
<div class="bottom"><p>携手共建美好家园</p></div>
</body></html>""".encode()


def test_extract_manifest_is_page_by_page_whatever_the_order_and_reports_errors(tmp_path: Path) -> None:
    """The same capture gives the same article whatever the order of the pages (no per-site learning)."""
    rows = []
    for i in range(1, 6):
        page = tmp_path / f"p{i}.html"
        page.write_bytes(_host_page(i))
        rows.append({"id": f"p{i}", "page": str(page), "url": f"http://site.example/{i}.html", "content_type": None})
    rows.append({"id": "missing", "page": str(tmp_path / "nope.html"), "url": "http://site.example/x.html",
                 "content_type": None})
    out = {o["id"]: o for o in extract_manifest(rows)}
    backwards = {o["id"]: o for o in extract_manifest(rows[::-1])}
    assert "error" in out["missing"] and out["missing"]["url"] == "http://site.example/x.html"
    for i in range(1, 6):
        alone = extract_article(_host_page(i), f"http://site.example/{i}.html").as_dict()
        assert out[f"p{i}"] == backwards[f"p{i}"] == {"id": f"p{i}", **alone}
        text = out[f"p{i}"]["text"]
        place, topic = _PLACES[i - 1], _TOPICS[i - 1]
        assert f"{place}区举行{topic}项目开工仪式" in text
        assert out[f"p{i}"]["title"] == f"{place}区{topic}项目开工"


def test_traditional_labels_are_matched_through_their_simplified_form() -> None:
    """A Traditional-script 政务公开 page in Big5 whose labels no rule spells out in Traditional (發布機關,
    成文時間, 公開時限, 上線時間, 稿件來源, 責任編輯): the rules are written once, in simplified characters,
    and match through simplified_line; the values keep the page's own script."""
    raw = (FIX / "hant_grid_big5.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    page = extract_article(raw, "http://www.qinghe.gov.cn/zwgk/202305/t20230506_2.html", None)
    assert page is not None and page.script == "hant"
    assert (page.published, page.published_source) == ("2023-05-06", "info-line:label")
    assert (page.index_no, page.issuing_org, page.doc_number, page.written_date) == (
        "QH-2023-00123", "清河縣人民政府辦公室", "清政辦發〔2023〕12號", "2023-04-28")
    assert (page.source_org, page.editor) == ("清河縣發展和改革局", "陳小明")
    assert page.text.startswith("各鄉鎮人民政府") and page.text.endswith("早見效。")
    for chrome in ("索", "瀏覽", "責任編輯", "上一篇", "公開時限"):
        assert chrome not in page.text


def test_rules_and_labels_are_written_in_simplified_characters_only() -> None:
    """What matches lines (labels of grids and info lines, pager words, spam rules) is written once, in
    simplified characters: a Traditional spelling beside it would be a second copy to keep in step."""
    import re

    from pipelines.chinese import simplified_line
    from pipelines.extract import clean_rules, grid, metadata_cn

    patterns = [p.pattern for module in (metadata_cn, clean_rules, grid) for p in vars(module).values()
                if isinstance(p, re.Pattern)]
    patterns += list(grid._LABELS) + [rule.pattern.pattern for rule in clean_rules.load_rules()]
    assert len(patterns) > 30
    assert [p for p in patterns if simplified_line(p) != p] == []


def test_simplified_line_keeps_offsets() -> None:
    from pipelines.chinese import simplified_line

    line = "發佈時間：2023年05月06日　來源：清河縣發展和改革局"
    simple = simplified_line(line)
    assert simple == "发布时间：2023年05月06日　来源：清河县发展和改革局" and len(simple) == len(line)
    assert simplified_line("发布时间：2023-05-06") == "发布时间：2023-05-06"  # nothing to convert


def test_a_date_line_written_loose_between_blocks_is_found() -> None:
    """Old hand-made pages: the byline and date are text and <font> between the headline and the
    paragraphs of one cell, in no block of their own; the text extracted is the page's either way."""
    page = ("<html><head><title>给计算机系学生的建议 - 某某软件随想</title></head><body><table><tr><td>"
            "<h2>给计算机系学生的建议</h2><font>作者：某某<br>译：某某某<br>2005年1月2日<br></font>"
            "<p>毕业以后，你会发现学校里学的东西有一半用得上，另一半要靠自己在工作中慢慢补上，这是很多人都有的体会。</p>"
            "<p>所以在学校的时候，多写代码，多读好书，多和同学讨论问题，都是非常值得的事情，不要等到毕业以后。</p>"
            "</td></tr></table></body></html>").encode()
    article = extract_article(page, "http://www.example.com/articles/CollegeAdvice.html", "text/html; charset=utf-8")
    assert article is not None and article.published == "2005-01-02"
    assert "date-from-loose-text" in article.provenance["warnings"]
    assert article.text.startswith("毕业以后") and "2005年1月2日" not in article.text


def _page_with_blocks(blocks: int) -> bytes:
    prose = ["3月12日，某县召开重点项目建设推进会，县委书记出席会议并讲话，县长主持会议。",
             "会上，12个重点项目集中签约，总投资56.8亿元，涵盖新材料、装备制造等领域。",
             "会议强调，要强化要素保障，确保项目早开工、早投产、早见效。"]
    return ("<html><head><title>某县召开重点项目建设推进会_某县人民政府</title></head><body>"
            "<h1>某县召开重点项目建设推进会</h1><div class='content'>"
            + "".join(f"<p>{line}</p>" for line in prose)
            + "</div><div class='footer'>" + "<span>·</span>" * blocks + "</div></body></html>").encode("utf-8")


@pytest.mark.parametrize("blocks", [100, 12_000])
def test_a_page_of_very_many_elements_is_read_without_trafilaturas_fallbacks(blocks: int) -> None:
    """Above FULL_EXTRACTION_ELEMENTS the jusText comparison (quadratic in the number of blocks) is
    skipped, and the provenance says so; the article is the same either way."""
    from pipelines.extract.article import FULL_EXTRACTION_ELEMENTS

    article = extract_article(_page_with_blocks(blocks), "http://www.example.gov.cn/a/1.html", "text/html")
    assert article is not None
    assert article.title == "某县召开重点项目建设推进会"
    assert article.text.splitlines()[0].startswith("3月12日，某县召开重点项目建设推进会")
    assert len(article.text.splitlines()) == 3
    large = [w for w in article.warnings if w.startswith("large-page:")]
    assert bool(large) is (blocks > FULL_EXTRACTION_ELEMENTS)
