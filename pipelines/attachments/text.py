"""Text of an attachment, for search: bytes in, plain text out (pure, bounded).

Library choice (each the maintained, pure-Python-or-wheel standard for its format):
- PDF: pdfminer.six — the text-layout engine most PDF tools build on; handles the CJK CMaps
  (Adobe-GB1) government PDFs use, where pypdf's extract_text garbles vertical/CID text more often.
  Bounded to MAX_PDF_PAGES pages.
- DOCX: python-docx — reads paragraphs and tables of WordprocessingML.
- XLS/XLSX/ET: python-calamine — Rust calamine bindings: reads both the old BIFF .xls and .xlsx
  (openpyxl reads only .xlsx, xlrd only .xls), fast and without formulas being evaluated.
- OFD (China's GB/T 33190 fixed-layout format): a ZIP of XML pages; the text sits in <ofd:TextCode>
  elements, read with zipfile + lxml (no maintained Python library exists).
- ZIP: the names of the files inside (journalists search "清单.xlsx"), never extracted to disk.
- DOC/WPS (OLE binary Word/WPS Office): no well-kept pure-Python reader exists; stored, listed,
  not searchable by text (docs/crawling.md).
Every extractor is given the bytes already capped by the crawl's attachment size limit; output is
capped at MAX_TEXT characters. A broken file gives None, never an exception.
"""

from __future__ import annotations

import io
import logging
import zipfile
from urllib.parse import urlsplit

import lxml.etree

MAX_TEXT = 200_000
MAX_PDF_PAGES = 60
MAX_ZIP_MEMBERS = 2_000
MAX_OFD_PART = 5 * 1024 * 1024  # bytes of one OFD page XML read (zip bombs stay bounded)

logger = logging.getLogger(__name__)

# lower-case file extension -> kind; the content type decides when the URL has no extension
KINDS = {"pdf": "pdf", "docx": "docx", "doc": "doc", "wps": "doc", "xlsx": "sheet", "xls": "sheet", "et": "sheet",
         "ofd": "ofd", "zip": "zip"}
_CONTENT_TYPES = {"application/pdf": "pdf", "application/msword": "doc", "application/zip": "zip",
                  "application/vnd.ms-excel": "sheet", "application/ofd": "ofd",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "sheet"}


def kind_of(url: str, content_type: str | None, body: bytes = b"") -> str | None:
    """pdf | docx | doc | sheet | ofd | zip, from the content type, the file name, then the magic bytes."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in _CONTENT_TYPES:
        return _CONTENT_TYPES[ctype]
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    query = urlsplit(url).query.lower()
    for candidate in (name, query):
        ext = candidate.rsplit(".", 1)[-1] if "." in candidate else ""
        ext = "".join(ch for ch in ext if ch.isalnum())
        if ext in KINDS:
            return KINDS[ext]
    if body.startswith(b"%PDF"):
        return "pdf"
    return None


def extract_text(body: bytes, url: str, content_type: str | None = None) -> str | None:
    kind = kind_of(url, content_type, body)
    try:
        text = _EXTRACTORS[kind](body) if kind in _EXTRACTORS else None
    except Exception as exc:  # a damaged or hostile file: no text, the attachment is still archived
        logger.warning("no text from %s (%s): %r", url, kind, exc)
        return None
    if text is None:
        return None
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return text[:MAX_TEXT] or None


def _pdf(body: bytes) -> str:
    from pdfminer.high_level import extract_text as pdf_text

    return pdf_text(io.BytesIO(body), maxpages=MAX_PDF_PAGES)


def _docx(body: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(body))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _sheet(body: bytes) -> str:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(body))
    lines: list[str] = []
    for name in workbook.sheet_names:
        lines.append(name)
        for row in workbook.get_sheet_by_name(name).to_python(skip_empty_area=True):
            lines.append("\t".join(str(v) for v in row if v not in ("", None)))
            if sum(len(line) for line in lines) > MAX_TEXT:
                return "\n".join(lines)
    return "\n".join(lines)


def _ofd(body: bytes) -> str:
    lines = []
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for info in archive.infolist()[:MAX_ZIP_MEMBERS]:
            if not info.filename.lower().endswith(".xml") or "/pages/" not in info.filename.lower():
                continue
            with archive.open(info) as part:
                data = part.read(MAX_OFD_PART)
            root = lxml.etree.fromstring(data, parser=lxml.etree.XMLParser(resolve_entities=False, no_network=True))
            lines.extend(el.text or "" for el in root.iter() if isinstance(el.tag, str) and el.tag.endswith("TextCode"))
    return "\n".join(lines)


def _zip(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return "\n".join(info.filename for info in archive.infolist()[:MAX_ZIP_MEMBERS])


_EXTRACTORS = {"pdf": _pdf, "docx": _docx, "sheet": _sheet, "ofd": _ofd, "zip": _zip}
