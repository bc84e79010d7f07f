"""decode_html on raw bytes with wrong, missing and right charset declarations."""

from __future__ import annotations

from pathlib import Path

from pipelines.extract.decode import decode_html, decode_page, plausibility

TEXT = "临江县召开重点项目建设推进会，总投资56.8亿元。"


def test_gbk_with_wrong_utf8_header() -> None:
    body = f'<html><head><meta charset="gbk"></head><body>{TEXT}</body></html>'.encode("gbk")
    text, enc = decode_html(body, "text/html; charset=utf-8")
    assert TEXT in text and enc == "gb18030"


def test_gbk_without_any_declaration() -> None:
    body = f"<html><body>{TEXT}</body></html>".encode("gbk")
    text, _ = decode_html(body, None)
    assert TEXT in text


def test_utf8_declared_gb2312() -> None:
    body = f'<html><head><meta charset="gb2312"></head><body>{TEXT}</body></html>'.encode()
    assert decode_html(body, "text/html; charset=gb2312") == (body.decode(), "utf-8")


def test_big5_traditional() -> None:
    body = '<html><head><meta charset="big5"></head><body>市政府召開記者會</body></html>'.encode("big5")
    text, enc = decode_html(body, None)
    assert "市政府召開記者會" in text and enc.startswith("big5")


def test_bom_wins() -> None:
    body = b"\xef\xbb\xbf" + TEXT.encode()
    assert decode_html(body, "text/html; charset=gbk") == (TEXT, "utf-8")


# ---------------------------------------------------------------- decode_page: declared -> detected, warnings

FAMILIES = Path(__file__).parent / "fixtures" / "extract" / "families"


def test_big5_declared_as_gb18030_is_read_as_big5_with_a_warning() -> None:
    body = (FAMILIES / "big5_declared_gb18030.html").read_bytes()
    assert body.decode("gb18030", errors="replace")  # GB18030 "decodes" it, into rare characters
    decoded = decode_page(body, "text/html; charset=gb18030")
    assert decoded.encoding == "big5hkscs" and decoded.how == "detected"
    assert "臺中市政府今日召開重大建設推動會議" in decoded.text
    assert decoded.warnings == ["charset-guessed: big5hkscs (declared gb18030)"]


def test_gbk_stays_gbk_whatever_the_header_says() -> None:
    body = (FAMILIES / "grid_gbk.html").read_bytes()
    for header in ("text/html; charset=utf-8", "text/html; charset=iso-8859-1", None):
        decoded = decode_page(body, header)
        assert decoded.encoding == "gb18030" and decoded.how == "meta" and not decoded.warnings, header
        assert "关于做好2023年重大项目要素保障工作的通知" in decoded.text


def test_declared_reading_must_be_plausible() -> None:
    utf8 = f"<html><body>{TEXT}</body></html>".encode()
    decoded = decode_page(utf8, "text/html; charset=gbk")  # GB18030 decodes these bytes "cleanly"
    assert decoded.encoding == "utf-8" and TEXT in decoded.text
    assert plausibility(TEXT) == 1.0 and plausibility(utf8.decode("gb18030", errors="replace")) < 0.9


def test_undecodable_page_is_marked_not_stored_as_gibberish() -> None:
    body = f"<html><body>{TEXT}{TEXT}</body></html>".encode("gbk")
    broken = body[:40] + b"\xff\xff" + body[40:]
    decoded = decode_page(broken, "text/html; charset=gbk")
    assert decoded.encoding == "gb18030" and decoded.how == "replaced"
    assert decoded.warnings and decoded.warnings[0].startswith("charset-undecodable")
    assert TEXT in decoded.text  # the rest of the page survives
