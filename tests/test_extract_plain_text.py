"""Plain text (no markup) through extract_article: the headline and the info line are read from the
text's layout (pipelines.extract.plain_text), as they are from a page's. Fixtures of our own: a text
dump in GBK with CRLF line ends (hotline and breadcrumb above the headline, an info line under it, a
subtitle, prose with an event date), and a text that starts with its prose."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines.extract.article import extract_article
from pipelines.extract.decode import decode_page
from pipelines.extract.plain_text import PLAIN_TEXT_HEADLINE, as_html, headline_index, is_plain_text

FIX = Path(__file__).parent / "fixtures" / "extract"


def test_the_dump_fixture_is_gbk_with_crlf() -> None:
    raw = (FIX / "plain_text_dump_gbk.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\r\n" in raw and b"<" not in raw


@pytest.mark.parametrize("content_type", [None, "text/plain; charset=utf-8"])  # the header's charset is wrong
def test_text_dump_gives_headline_date_and_source(content_type: str | None) -> None:
    article = extract_article((FIX / "plain_text_dump_gbk.txt").read_bytes(), "file:///tmp/dump.txt", content_type)
    assert article is not None
    assert article.title == "青山县重点项目集中开工 总投资32.5亿元"
    assert article.title_source == PLAIN_TEXT_HEADLINE
    assert article.provenance["title"]["from"] == PLAIN_TEXT_HEADLINE
    # the info line's date, not the event date of the prose nor the later meeting's
    assert article.published == "2023-04-18"
    assert article.source_org == "青山县融媒体中心"
    assert "plain-text" in article.warnings
    lines = article.text.splitlines()
    assert lines[0] == "——全县第二季度重大项目建设推进会侧记"
    assert lines[1].startswith("4月17日上午，青山县举行第二季度重点项目集中开工仪式")
    assert lines[-1].startswith("县长刘明主持仪式")
    for chrome in ("热线", "当前位置", "发布时间", "浏览次数", article.title):
        assert chrome not in article.text


def test_text_starting_with_its_prose_has_no_headline() -> None:
    article = extract_article((FIX / "plain_text_prose_first.txt").read_bytes(), "file:///tmp/p.txt", "text/plain")
    assert article is not None
    assert article.title is None
    assert article.published is None  # the first sentence's date is the meeting's, not the publication's
    assert article.text.splitlines()[0].startswith("2023年6月2日，白石镇召开招商引资工作推进会")
    assert len(article.text.splitlines()) == 3


@pytest.mark.parametrize(("text", "plain"), [
    ("<!DOCTYPE html><html><body><p>正文</p></body></html>", False),
    ("<p>一段没有外壳的HTML片段</p>", False),
    ("第一行<br>第二行", False),
    ("<!-- 注释 -->正文", False),
    ("关于印发<<实施方案>>的通知\n当 a < b 且 b > c 时", True),
    ("只有文字的一段。\n第二段。", True),
    ("一段文字，末尾有旧编辑器留下的文件结束符。" * 50 + "\x1a", True),
])
def test_plain_text_means_no_markup_at_all(text: str, plain: bool) -> None:
    assert is_plain_text(text) is plain


def test_binary_bytes_are_not_plain_text() -> None:
    """Random bytes behind a text/html header decode to a text without tags: not a text file, and no
    article comes of them (the crawl records "no article text")."""
    body = random.Random(7).randbytes(20_000)
    assert not is_plain_text(decode_page(body, "text/html; charset=utf-8").text)
    article = extract_article(body, "http://127.0.0.1/a/binary.html", "text/html; charset=utf-8")
    assert article is None


def test_headline_is_the_first_headline_like_line_before_the_prose() -> None:
    lines = ["客服热线：400-800-1234", "当前位置：首页 > 新闻", "某县召开项目推进会", "发布时间：2023-01-02",
             "1月2日，某县召开重点项目推进会，会议听取了各乡镇一季度项目建设情况汇报，并部署下阶段工作。"]
    assert headline_index(lines) == 2
    # prose first: no headline, even if a short line follows
    assert headline_index(lines[4:] + ["某县召开项目推进会"]) is None
    # a line that is a date, or ends like a sentence, is no headline
    assert headline_index(["2023年1月2日", "会议指出，要抓好项目。", "某县召开项目推进会"]) == 2


def test_as_html_escapes_the_text_and_marks_one_headline() -> None:
    page = as_html("某县召开项目推进会\n\n  会上，A&B公司签约<10亿元>项目。  \n")
    assert page.count("<h1>") == 1 and "<h1>某县召开项目推进会</h1>" in page
    assert "<p>会上，A&amp;B公司签约&lt;10亿元&gt;项目。</p>" in page


def test_govbrief_extract_reads_a_text_from_standard_input() -> None:
    """`… | govbrief extract -`: a text pasted or piped in (here the GBK fixture's bytes, as they are)."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "govbrief", "extract", "-"], capture_output=True, timeout=60,
                            input=(FIX / "plain_text_dump_gbk.txt").read_bytes(), cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["url"] == "file:///dev/stdin"
    assert (article["title"], article["published"]) == ("青山县重点项目集中开工 总投资32.5亿元", "2023-04-18")


def test_the_reader_sees_where_the_title_came_from_in_words() -> None:
    from pipelines.publish.datasette_plugin.i18n import from_label

    assert from_label(PLAIN_TEXT_HEADLINE, "zh") == "纯文本的标题行"
    assert from_label(PLAIN_TEXT_HEADLINE, "en") == "headline line of a plain text"
