"""Sites the crawler has never seen: one HTTP server on 127.0.0.1, one column per pager shape.

Used by tests/test_completeness.py. Every column lists its articles over several pages and reaches them
only the way its kind of site does (a 下一页 text link, numbered files counting down, ?cur=N with a
symbol pager, <link rel="next">, TRS createPageHTML, a hand-written JS pager, Hanweb jpage records
behind a POST data proxy, a list inside an <iframe>). No source names an article_url_pattern: discovery
is what is tested. Articles carry no CMS-specific URL shape unless the column's kind of site has one.

Also served: a multi-page article (t…_1.html pages), an article with attachments (PDF, DOCX, XLSX, ZIP),
a link that redirects to the home page (soft 404), a spreadsheet linked like an article, a page whose
meta refresh points to javascript:, javascript:/mailto: links.
"""

from __future__ import annotations

import gzip
import io
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

PER_PAGE = 4


def article_page(key: str, title: str, *, day: int = 1, extra: str = "", body: str | None = None) -> bytes:
    """A plain government article the extractor accepts: title, date line, four paragraphs."""
    text = body if body is not None else "".join(
        f"<p>{title}：为推进{key}项目建设，相关部门倒排工期、挂图作战，确保项目早开工、早投产、早见效，"
        f"截至目前完成投资{n}亿元，占年度计划的百分之{40 + n}。</p>" for n in range(1, 5))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="PubDate" content="2024-05-{day % 28 + 1:02d} 09:00"></head><body>'
            f'<div class="nav"><a href="/">首页</a> <a href="mailto:ban@example.gov.cn">信箱</a> '
            f'<a href="javascript:void(0)" onclick="print()">打印</a></div>'
            f'<div class="article"><h1>{title}</h1><div class="info">发布时间：2024-05-{day % 28 + 1:02d} '
            f'来源：县发展改革局</div><div class="content">{text}</div>{extra}</div></body></html>').encode()


def list_page(items: list[tuple[str, str]], pager: str, head: str = "") -> bytes:
    rows = "".join(f'<li><a href="{href}" target="_blank">{title}</a><span>2024-05-{i % 27 + 1:02d}</span></li>'
                   for i, (href, title) in enumerate(items))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>工作动态</title>{head}</head><body>'
            f'<div class="nav"><a href="/">首页</a><a href="/about.html">机构概况</a></div>'
            f'<ul class="news-list">{rows}</ul>{pager}</body></html>').encode()


def _same_request(path_and_query: str) -> tuple[str, tuple]:
    parts = urlsplit(path_and_query)
    return parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


