"""The leave-one-template-out harness (bench/extract_analysis.py loto_table) on a small corpus of our
own fixture pages, without ../shared: per template it scores the rules as shipped, and in the strict
run switches off exactly the rules that fire on that template alone (and on no evidence page)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAMILIES = REPO / "tests" / "fixtures" / "extract" / "families"
sys.path.insert(0, str(REPO / "bench"))

import extract_analysis  # noqa: E402  (bench scripts are not a package)

WECHAT_SPAM = ["长按识别二维码关注我们", "喜欢就点个在看吧"]
GRID_SPAM = ["网站标识码：3201000099", "主办：临河市人民政府办公室"]


def _row(page: Path, template: str, spam: list[str]) -> dict:
    return {"id": f"{template}-{page.stem}", "page_abs": str(page), "url": f"http://www.example.gov.cn/{page.name}",
            "content_type": None, "gold_obj": {"template": template, "spam": spam, "body": []}}


def leak_score(rows: list[dict], outputs: dict[str, dict]) -> dict:
    """A minimal score function with the shared scorer's signature: share of spam lines in the text."""
    total = leaked = 0
    for r in rows:
        text = (outputs.get(r["id"]) or {}).get("text") or ""
        for s in r["gold_obj"]["spam"]:
            total += 1
            leaked += s in text
    return {"spam_leak": leaked / max(1, total), "f1": 1.0}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [_row(FAMILIES / "promotion_wechat.html", "wechat", WECHAT_SPAM),
            _row(FAMILIES / "grid_gbk.html", "portal", GRID_SPAM)]


def test_rules_only_one_template_fires_are_switched_off_in_the_strict_run(rows: list[dict]) -> None:
    table = {t["template"]: t for t in extract_analysis.loto_table(rows, leak_score)}
    wechat, portal = table["wechat"], table["portal"]
    assert wechat["leak"] == portal["leak"] == 0.0  # the rules as shipped remove every spam line
    assert {"promo-follow", "promo-like"} <= set(wechat["switched_off"])
    assert {"footer-portal", "footer-site-id"} <= set(portal["switched_off"])
    assert wechat["strict_leak"] == 1.0  # nothing else catches those lines once their rules are off
    # (the portal footer stays out anyway: trafilatura leaves it outside the article container)
    assert not set(wechat["switched_off"]) & set(portal["switched_off"])


def test_a_rule_seen_on_an_evidence_page_stays_on(rows: list[dict]) -> None:
    evidence = [_row(FAMILIES / "dates_relative.html", "real", []),
                _row(FAMILIES / "promotion_wechat.html", "real", [])]
    table = {t["template"]: t for t in extract_analysis.loto_table(rows, leak_score, evidence)}
    assert table["wechat"]["switched_off"] == [] and table["wechat"]["strict_leak"] == 0.0
    assert "footer-portal" in table["portal"]["switched_off"]


def test_switched_off_rules_come_back_after_the_run(rows: list[dict]) -> None:
    from pipelines.extract.clean_rules import load_rules

    before = load_rules()
    extract_analysis.loto_table(rows, leak_score)
    assert load_rules() == before
