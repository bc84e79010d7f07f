"""Paragraphs kept: on every page family of the sample web (TRS city portal, Hanweb district site with
its layout tables, GBK county site served with a wrong charset header, content-farm reposts) each
<p> paragraph of an article comes out as its own line of text, as the schema promises."""

from __future__ import annotations

import pytest

from govbrief.sampleweb import SITES_DIR
from govbrief.sampleweb._content import CITY_STORIES, COUNTY_STORIES, HANWEB_STORIES, REPOSTS
from pipelines.chinese import to_simplified
from pipelines.extract.article import extract_article
from pipelines.extract.clean_rules import normalise_line

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