@dataclass
class Column:
    """A paginated column: `pages` list pages of PER_PAGE articles each."""

    key: str
    pages: int
    kind: str  # what the pager looks like (see _pager)

    def article_path(self, n: int) -> str:
        return {
            "text": f"/plain/news/content_{1000 + n}.html",
            "vsb": f"/info/1012/{5000 + n}.htm",
            "cur": f"/jsp/detail.jsp?newsid={700 + n}",
            "relnext": f"/rel/2024/05/{300 + n}.html",
            "trad": f"/hk/news/article-{800 + n}.html",
            "shtml": f"/shtml/xwzx/202405/{9000 + n}.shtml",
            "trs": f"/trs/xwdt/202405/t20240501_{60000 + n}.html",
            "js": f"/js/show/{4000 + n}.html",
            "pagenum": f"/pn/view.php?aid={200 + n}",
            "frame": f"/frame/news/{2024050000 + n}.html",
        }[self.kind]

    def page_path(self, page: int) -> str:
        """List page `page` (1 = the column's own page)."""
        if self.kind == "text":
            return "/plain/news/list.html" if page == 1 else f"/plain/news/list_{page}.html"
        if self.kind == "vsb":  # newest page has no number; the others count down to 1
            return "/vsb/xwdt.htm" if page == 1 else f"/vsb/xwdt/{self.pages - page + 1}.htm"
        if self.kind == "cur":
            return f"/jsp/list.jsp?cur={page}&channel=5"
        if self.kind == "relnext":
            return "/rel/index.html" if page == 1 else f"/rel/page/{page}/"
        if self.kind == "trad":
            return "/hk/news/index.html" if page == 1 else f"/hk/news/index_{page}.html"
        if self.kind == "shtml":
            return "/shtml/xwzx/index.shtml" if page == 1 else f"/shtml/xwzx/{page}.shtml"
        if self.kind == "trs":
            return "/trs/xwdt/index.html" if page == 1 else f"/trs/xwdt/index_{page - 1}.html"
        if self.kind == "js":
            return "/js/list.html" if page == 1 else f"/js/list_{page}.html"
        if self.kind == "pagenum":
            return f"/pn/list.php?catid=3&pageNum={page}"
        if self.kind == "frame":
            return "/frame/news/list.html" if page == 1 else f"/frame/news/list_{page}.html"
        raise ValueError(self.kind)

    def start_path(self) -> str:
        return "/frame/index.html" if self.kind == "frame" else self.page_path(1)

    def articles_on(self, page: int) -> list[int]:
        return list(range((page - 1) * PER_PAGE + 1, page * PER_PAGE + 1))

    def all_articles(self) -> list[str]:
        return [self.article_path(n) for n in range(1, self.pages * PER_PAGE + 1)]

    def page_of(self, path_and_query: str) -> int | None:
        """Which list page a request asks for; like real servers, the order of query parameters is free."""
        wanted = _same_request(path_and_query)
        for page in range(1, self.pages + 1):
            if _same_request(self.page_path(page)) == wanted:
                return page
        return None

    def render(self, page: int) -> bytes:
        items = [(self.article_path(n), f"{self.key}项目建设动态第{n}期") for n in self.articles_on(page)]
        head = ""
        if self.kind == "relnext" and page < self.pages:
            head = f'<link rel="next" href="{self.page_path(page + 1)}">'
        return list_page(items, self._pager(page), head)

    def _pager(self, page: int) -> str:  # noqa: PLR0911 (one pager per kind of site)
        last, nxt = self.pages, page + 1
        has_next = page < last
        if self.kind == "text":  # plain news site: 下一页 text link, 共N页, 首页/尾页
            links = f'<a href="{self.page_path(1)}">首页</a>'
            if has_next:
                links += f' <a href="{self.page_path(nxt)}">下一页</a>'
            return (f'<div class="page">共{last}页 当前第{page}页 {links} '
                    f'<a href="{self.page_path(last)}">尾页</a></div>')
        if self.kind == "vsb":  # VSB/博达: 下页 / 尾页 and numbers, files counting down
            links = " ".join(f'<a href="{self.page_path(p)}">{p}</a>' for p in range(1, last + 1) if p != page)
            if has_next:
                links += f' <a href="{self.page_path(nxt)}">下页</a>'
            return f'<div class="pb_sys_common">共{last}页 {links} <a href="{self.page_path(last)}">尾页</a></div>'
        if self.kind == "cur":  # JSP list: a window of numbers and a symbol, no count
            window = [p for p in (page - 1, page, page + 1) if 1 <= p <= last]
            links = " ".join(f'<a href="{self.page_path(p)}">{p}</a>' if p != page else f"<b>{p}</b>" for p in window)
            return f'<div class="pagination">{links}' + (
                f' <a href="{self.page_path(nxt)}">&gt;</a>' if has_next else "") + "</div>"
        if self.kind == "relnext":  # WordPress-like theme: only <link rel="next"> and an icon link
            return '<div class="nav-links"><span class="icon"></span></div>'
        if self.kind == "trad":  # traditional-script site: 下一頁
            return f'<div class="pager"><a href="{self.page_path(nxt)}">下一頁</a></div>' if has_next else ""
        if self.kind == "shtml":  # N.shtml pages reached by 后页, count as 页次 1/N
            return f'<div class="pages">页次：{page}/{last} ' + (
                f'<a href="{self.page_path(nxt)}">后页</a>' if has_next else "") + "</div>"
        if self.kind == "trs":  # TRS WCM: the pager exists only as a createPageHTML call
            return (f'<div class="page"><script>var countPage = {last};var currentPage = {page - 1};'
                    f'createPageHTML(countPage, currentPage, "index", "html");</script></div>')
        if self.kind == "js":  # hand-written JS pager: a page count and a URL built by concatenation
            return (f'<div id="pager"></div><script>var totalPage = {last}; var cur = {page};'
                    'function go(n){ location.href = (n == 1 ? "list.html" : "list_" + n + ".html"); }'
                    '</script><a href="javascript:go(2)">下一页</a>')
        if self.kind == "pagenum":  # PHP list with pageNum= and a » link
            return '<div class="pg">' + (
                f'<a href="{self.page_path(nxt)}">»</a>' if has_next else "") + "</div>"
        if self.kind == "frame":
            return f'<div class="page">共{last}页 ' + (
                f'<a href="{self.page_path(nxt)}">下一页</a>' if has_next else "") + "</div>"
        raise ValueError(self.kind)


