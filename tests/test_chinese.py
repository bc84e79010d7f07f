"""Script and language detection, Traditional -> Simplified."""

from __future__ import annotations

from pipelines.chinese import detect_language, detect_script, to_simplified


def test_script() -> None:
    assert detect_script("市政府今日召開記者會，宣布推動十項重大建設計畫") == "hant"
    assert detect_script("市政府今日召开记者会，宣布推动十项重大建设计划") == "hans"
    assert detect_script("no Chinese here") is None


def test_to_simplified_leaves_simplified_alone() -> None:
    assert to_simplified("召開記者會") == "召开记者会"
    assert to_simplified("召开记者会") == "召开记者会"
    assert to_simplified("") == ""


def test_language() -> None:
    assert detect_language("市政府今日召開記者會，宣布推動十項重大建設計畫") == "zh"
    assert detect_language("The city government held a press conference today about new projects.") == "en"
    assert detect_language("12345 ...") is None
