"""Meta refresh: followed when it points to an http(s) page, the page kept otherwise, and the byte
pre-check (which spares decoding every page) never hides a refresh Scrapy would have followed."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.response import get_meta_refresh
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from crawler.middlewares import META_REFRESH_WINDOW, MetaRefreshMiddleware, might_refresh

URL = "http://www.example.gov.cn/xw/202301/t20230114_1001.html"


def middleware() -> MetaRefreshMiddleware:
    settings = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    return MetaRefreshMiddleware.from_crawler(get_crawler(settings_dict=settings))


def html_response(body: bytes, encoding: str = "utf-8") -> HtmlResponse:
    return HtmlResponse(URL, body=body, headers={"Content-Type": f"text/html; charset={encoding}"},
                        request=Request(URL))


def refresh_page(target: str, filler: str = "", encoding: str = "utf-8") -> bytes:
    # the tag after a long comment: inside Scrapy's 4,096 characters, far past 4,096 bytes in GBK
    return (f"<html><head><!-- {filler} --><META HTTP-EQUIV=\"Refresh\" content=\"0; URL={target}\">"
            f"<title>跳转</title></head><body><p>页面跳转中</p></body></html>").encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "gb18030"])
def test_refresh_to_http_page_is_followed(encoding: str) -> None:
    body = refresh_page("/xw/202301/t20230114_1002.html", filler="项目建设" * 900, encoding=encoding)
    assert len(body) > 4096 and might_refresh(body)
    result = middleware().process_response(Request(URL), html_response(body, encoding))
    assert isinstance(result, Request)
    assert result.url == "http://www.example.gov.cn/xw/202301/t20230114_1002.html"


def test_refresh_to_javascript_keeps_the_page() -> None:
    response = html_response(refresh_page("javascript:alert(1)"))
    assert middleware().process_response(Request(URL), response) is response


def test_page_without_refresh_is_returned_undecoded() -> None:
    body = ("<html><head><title>重大项目推进会召开</title></head><body><p>"
            + "全市签约项目总投资120亿元。" * 2000 + "</p></body></html>").encode("gbk")
    response = html_response(body, "gbk")
    assert not might_refresh(body)
    assert middleware().process_response(Request(URL), response) is response
    assert response._cached_ubody is None  # the whole-page decode Scrapy would have done was skipped


def test_precheck_never_hides_a_refresh_scrapy_sees() -> None:
    """Whenever Scrapy's own reading finds a refresh, the pre-check says it might be there: across
    encodings, letter case, and the tag placed at the edge of Scrapy's window."""
    for encoding in ("utf-8", "gbk", "gb18030", "big5", "utf-16"):
        for lead in (0, 1000, 3900, 4050, 5000):
            for word in ("refresh", "REFRESH", "Refresh"):
                tag = f'<meta http-equiv="{word}" content="0;url=/next.html">'
                try:
                    body = ("<html><head>" + "政" * lead + tag + "</head><body>正文</body></html>").encode(encoding)
                except UnicodeEncodeError:
                    continue
                scrapy_sees = get_meta_refresh(html_response(body, encoding))[1] is not None
                if scrapy_sees:
                    assert might_refresh(body), (encoding, lead, word)
    assert META_REFRESH_WINDOW >= 4 * 4096  # 4,096 characters of at most 4 bytes each