COLUMNS = [Column("文字翻页", 4, "text"), Column("博达", 4, "vsb"), Column("JSP", 3, "cur"),
           Column("主题", 3, "relnext"), Column("繁體", 3, "trad"), Column("页次", 3, "shtml"),
           Column("拓尔思", 4, "trs"), Column("脚本", 3, "js"), Column("PHP", 3, "pagenum"),
           Column("框架", 3, "frame")]

# Hanweb jpage: JPAGE_TOTAL records, the first JPAGE_PER_PAGE * 3 in the datastore, the rest via POST.
JPAGE_TOTAL, JPAGE_PER_PAGE = 23, 3
JPAGE_FORM = {"col": "1", "appid": "1", "webid": "7", "path": "/", "columnid": "1229", "sourceContentType": "1",
              "unitid": "4567", "webname": "示例区人民政府", "permissiontype": "0"}


def jpage_article(n: int) -> str:
    return f"/art/2024/5/{n % 28 + 1}/art_1229_{880000 + n}.html"


def jpage_record(n: int) -> str:
    return (f'<record><![CDATA[<li><a href="{jpage_article(n)}" title="大汉栏目{n}">大汉栏目第{n}条</a>'
            f'<span>2024-05-{n % 28 + 1:02d}</span></li>]]></record>')


def jpage_column() -> bytes:
    first = "".join(jpage_record(n) for n in range(1, JPAGE_PER_PAGE * 3 + 1))
    query = "&".join(f"{k}={v}" for k, v in JPAGE_FORM.items() if k not in ("col", "sourceContentType"))
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>重点项目</title></head><body>'
            '<div class="nav"><a href="/">首页</a></div><div id="4567"><script type="text/xml"><datastore>'
            f'<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&{query}"></a>]]></nextgroup>'
            f'<recordset>{first}</recordset></datastore></script>'
            '<script src="/module/jslib/jquery/jpage/jquery.jpage.js"></script>'
            f"<script>$('#4567').jpage({{ proxyUrl: '/module/web/jpage/dataproxy.jsp', totalRecord: {JPAGE_TOTAL},"
            f" perPage: {JPAGE_PER_PAGE}, groupSize: 3, barPosition: 'bottom' }});</script></div></body></html>"
            ).encode()


# Extra articles, each a shape of its own (see the module docstring).
MULTIPAGE = "/plain/news/content_5000.html"  # + content_5000_1.html, content_5000_2.html
MULTIPAGE_PARTS = ["第一部分：项目总体情况介绍。", "第二部分：项目投资进度说明。", "第三部分：下一步工作安排。"]
WITH_ATTACHMENTS = "/plain/news/content_5001.html"
ATTACHMENTS = {"/files/plan.pdf": "项目计划表", "/files/notice.docx": "通知全文", "/files/budget.xlsx": "预算明细",
               "/files/photos.zip": "现场照片"}
SOFT_404 = "/plain/news/content_5002.html"  # 302 to the home page
SPREADSHEET_LINK = "/plain/news/content_5003.html"  # an .xls served where an article link points
META_JS = "/plain/news/content_5004.html"  # meta refresh to javascript:, the page itself is an article
DEAD_LINK = "/plain/news/content_5005.html"  # 404: a known-dead link after the first run
ROBOTS_REFUSED = "/private/content_5006.html"  # disallowed by robots.txt: refused, never requested
EXTRA_LIST = "/plain/special/list.html"  # a list of the extra articles
EXTRA_ARTICLES = [MULTIPAGE, WITH_ATTACHMENTS, META_JS]  # the ones that must be archived


# Sitemaps announced only by robots.txt: an index (with <lastmod>) of a gzip sitemap and a plain one.
SITEMAP_INDEX = "/sitemap_index.xml"
SITEMAP_FILES = {"/sm/a.xml.gz": range(1, 4), "/sm/b.xml": range(4, 7)}


def sitemap_article(n: int) -> str:
    return f"/sm/news/2024/0501/{700 + n}.html"


