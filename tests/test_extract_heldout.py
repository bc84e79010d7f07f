"""Spam worded differently from the dev corpora (tests/fixtures/extract/heldout_*.html, raw bytes):
other WeChat/LINE/app/QR bait, disclaimers, related lists under headings no rule names, prev/next
variants, tag lines, credits lines, decorated paywall markers, pagers and comment bars. They must go
through the general mechanisms (legal-vocabulary density, structure of a heading + link list or
dated-title list, link density in characters, edge-zone detectors), not through their strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.extract.article import extract_article

FIX = Path(__file__).parent / "fixtures" / "extract"
URL = "https://www.qinghe.example.cn/xw/2023/0509/2.html"
HANS = ["5月8日，清河县召开城乡环境综合整治推进会，总结前期工作，部署下一阶段任务。",
        "会议通报了各乡镇环境整治考核结果，排名靠前的3个乡镇作了经验交流发言。",
        "县长刘建国强调，要建立长效管护机制，确保整治成果不反弹，群众满意度持续提升。"]
HANT = ["5月8日，清河縣召開城鄉環境綜合整治推進會，總結前期工作，部署下一階段任務。",
        "會議通報了各鄉鎮環境整治考核結果，排名靠前的3個鄉鎮作了經驗交流發言。",
        "縣長劉建國強調，要建立長效管護機制，確保整治成果不反彈，群眾滿意度持續提升。"]


def _paragraphs(text: str) -> str:
    # table-layout pages come out with the cell's paragraphs on one line: compare the characters
    return "".join(text.split())


@pytest.mark.parametrize(("name", "article", "spam"), [
    ("heldout_bait_utf8.html", HANS,
     ["微信", "二维码", "APP", "客户端", "上一篇", "下一篇", "关键词", "环境整治 乡村振兴"]),
    ("heldout_related_structure.html", HANS,
     ["看过本文", "北镇街道", "本栏目更新", "县政协调研", "查看更多"]),
    ("heldout_credits_gbk.html", HANS,
     ["编辑", "审核", "版权", "删除", "法律责任", "访客", "ICP", "浏览次数"]),
    ("heldout_hant_big5.html", HANT,
     ["LINE", "粉絲專頁", "延伸閱讀", "北鎮街道", "熱門推薦", "颱風"]),
    ("heldout_farm_markers.html", HANS,
     ["mxfanwen", "解锁", "VIP", "登录", "往期精选", "述职报告", "党支部工作总结"]),
    ("heldout_loose_text_gbk.html", HANS,
     ["下一页", "共5页", "网友评论", "发表评论", "抢沙发", "政务公开"]),
])
def test_heldout_spam_removed_article_kept(name: str, article: list[str], spam: list[str]) -> None:
    result = extract_article((FIX / name).read_bytes(), URL, None)
    assert result is not None
    assert _paragraphs(result.text) == _paragraphs("".join(article)), result.text
    for s in spam:
        assert s not in result.text, (s, result.text)
    assert result.title in ("清河县召开城乡环境综合整治推进会", "清河縣召開城鄉環境綜合整治推進會")


def test_loose_text_lead_paragraph_kept() -> None:
    """<div>text<br><br>text…</div>: the run before the first <br> is the lead paragraph."""
    result = extract_article((FIX / "heldout_loose_text_gbk.html").read_bytes(), URL, None)
    assert result is not None and result.text.startswith(HANS[0])
