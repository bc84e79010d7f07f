"""Discovery rules: which links of a page are articles, which are list pages, where pagination goes.

Pure functions over (HTML text, URL) so they are tested without a network. The rules are general
properties of Chinese government CMS families, not of any one site:

- TRS WCM: articles `/202301/t20230114_7654321.html`; list pages `index.html`, `index_1.html` … whose
  links exist only in a `createPageHTML(count, current, "index", "html")` script call.
- Hanweb (大汉): articles `/art/2023/3/2/art_1229_3456789.html`; column pages `/col/col1229/index.html`
  with `?uid=…&pageNum=N` and records inside `<script type="text/xml"><datastore>` CDATA blocks.
- Generic CMS: a list container whose items are links next to dates; article URLs with a date or a
  long numeric id in the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html

from pipelines.urls import canonical_url, is_html_url, looks_like_article_url, looks_like_list_url

_DATE_TEXT = re.compile(r"(19|20)\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}|\b\d{1,2}-\d{1,2}\b|\[\d{2}-\d{2}\]")
_PAGER_TEXT = re.compile(r"^(下一?页|下页|后页|next|›|»|>|>>|尾页|末页|\d{1,3})$", re.I)

# --- links --------------------------------------------------------------------------------------


@dataclass
class Link:
    url: str
    text: str
    dated: bool = False  # the link sits in a list item next to a date: a strong article signal


@dataclass
class ListPage:
    """What a list page offers: candidate articles, pagination pages and other list-like pages."""

    articles: list[Link] = field(default_factory=list)
    pagination: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)


_HREF_IN_TEXT = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"'#][^"']*)["'][^>]*>(.*?)</a>""", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")


def _script_links(doc: lxml.html.HtmlElement) -> list[tuple[str, str, str]]:
    """Links written inside scripts (Hanweb's <datastore> CDATA records), with the record text."""
    found = []
    for script in doc.iter("script"):
        body = script.text or ""
        if "<a" not in body and "&lt;a" not in body:
            continue
        for match in _HREF_IN_TEXT.finditer(body.replace("&lt;", "<").replace("&gt;", ">")):
            record_end = body.find("</record>", match.end())
            context = body[match.start(): record_end if record_end != -1 else match.end() + 80]
            found.append((match.group(1), _TAGS.sub("", match.group(2)).strip(), _TAGS.sub(" ", context)))
    return found