@dataclass
class UnseenWeb:
    host: str
    port: int
    sitemap_lastmod: dict[str, str] = field(default_factory=lambda: {p: "2024-05-01" for p in SITEMAP_FILES})
    sitemap_extra: list[int] = field(default_factory=list)  # articles added to /sm/b.xml later
    hits: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    posts: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def expected_articles(self) -> set[str]:
        urls = {self.url(p) for c in COLUMNS for p in c.all_articles()}
        urls |= {self.url(jpage_article(n)) for n in range(1, JPAGE_TOTAL + 1)}
        urls |= {self.url(sitemap_article(n)) for numbers in SITEMAP_FILES.values() for n in numbers}
        return urls | {self.url(p) for p in EXTRA_ARTICLES}

    def sources_yaml(self) -> str:
        parts = ["sources:\n"]
        for i, column in enumerate(COLUMNS):
            parts.append(f"  - {{id: col-{column.kind}, name: {column.key}, region: 测试{i},"
                         f" start_urls: ['{self.url(column.start_path())}']}}\n")
        parts.append(f"  - {{id: hanweb-jpage, name: 大汉, region: 测试, start_urls: "
                     f"['{self.url('/col/col1229/index.html')}']}}\n")
        parts.append(f"  - {{id: extras, name: 附件, region: 测试, start_urls: ['{self.url(EXTRA_LIST)}']}}\n")
        return "".join(parts)

    def requested(self, method: str = "GET") -> list[str]:
        with self.lock:
            return [p for m, p in self.hits if m == method]

    def close(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> UnseenWeb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def docx_bytes(text: str) -> bytes:
    """A minimal valid DOCX (WordprocessingML) with one paragraph."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    return _zip({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
        'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{ns}"><w:body><w:p><w:r>'
        f"<w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
    })


def xlsx_bytes(cells: list[str]) -> bytes:
    """A minimal valid XLSX with one sheet, inline strings in column A."""
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{c}</t></is></c></row>'
                   for i, c in enumerate(cells, start=1))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
        '<sheet name="预算" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
        'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>'
        f"{rows}</sheetData></worksheet>",
    })


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF whose text is ASCII (Type1 Helvetica): enough to prove text extraction works."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


ATTACHMENT_BODIES = {
    "/files/plan.pdf": (pdf_bytes("Project plan 2024 phase two"), "application/pdf"),
    "/files/notice.docx": (docx_bytes("关于加快重点项目建设的通知全文"),
                           "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "/files/budget.xlsx": (xlsx_bytes(["预算科目", "道路改造工程"]),
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "/files/photos.zip": (_zip({"说明.txt": "现场照片说明"}), "application/zip"),
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    says_close = True  # `Connection: close` on every response (see _send)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._record("GET")
        self._route(self.path)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8"), keep_blank_values=True).items()}
        self._record("POST", form)
        parts = urlsplit(self.path)
        if parts.path != "/module/web/jpage/dataproxy.jsp" or form.get("columnid") != JPAGE_FORM["columnid"]:
            return self._send(404, b"not found", "text/plain")
        query = {k: int(v[0]) for k, v in parse_qs(parts.query).items() if v[0].isdigit()}
        start, end = query.get("startrecord", 1), min(query.get("endrecord", 0), JPAGE_TOTAL)
        records = "".join(jpage_record(n) for n in range(start, end + 1))
        body = (f'<?xml version="1.0" encoding="utf-8"?><datastore><totalrecord>{JPAGE_TOTAL}</totalrecord>'
                f"<recordset>{records}</recordset></datastore>").encode()
        return self._send(200, body, "text/xml; charset=utf-8")

    def _record(self, method: str, form: dict | None = None) -> None:
        web = self.server.web
        with web.lock:
            web.hits.append((method, self.path))
            if form is not None:
                web.posts.append({**form, "request": self.path})

    def _route(self, path: str) -> None:  # noqa: PLR0911
        bare = urlsplit(path).path
        if bare == "/robots.txt":
            return self._send(200, f"User-agent: *\nDisallow: /private/\nSitemap: {SITEMAP_INDEX}\n".encode(),
                              "text/plain")
        if bare in (SITEMAP_INDEX, *SITEMAP_FILES) or bare.startswith("/sm/news/"):
            return self._sitemaps(bare)
        if bare == "/":
            return self._send(200, list_page([("/about.html", "机构概况")], ""))
        for column in COLUMNS:
            page = column.page_of(path)
            if page:
                return self._send(200, column.render(page))
            articles = [_same_request(p) for p in column.all_articles()]
            if _same_request(path) in articles:
                n = articles.index(_same_request(path)) + 1
                return self._send(200, article_page(column.key, f"{column.key}项目建设动态第{n}期", day=n))
        if bare == "/frame/index.html":
            return self._send(200, b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>frame</title></head>'
                              b'<body><div class="nav"><a href="/">home</a></div>'
                              b'<iframe src="/frame/news/list.html" width="100%"></iframe></body></html>')
        if bare == "/col/col1229/index.html":
            return self._send(200, jpage_column())
        for n in range(1, JPAGE_TOTAL + 1):
            if bare == jpage_article(n):
                return self._send(200, article_page("大汉", f"大汉栏目第{n}条", day=n))
        return self._extras(bare)

    def _extras(self, bare: str) -> None:  # noqa: PLR0911
        if bare == EXTRA_LIST:
            items = [(MULTIPAGE, "多页文章"), (WITH_ATTACHMENTS, "附件文章"), (SOFT_404, "已删除"),
                     (SPREADSHEET_LINK, "表格"), (META_JS, "跳转页"), (DEAD_LINK, "失效链接"),
                     (ROBOTS_REFUSED, "内部")]
            return self._send(200, list_page(items, ""))
        stem = MULTIPAGE.removesuffix(".html")
        parts = [MULTIPAGE, f"{stem}_1.html", f"{stem}_2.html"]
        if bare in parts:
            index = parts.index(bare)
            pager = "".join(f'<a href="{p.rsplit("/", 1)[1]}">{i + 1}</a> ' for i, p in enumerate(parts) if i != index)
            if index < len(parts) - 1:
                pager += f'<a href="{parts[index + 1].rsplit("/", 1)[1]}">下一页</a>'
            text = "".join(f"<p>{MULTIPAGE_PARTS[index]}本部分为第{index + 1}页内容，项目推进情况详见正文第{k}段。</p>"
                           for k in range(1, 4))
            return self._send(200, article_page("多页", "重点项目建设情况通报", body=text,
                                                extra=f'<div class="page">共3页 {pager}</div>'))
        if bare == WITH_ATTACHMENTS:
            links = "".join(f'<li><a href="{path}">{name}{path[path.rfind("."):]}</a></li>'
                            for path, name in ATTACHMENTS.items())
            return self._send(200, article_page("附件", "关于重点项目计划的公示",
                                                extra=f"<div>相关附件：<ul>{links}</ul></div>"))
        if bare in ATTACHMENT_BODIES:
            body, ctype = ATTACHMENT_BODIES[bare]
            return self._send(200, body, ctype)
        if bare == SOFT_404:
            return self._send(302, b"", headers={"Location": "/"})
        if bare == SPREADSHEET_LINK:
            return self._send(200, xlsx_bytes(["not an article"]), "application/vnd.ms-excel")
        if bare == META_JS:
            return self._send(200, article_page("跳转", "跳转页面也是文章").replace(
                b"<head>", b'<head><meta http-equiv="refresh" content="0;url=javascript:alert(1)">'))
        return self._send(404, "<html><body><h1>404 页面不存在</h1></body></html>".encode())

    def _sitemaps(self, bare: str) -> None:
        web = self.server.web
        if bare == SITEMAP_INDEX:
            entries = "".join(f"<sitemap><loc>{web.url(p)}</loc><lastmod>{web.sitemap_lastmod[p]}</lastmod></sitemap>"
                              for p in SITEMAP_FILES)
            return self._send(200, ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/'
                                    f'schemas/sitemap/0.9">{entries}</sitemapindex>').encode(), "application/xml")
        if bare in SITEMAP_FILES:
            numbers = [*SITEMAP_FILES[bare], *(web.sitemap_extra if bare == "/sm/b.xml" else [])]
            urls = "".join(f"<url><loc>{web.url(sitemap_article(n))}</loc></url>" for n in numbers)
            xml = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                   f"{urls}</urlset>").encode()
            if bare.endswith(".gz"):  # a gzip file, not a gzip transfer: no Content-Encoding
                return self._send(200, gzip.compress(xml), "application/x-gzip")
            return self._send(200, xml, "application/xml")
        for n in range(1, 100):
            if bare == sitemap_article(n):
                return self._send(200, article_page("站点地图", f"站点地图文章{n}", day=n))
        return self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # Said, as Apache and nginx say it to a client they will not keep: Twisted's client pools a
        # connection unless the response says `Connection: close`, whatever its HTTP version, and a POST
        # sent on a pooled connection this HTTP/1.0 server has closed fails without a retry (the jpage
        # data proxy failed 3 tries that way in ~1 of 20 crawls on a loaded machine, before the crawler
        # stopped pooling such connections: tests/test_connections.py)
        if self.says_close:
            self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], web: UnseenWeb, handler: type[_Handler] = _Handler):
        self.web = web
        super().__init__(address, handler)


def start_unseen_web(host: str = "127.0.0.1", handler: type[_Handler] = _Handler) -> UnseenWeb:
    web = UnseenWeb(host, 0)
    server = _Server((host, 0), web, handler)
    web.port, web._server = server.server_address[1], server
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return web
