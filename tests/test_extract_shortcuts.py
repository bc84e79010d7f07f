"""The extractor's shortcuts give the answers of the plain computations they replace (docs/architecture.md,
third session of 2026-12-06): cached line rules keep their zones, the CJK count is the character count,
a grid container read up to a limit is refused exactly when its whole text exceeds the limit, and a
page is decoded the same whatever is cached."""

from __future__ import annotations

import re

import lxml.html
import pytest

from pipelines.chinese import cjk_len, has_cjk
from pipelines.extract import clean_rules, grid
from pipelines.extract.clean_rules import match_rule, normalise_line

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@pytest.mark.parametrize("text", [
    "", None, "abc 123", "临河区重点项目", "㐀䶵 (Extension A) 豈﫿 (compatibility)", "丶\u9fff\ua000",
    "，。；“”（）【】", "　全角空格\xa0不换行", "2023年3月2日，临河区召开推进会。" * 40, "𠀀𠀁 (plane 2: not counted)",
])
def test_cjk_len_is_the_number_of_cjk_characters(text):
    assert cjk_len(text) == len(_CJK.findall(text or ""))


def test_a_cached_rule_answer_keeps_edge_rules_at_the_edge():
    """match_rule remembers lines; a rule of the "edge" zone must still apply only at the edge, in
    whichever order the two questions come."""
    edge_rules = [r for r in clean_rules.load_rules() if r.zone == "edge"]
    assert edge_rules
    line = "审核：王某某"
    rule = match_rule(line, edge=True)
    assert rule is not None and rule.zone == "edge"
    for _ in range(2):
        assert match_rule(line, edge=False) is None
        assert match_rule(line, edge=True) is rule
    # a changed line is a new question, not an old answer
    assert match_rule(line + "，本报记者在现场看到项目正在加紧施工。" * 3, edge=True) is None


def test_normalise_line_answers_the_same_every_time():
    for text in ("  临河区\u3000重点\xa0项目  ", "a\u200bb\ufeffc", "", None):
        first = normalise_line(text)
        assert normalise_line(text) == first == re.sub(r"[\s\u3000\xa0\u200b\ufeff]+", " ", text or "").strip()


def _layout_table(cells: list[str]) -> lxml.html.HtmlElement:
    rows = "".join(f"<tr><td>{c}</td></tr>" for c in cells)
    return lxml.html.fromstring(f"<html><body><table>{rows}</table></body></html>")


@pytest.mark.parametrize("limit", [0, 5, 11, 12, 13, 40, 10_000])
def test_grid_pieces_read_to_a_limit_are_refused_exactly_when_the_text_exceeds_it(limit):
    root = _layout_table(["索引号：", "  1132 0100 ", "<span>成文日期</span>：2023-04-10"])
    table = root.find(".//table")
    whole = grid._pieces(table)
    assert whole == ["索引号：", "1132 0100", "成文日期", "：2023-04-10"]
    limited = grid._pieces(table, limit)
    assert limited == (None if sum(map(len, whole)) > limit else whole)


def test_a_grid_beside_a_long_article_row_of_its_layout_table_is_still_found():
    """The row holding the article (longer than any grid) is skipped before its whole text is read;
    the label rows of the same table are the grid."""
    article = "临河区召开重点项目建设推进会，总结一季度项目建设情况，部署下一阶段重点工作。" * 12
    root = _layout_table(["索引号：113201000014/2023-00088", "发文机关：临河市发展和改革委员会",
                          "发文字号：临发改〔2023〕21号", "成文日期：2023-04-10", article])
    found = grid.find_grid(root)
    assert found is not None and len(found.elements) == 4
    assert found.fields["doc_number"] == "临发改〔2023〕21号"
    assert found.fields["written_date"] == "2023-04-10"


@pytest.mark.parametrize("text,at_least,expected", [
    ("", 1, False), ("项", 1, True), ("项目abc建设", 4, True), ("项目abc建", 4, False),
    ("abc" * 1000 + "项目建设推进会" * 3, 21, True), ("abc" * 1000 + "项目建设推进会" * 3, 22, False),
])
def test_has_cjk_counts_up_to_the_threshold(text, at_least, expected):
    assert has_cjk(text, at_least) is expected
    assert has_cjk(text, at_least) is (len(_CJK.findall(text)) >= at_least)


def test_answers_remembered_under_one_rule_set_are_not_given_under_another():
    line = "审核：王某某"
    rule = match_rule(line, edge=True)
    assert rule is not None
    with clean_rules.rules_switched_off({rule.id}):
        other = match_rule(line, edge=True)
        assert other is None or other.id != rule.id
    assert match_rule(line, edge=True) is rule


TEXTS = ["", "abc", "临河区召开重点项目建设推进会。", "臨河區召開重點項目建設推進會。", "項目 project 项目 2023",
         "\ufa6e\ufa6f\ufada 未分配的兼容区码位", "Привет мир", "乾隆 乾坤 干部 幹部" * 50, "12345 ，。！"]


@pytest.mark.parametrize("text", TEXTS)
def test_language_and_script_are_decided_as_character_by_character(text):
    """detect_language / detect_script count in C (map over str methods); the answer is the one of
    counting character by character."""
    from pipelines import chinese

    letters = [c for c in text if c.isalpha()]
    if not letters:
        assert chinese.detect_language(text) is None
    elif sum(1 for c in letters if _CJK.match(c)) / len(letters) > 0.3:
        assert chinese.detect_language(text) == "zh"
    else:
        assert chinese.detect_language(text) != "zh"
    chars = _CJK.findall(text)
    if not chars:
        assert chinese.detect_script(text) is None
    else:
        sample = "".join(chars[:4000])
        simplified, traditional = chinese._t2s().convert(sample), chinese._s2t().convert(sample)
        n_trad = sum(1 for a, b in zip(sample, simplified, strict=False) if a != b)
        n_simp = sum(1 for a, b in zip(sample, traditional, strict=False) if a != b)
        assert chinese.detect_script(text) == ("hant" if n_trad > n_simp else "hans")


def test_an_article_as_a_dict_holds_every_field_as_extracted():
    from pipelines.extract.article import extract_article

    body = ("<html><head><title>临河区召开重点项目建设推进会</title></head><body><h1>临河区召开重点项目建设推进会</h1>"
            "<p>3月2日，临河区召开重点项目建设推进会，总结一季度项目建设情况，部署下一阶段重点工作。</p>"
            "<p>会议通报，一季度全区42个重点项目完成投资38.6亿元，占年度计划的26.3%。</p></body></html>").encode()
    article = extract_article(body, "http://www.linhe.gov.cn/art/2023/3/6/art_1.html")
    import dataclasses

    assert article.as_dict() == dataclasses.asdict(article)


def test_long_lines_are_answered_but_never_kept():
    """The line caches hold short lines only: a hostile page of megabyte-long lines cannot fill them,
    and its lines get the answers of the plain computation."""
    clean_rules.forget_lines()
    long_lines = [f"第{i}段 " + "项目建设\u3000推进  " * 20_000 for i in range(20)]
    for line in long_lines:
        assert normalise_line(line) == re.sub(r"[\s\u3000\xa0\u200b\ufeff]+", " ", line).strip()
        assert match_rule(line) is None and match_rule(line, edge=False) is None
    assert clean_rules._normalise_cached.cache_info().currsize == 0
    assert clean_rules._first_rule_cached.cache_info().currsize == 0
    assert match_rule("审核：王某某") is not None
    assert clean_rules._first_rule_cached.cache_info().currsize == 1
