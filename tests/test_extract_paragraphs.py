"""Paragraphs kept: on every page family of the sample web (TRS city portal, Hanweb district site with
its layout tables, GBK county site served with a wrong charset header, content-farm reposts) each
<p> paragraph of an article comes out as its own line of text, as the schema promises."""

from __future__ import annotations

import pytest

from pipelines.chinese import to_simplified
from pipelines.extract.article import extract_article
from pipelines.extract.clean_rules import normalise_line
from sampleweb import SITES_DIR
from sampleweb._content import CITY_STORIES, COUNTY_STORIES, HANWEB_STORIES, REPOSTS

FAMILIES = {
    "city-trs": (CITY_STORIES, "text/html; charset=utf-8"),
    "district-hanweb": (HANWEB_STORIES, "text/html; charset=utf-8"),
    "county-gbk": (COUNTY_STORIES, "text/html; charset=utf-8"),  # GBK bytes, the wrong header it is served with
}


def _lines(site: str, path: str, content_type: str) -> list[str]:
    file = SITES_DIR / site / path.lstrip("/")
    if not file.exists():
        file = file.with_name(file.name + ".html")  # farm URLs have no extension; the server adds it
    body = file.read_bytes()
    article = extract_article(body, f"http://127.0.0.1{path}", content_type)
    assert article is not None, path
    return article.text.splitlines()


@pytest.mark.parametrize("site", sorted(FAMILIES))
def test_government_page_families_keep_their_paragraphs(site: str) -> None:
    stories, content_type = FAMILIES[site]
    checked = 0
    for story in stories:
        if story.site != site or len(story.paras) < 2:
            continue
        lines = _lines(site, story.path, content_type)
        for para in story.paras:
            para = para.removeprefix("!")  # _content.py marks sub-headings with "!"
            assert normalise_line(para) in lines, (story.path, para[:30], lines[:3])
        checked += 1
    assert checked >= 3


def test_repost_farm_pages_keep_their_paragraphs() -> None:
    originals = {s.key: s for s in (*CITY_STORIES, *HANWEB_STORIES, *COUNTY_STORIES)}
    checked = 0
    for repost in REPOSTS:
        if repost.truncated:
            continue
        paras = list(repost.paras or originals[repost.of].paras)
        if repost.drop_last:
            paras = paras[:-1]
        for old, new in repost.replacements:  # the farm's edits of the government text
            paras = [p.replace(old, new) for p in paras]
        paras = [p for p in paras if p]
        if len(paras) < 2:
            continue
        lines = [to_simplified(line) for line in _lines("farm-repost", repost.path, "text/html; charset=utf-8")]
        for para in paras:
            assert to_simplified(normalise_line(para.removeprefix("!"))) in lines, (repost.path, para[:30])
        checked += 1
    assert checked >= 4


def test_layout_table_with_short_headings_between_paragraphs_gbk() -> None:
    """A regulation laid out in one table cell (GBK bytes, no charset header): the short chapter
    headings between the articles come out as lines of their own too."""
    paras = ["第一条 为了规范重大项目管理，提高政府投资效益，根据有关法律法规，结合本市实际，制定本办法。",
             "第二条 本办法适用于本市行政区域内列入年度计划的重大项目的谋划、建设和管理活动。",
             "第三条 市发展改革部门负责重大项目的综合协调，其他有关部门按照各自职责做好相关工作。"]
    cell = "".join(f"<p>{p}</p>" for p in paras[:2]) + "<p>第二章 管 理</p>" + f"<p>{paras[2]}</p>"
    page = (f"<html><head><title>临河市重大项目管理办法</title></head><body><table><tr><td>"
            f"<h1>临河市重大项目管理办法</h1></td></tr><tr><td>{cell}</td></tr></table></body></html>").encode("gbk")
    article = extract_article(page, "http://www.linhe.gov.cn/zfxxgk/1.html", None)
    assert article is not None
    assert article.text.splitlines() == [*paras[:2], "第二章 管 理", paras[2]]


def test_layout_table_paragraphs_that_share_their_start() -> None:
    """Paragraphs joined by trafilatura are split back into the page's own even where many start alike
    and where one paragraph is the start of another: the longer is taken."""
    works = ["污水处理厂扩建工程已完成主体结构施工", "城市快速路二期完成征地拆迁工作", "智能制造产业园三栋厂房封顶",
             "人民医院新院区进入设备安装阶段", "高铁站综合交通枢纽完成方案设计", "老旧小区改造惠及居民两千余户"]
    shared = [f"按照年度计划安排，{work}。" for work in works]
    short = "市发展改革部门负责重大项目的综合协调工作。"
    longer = short + "其他有关部门按照各自职责做好相关工作，确保项目顺利推进。"
    paras = [longer, *shared, short]
    cell = "".join(f"<p>{p}</p>" for p in paras)
    page = (f"<html><head><title>临河市重点项目名单</title></head><body><table><tr><td>"
            f"<h1>临河市重点项目名单</h1></td></tr><tr><td>{cell}</td></tr></table></body></html>").encode("gbk")
    article = extract_article(page, "http://www.linhe.gov.cn/zfxxgk/2.html", None)
    assert article is not None
    assert article.text.splitlines() == paras