def _item_of(anchor: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The list item an anchor belongs to: the nearest li/tr/dd/p, else its parent."""
    for ancestor in anchor.iterancestors():
        if ancestor.tag in ("li", "tr", "dd", "dt", "p"):
            return ancestor
        if ancestor.tag in ("ul", "ol", "table", "body", "div"):
            break
    parent = anchor.getparent()
    return parent if parent is not None else anchor


def _dated_containers(doc: lxml.html.HtmlElement) -> set[lxml.html.HtmlElement]:
    """Anchors inside a container whose items (>= 3) mostly pair one link with a date."""
    dated: set[lxml.html.HtmlElement] = set()
    for container in doc.iter("ul", "ol", "table", "tbody", "div", "dl"):
        items = [c for c in container if isinstance(c.tag, str) and c.tag not in ("script", "style")]
        if len(items) < 3:
            continue
        hits = []
        for item in items:
            anchors = item.findall(".//a[@href]") if item.tag != "a" else [item]
            if 1 <= len(anchors) <= 2 and _DATE_TEXT.search(item.text_content() or ""):
                hits.append(anchors[0])
        if len(hits) >= 3 and len(hits) >= 0.6 * len(items):
            dated.update(hits)
    return dated


def parse_list_page(html: str, base_url: str, *, article_pattern: re.Pattern[str] | None = None,
                    list_pattern: re.Pattern[str] | None = None) -> ListPage:
    """Classify the links of a list page. All returned URLs are absolute and canonical."""
    result = ListPage()
    try:
        doc = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return result
    base = doc.find(".//base[@href]")
    base_url = urljoin(base_url, base.get("href")) if base is not None else base_url
    dated_anchors = _dated_containers(doc)

    candidates: list[tuple[str, str, bool]] = []
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href and not href.lower().startswith(("javascript:", "mailto:", "tel:", "#")):
            candidates.append((href, anchor.text_content().strip(), anchor in dated_anchors))
    for href, text, context in _script_links(doc):
        candidates.append((href, text, bool(_DATE_TEXT.search(context))))

    seen: set[str] = set()
    for href, text, dated in candidates:
        url = canonical_url(urljoin(base_url, href))
        if url in seen or url == canonical_url(base_url) or not is_html_url(url):
            continue
        seen.add(url)
        if looks_like_article_url(url, article_pattern) or (dated and article_pattern is None
                                                             and not looks_like_list_url(url)):
            result.articles.append(Link(url, text, dated))
        elif _PAGER_TEXT.match(text) and _same_column(url, base_url, text):
            result.pagination.append(url)
        elif looks_like_list_url(url, list_pattern):
            result.lists.append(url)

    for url in js_pagination(html, base_url) + hanweb_pagination(html, base_url):
        url = canonical_url(url)
        if url not in seen and url != canonical_url(base_url):
            seen.add(url)
            result.pagination.append(url)
    # pagination is also a list link; keep each URL in one bucket only
    result.lists = [u for u in result.lists if u not in set(result.pagination)]
    return result


_PAGER_WORDS = re.compile(r"^(下一?页|下页|后页|next|尾页|末页)$", re.I)


def _same_column(url: str, base_url: str, text: str) -> bool:
    """Is a pager link part of this list's own pagination (not a link to page 2 of another column)?

    Same folder (index_1.html next to index.html), or a sub-folder named after the page
    (VSB/博达: xmjs.htm -> xmjs/2.htm). Explicit words like 下一页 are trusted on the same host.
    """
    a, b = urlsplit(url), urlsplit(base_url)
    if a.netloc != b.netloc:
        return False
    if _PAGER_WORDS.match(text):
        return True
    stem = b.path.rsplit(".", 1)[0] if "." in b.path.rsplit("/", 1)[-1] else b.path.rstrip("/")
    return a.path.rsplit("/", 1)[0] == b.path.rsplit("/", 1)[0] or a.path.startswith(stem + "/")


# --- JavaScript-built pagination ----------------------------------------------------------------

_CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^)]*)\)", re.I)
_JS_VAR = re.compile(r"""\bvar\s+(\w+)\s*=\s*["']?(\w+)["']?\s*;""")
_JS_ARG = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([\w.]+))\s*""")


def js_pagination(html: str, base_url: str) -> list[str]:
    """Pages announced by TRS `createPageHTML(...)` calls, in order (excluding the current page).

    Handles the classic `createPageHTML(countPage, currentPage, "index", "html")` with literal numbers
    or `var` variables, and the newer `createPageHTML("page_div", count, current, "index", "html", rows)`.
    """
    variables = dict(_JS_VAR.findall(html))
    urls: list[str] = []
    for call in _CREATE_PAGE.finditer(html):
        args = []
        for raw in call.group(1).split(","):
            m = _JS_ARG.fullmatch(raw)
            if not m:
                break
            value = m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(3)
            quoted = m.group(3) is None
            if not quoted:
                value = variables.get(value, value)
            args.append((value, quoted))
        numbers = [int(v) for v, quoted in args if not quoted and v.isdigit()]
        strings = [v for v, quoted in args if quoted]
        if len(numbers) < 2:
            continue
        count, current = numbers[0], numbers[1]
        # the last two quoted strings are the file prefix and extension ("index", "html")
        prefix, ext = (strings[-2], strings[-1]) if len(strings) >= 2 else ("index", "html")
        if count > 1000 or not re.fullmatch(r"[\w-]+", prefix) or not re.fullmatch(r"s?html?|jsp|php", ext):
            continue
        for page in range(count):
            if page == current:
                continue
            name = f"{prefix}.{ext}" if page == 0 else f"{prefix}_{page}.{ext}"
            urls.append(urljoin(base_url, name))
    return urls


_HANWEB_TOTAL = re.compile(r"totalRecord\s*[=:]\s*['\"]?(\d+)", re.I)
_HANWEB_PERPAGE = re.compile(r"perPage\s*[=:]\s*['\"]?(\d+)", re.I)


def hanweb_pagination(html: str, base_url: str) -> list[str]:
    """Hanweb column pages `?uid=…&pageNum=N` derived from the datastore's totalRecord/perPage."""
    if "datastore" not in html or "pageNum" not in html and "perPage" not in html:
        return []
    total, per_page = _HANWEB_TOTAL.search(html), _HANWEB_PERPAGE.search(html)
    if not total or not per_page or int(per_page.group(1)) == 0:
        return []
    pages = min(-(-int(total.group(1)) // int(per_page.group(1))), 1000)
    uid = re.search(r"[?&]uid=(\w+)", html)
    parts = urlsplit(base_url)
    query = dict(parse_qsl(parts.query))
    current = int(query.get("pageNum", "1") or 1)
    urls = []
    for page in range(1, pages + 1):
        if page == current:
            continue
        q = {k: v for k, v in query.items() if k != "pageNum"}
        if uid and "uid" not in q:
            q["uid"] = uid.group(1)
        q["pageNum"] = str(page)
        urls.append(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), "")))
    return urls


# --- sitemaps and feeds -------------------------------------------------------------------------


def parse_feed(body: bytes) -> list[str]:
    """Item links of an RSS 2.0 / RSS 1.0 / Atom feed; [] for anything else."""
    try:
        root = lxml.etree.fromstring(body, parser=lxml.etree.XMLParser(recover=True, resolve_entities=False,
                                                                        no_network=True, huge_tree=False))
    except lxml.etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    links: list[str] = []
    for el in root.iter():
        tag = lxml.etree.QName(el).localname if isinstance(el.tag, str) else ""
        if tag in ("item", "entry"):
            for child in el:
                if not isinstance(child.tag, str) or lxml.etree.QName(child).localname != "link":
                    continue
                href = child.get("href") if child.get("href") else (child.text or "").strip()
                rel = child.get("rel", "alternate")
                if href and rel == "alternate":
                    links.append(href)
                    break
    return links
