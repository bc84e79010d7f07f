"""decode_html on raw bytes with wrong, missing and right charset declarations."""

from __future__ import annotations

from pipelines.extract.decode import decode_html

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
