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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html
import yaml

from pipelines.urls import canonical_url, is_html_url, join_url, looks_like_article_url, looks_like_list_url

_DATE_TEXT = re.compile(r"(19|20)\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}|\b\d{1,2}-\d{1,2}\b|\[\d{2}-\d{2}\]")

# --- links --------------------------------------------------------------------------------------


@dataclass
class Link:
    url: str
    text: str
    dated: bool = False  # the link sits in a list item next to a date: a strong article signal


@dataclass(frozen=True)
class PostRequest:
    """A list request that must be POSTed (Hanweb's jpage data proxy): URL plus form fields."""

    url: str
    form: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        """The frontier identity: the proxy URL (its query names the record range) plus the form."""
        return canonical_url(self.url + "&" + urlencode(self.form))


@dataclass
class ListPage:
    """What a list page offers: candidate articles, pagination pages and other list-like pages."""

    articles: list[Link] = field(default_factory=list)
    pagination: list[str] = field(default_factory=list)  # every other page of this list, in page order
    lists: list[str] = field(default_factory=list)
    next_page: str | None = None  # the page after this one (what an incremental walk follows)
    frames: list[str] = field(default_factory=list)  # lists shown inside an <iframe>: read as lists
    posts: list[PostRequest] = field(default_factory=list)  # Hanweb jpage record ranges


_HREF_IN_TEXT = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"'#][^"']*)["'][^>]*>(.*?)</a>""", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")
_NOT_REQUESTS = ("javascript:", "mailto:", "tel:", "#", "data:", "about:")


def is_request_href(href: str) -> bool:
    """javascript:, mailto:, tel:, data: and in-page anchors are never requests."""
    return bool(href) and not href.strip().lower().startswith(_NOT_REQUESTS)


def _script_links(doc: lxml.html.HtmlElement) -> list[tuple[str, str, str]]:
    """Links written inside scripts (Hanweb's <datastore> CDATA records), with the record text."""
    found = []
    for script in doc.iter("script"):
        found.extend(_record_links(script.text or ""))
    return found


def _record_links(body: str) -> list[tuple[str, str, str]]:
    if "<a" not in body and "&lt;a" not in body:
        return []
    body = body.replace("&lt;", "<").replace("&gt;", ">")
    found = []
    for match in _HREF_IN_TEXT.finditer(body):
        if "nextgroup" in body[max(0, match.start() - 40): match.start()]:
            continue  # the jpage proxy link: a pager, not a record
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


def parse_html(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def page_base(doc: lxml.html.HtmlElement, url: str) -> str:
    base = doc.find(".//base[@href]")
    return urljoin(url, base.get("href")) if base is not None else url


def parse_list_page(html: str, base_url: str, *, article_pattern: re.Pattern[str] | None = None,
                    list_pattern: re.Pattern[str] | None = None) -> ListPage:
    """Classify the links of a list page. All returned URLs are absolute and canonical."""
    result = ListPage()
    doc = parse_html(html)
    if doc is None:
        return result
    page_url = canonical_url(base_url)
    base_url = page_base(doc, base_url)
    dated_anchors = _dated_containers(doc)
    pager = find_pager(doc, html, base_url, page_url)

    candidates: list[tuple[str, str, bool]] = []
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        if is_request_href(href):
            candidates.append((href, anchor.text_content().strip(), anchor in dated_anchors))
    for href, text, context in _script_links(doc):
        candidates.append((href, text, bool(_DATE_TEXT.search(context))))

    seen: set[str] = {page_url, *pager.pages}
    for href, text, dated in candidates:
        url = canonical_url(join_url(base_url, href))
        if url in seen or not is_html_url(url):
            continue
        seen.add(url)
        if looks_like_article_url(url, article_pattern) or (dated and article_pattern is None
                                                             and not looks_like_list_url(url)):
            result.articles.append(Link(url, text, dated))
        elif looks_like_list_url(url, list_pattern):
            result.lists.append(url)
    result.pagination, result.next_page, result.posts = pager.pages, pager.next_page, pager.posts
    result.frames = [u for u in frame_lists(doc, base_url) if u not in seen]
    return result


def _linked(doc: lxml.html.HtmlElement, base_url: str, tags: tuple[str, ...], attribute: str = "href"):
    """(element, absolute canonical URL) for each element of these tags whose link is a request."""
    for element in doc.iter(*tags):
        value = (element.get(attribute) or "").strip()
        if is_request_href(value):
            yield element, canonical_url(join_url(base_url, value))


def frame_lists(doc: lxml.html.HtmlElement, base_url: str) -> list[str]:
    """Pages shown inside <iframe>/<frame> on the same host: a list may live only there."""
    host = urlsplit(base_url).netloc
    urls = []
    for _, url in _linked(doc, base_url, ("iframe", "frame"), "src"):
        if urlsplit(url).netloc == host and is_html_url(url) and url not in urls:
            urls.append(url)
    return urls


# --- pagers (rules: crawler/rules/pagers.yml) --------------------------------------------------


@dataclass(frozen=True)
class UrlShape:
    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class PagerRules:
    next_texts: frozenset[str]
    last_texts: frozenset[str]
    count_patterns: tuple[re.Pattern[str], ...]
    url_shapes: tuple[UrlShape, ...]
    js_pagers: tuple[dict, ...]
    jpage: dict


PAGER_RULES_FILE = Path(__file__).with_name("rules") / "pagers.yml"
# A pager claiming more pages than this is a trap, a typo or a very big column: none is named from the
# count; a script pager names the next page only, so such a column is walked page by page.
MAX_PAGES_NAMED = 1000


@lru_cache(maxsize=4)
def load_pager_rules(path: str | None = None) -> PagerRules:
    """The pager rules file, compiled. A malformed file raises ValueError naming it and the rule."""
    path = path or str(PAGER_RULES_FILE)
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)  # our own file: no aliases in it, safe_load is enough

    def compiled(pattern: str, where: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, re.I)
        except re.error as exc:
            raise ValueError(f"{path}: {where}: bad regex {pattern!r} ({exc})") from None

    js = []
    for rule in data.get("js_pagers", []):
        js.append({key: compiled(value, f"js_pagers/{rule['name']}/{key}")
                   if key in ("pattern", "count", "concat", "current") else value for key, value in rule.items()})
    jpage = {key: compiled(value, f"jpage/{key}") if key in ("total", "per_page", "group_size") else value
             for key, value in data["jpage"].items()}
    return PagerRules(
        next_texts=frozenset(t.lower() for t in data["next_texts"]),
        last_texts=frozenset(t.lower() for t in data["last_texts"]),
        count_patterns=tuple(compiled(p, "count_patterns") for p in data["count_patterns"]),
        url_shapes=tuple(UrlShape(s["name"], compiled(s["pattern"], f"url_shapes/{s['name']}"))
                         for s in data["url_shapes"]),
        js_pagers=tuple(js), jpage=jpage)


@dataclass
class Pager:
    pages: list[str] = field(default_factory=list)
    next_page: str | None = None
    page_count: int | None = None
    posts: list[PostRequest] = field(default_factory=list)


_PAGER_TRIM = re.compile(r"^[\s\[\]【】()（）<>《》]*|[\s\[\]【】()（）《》]*$")


def _pager_text(text: str) -> str:
    text = " ".join(text.split())
    trimmed = _PAGER_TRIM.sub("", text)
    return (trimmed or text).lower()


def _shape_of(url: str, rules: PagerRules) -> tuple[str, int] | None:
    """(template with {n}, page token) when the URL carries a page number in a known place."""
    parts = urlsplit(url)
    tail = parts.path + ("?" + parts.query if parts.query else "")
    head = url[: len(url) - len(tail)]
    for shape in rules.url_shapes:
        match = shape.pattern.search(tail)
        if match:
            start, end = match.span("n")
            return head + tail[:start].replace("{", "{{").replace("}", "}}") + "{n}" + \
                tail[end:].replace("{", "{{").replace("}", "}}"), int(match.group("n"))
    return None


def find_pager(doc: lxml.html.HtmlElement, html: str, base_url: str, page_url: str | None = None,
               rules: PagerRules | None = None) -> Pager:
    """Where this list's other pages are, from what the page says (rules: crawler/rules/pagers.yml).

    Sources, strongest first: rel="next"; anchors whose text is 下一页/尾页/a page number, with 共N页
    giving the count; a page-number URL shape shared by those anchors, from which every page is named;
    JavaScript pagers; Hanweb jpage record ranges (POST)."""
    rules = rules or load_pager_rules()
    page_url = page_url or canonical_url(base_url)
    pager = Pager()
    next_url: str | None = None
    last_url: str | None = None
    numbered: dict[int, str] = {}
    containers = []
    for element in doc.iter("a", "link"):
        href = (element.get("href") or "").strip()
        if not is_request_href(href):
            continue
        rel_next = "next" in (element.get("rel") or "").lower().split()
        # only a pager's links are resolved: a list page has hundreds of others (navigation, articles)
        text = _pager_text(element.text_content()) if element.tag == "a" else ""
        if not (rel_next or text in rules.next_texts or text in rules.last_texts
                or (text.isdigit() and len(text) <= 4)):
            continue
        url = canonical_url(join_url(base_url, href))
        if url == page_url or not is_html_url(url):
            continue
        if element.tag == "link":
            if _same_column(url, base_url, "next"):
                next_url = next_url or url
            continue
        if (rel_next or text in rules.next_texts) and _same_column(url, base_url, "下一页"):
            next_url = next_url or url
        elif text in rules.last_texts and _same_column(url, base_url, "尾页"):
            last_url = url
        elif text.isdigit() and len(text) <= 4 and _same_column(url, base_url, text):
            numbered.setdefault(int(text), url)
        else:
            continue
        parent = element.getparent()
        if parent is not None:
            containers.append(parent.getparent() if parent.getparent() is not None else parent)
    count = _stated_count(containers, rules)
    pages = _pages_from_shape(page_url, next_url, last_url, numbered, count, rules)
    named = set(pages)  # (a big column names 1,000 pages: membership in the list was quadratic)
    for url in js_pagination(html, base_url, rules):
        if url not in named and url != page_url:
            pages.append(url)
            named.add(url)
    if not pages:
        pages = hanweb_pagination(html, base_url) if not jpage_group_mode(html, rules) else []
    pager.posts = jpage_requests(html, base_url, rules)
    canonical = (canonical_url(u) for u in dict.fromkeys(pages))
    pager.pages = [u for u in canonical if u != page_url]
    if next_url and next_url not in pager.pages:
        pager.pages.insert(0, next_url)
    pager.next_page = next_url or _following(page_url, pager.pages, rules)
    pager.page_count = count
    return pager


def _stated_count(containers: list, rules: PagerRules) -> int | None:
    """共N页 (and the like) in the text around the pager links."""
    for container in dict.fromkeys(containers):
        text = container.text_content()
        for pattern in rules.count_patterns:
            match = pattern.search(text)
            if match:
                return int(match.group("count"))
    return None


def _pages_from_shape(page_url: str, next_url: str | None, last_url: str | None, numbered: dict[int, str],
                      count: int | None, rules: PagerRules) -> list[str]:
    """Every page of the list, named from the URL shape the pager links share.

    The offset between a page's number and the number in its URL comes from numbered links (TRS
    index_1.html is page 2) or, on a first page without a number, from the next link (page 2)."""
    shaped: dict[str, list[tuple[int | None, int]]] = {}
    for number, url in [*((n, u) for n, u in numbered.items()), (None, next_url), (None, last_url)]:
        shape = _shape_of(url, rules) if url else None
        if shape:
            shaped.setdefault(shape[0], []).append((number, shape[1]))
    if not shaped:
        return [numbered[n] for n in sorted(numbered)] + [u for u in (next_url, last_url) if u]
    template = max(shaped, key=lambda t: len(shaped[t]))
    tokens = {token for _, token in shaped[template]}
    current = _shape_of(page_url, rules)
    on_template = current is not None and current[0] == template
    if on_template:
        tokens.add(current[1])
    next_token = _token_on(next_url, template, rules)
    last_token = _token_on(last_url, template, rules)
    pairs = sorted((number, token) for number, token in shaped[template] if number is not None)
    descending = (len(pairs) >= 2 and pairs[-1][1] < pairs[0][1]) or (
        next_token is not None and last_token is not None and last_token < next_token)
    if descending:  # VSB/博达 and some JSP lists number pages down to 1 (the newest page has no number)
        low = last_token if last_token is not None else min(tokens)
        if last_token is None and count is not None and pairs:
            low = min(low, pairs[0][0] + pairs[0][1] - count)
        first, last = max(low, 0), max(tokens)
    else:
        offsets = [token - number for number, token in pairs]
        if not offsets and next_token is not None and not on_template:
            offsets = [next_token - 2]  # a first page without a number: the next page is page 2
        offset = max(set(offsets), key=offsets.count) if offsets else None
        last = max(tokens)
        if count is not None and offset is not None:
            last = max(last, count + offset)
        elif count is not None and on_template and "{n}" in urlsplit(template).query:
            # a query parameter on every page (?pageIndex=1 is page 1, ?page=0 counts from 0): the count
            # names the last page; never pages below those seen (page 1 may have no parameter at all)
            last = max(last, count - (0 if min(tokens) >= 1 else 1))
        first = min(tokens)
        if offset is not None:
            first = min(first, (1 if on_template else 2) + offset)
    if last - first >= MAX_PAGES_NAMED:
        return sorted({template.format(n=t) for t in tokens})
    numbers = range(last, first - 1, -1) if descending else range(max(first, 0), last + 1)
    named = [template.format(n=t) for t in numbers]
    return [u for u in named if u != page_url]


def _token_on(url: str | None, template: str, rules: PagerRules) -> int | None:
    shape = _shape_of(url, rules) if url else None
    return shape[1] if shape and shape[0] == template else None


def _following(page_url: str, pages: list[str], rules: PagerRules) -> str | None:
    """The page after this one among the named pages (same shape, next number), else the first."""
    current = _shape_of(page_url, rules)
    if current is not None:
        for step in (1, -1):  # numbered up (index_2 -> index_3) or down (VSB 5.htm -> 4.htm)
            wanted = current[0].format(n=current[1] + step)
            if wanted in pages:
                return wanted
        return None
    return pages[0] if pages else None


def _same_column(url: str, base_url: str, text: str) -> bool:
    """Is a pager link part of this list's own pagination (not a link to page 2 of another column)?

    Same folder (index_1.html next to index.html), or a sub-folder named after the page
    (VSB/博达: xmjs.htm -> xmjs/2.htm). Explicit words like 下一页 are trusted on the same host.
    """
    a, b = urlsplit(url), urlsplit(base_url)
    if a.netloc != b.netloc:
        return False
    if not text.isdigit():
        return True
    stem = b.path.rsplit(".", 1)[0] if "." in b.path.rsplit("/", 1)[-1] else b.path.rstrip("/")
    return a.path.rsplit("/", 1)[0] == b.path.rsplit("/", 1)[0] or a.path.startswith(stem + "/")


# --- JavaScript-built pagination ----------------------------------------------------------------

_JS_VAR = re.compile(r"""\bvar\s+(\w+)\s*=\s*["']?(\w+)["']?\s*;""")


def js_pagination(html: str, base_url: str, rules: PagerRules | None = None) -> list[str]:
    """Pages announced only by a script (rules: js_pagers in crawler/rules/pagers.yml), in order,
    excluding the current page. Identifiers are resolved from `var name = N;` lines."""
    rules = rules or load_pager_rules()
    variables: dict[str, str] | None = None  # read only when a call names one: a scan of the whole page
    urls: list[str] = []

    def number(value: str | None) -> int | None:
        nonlocal variables
        if value and not value.isdigit():
            if variables is None:
                variables = dict(_JS_VAR.findall(html))
            value = variables.get(value, value)
        return int(value) if value and value.isdigit() else None

    for rule in rules.js_pagers:
        if "pattern" in rule:
            for call in rule["pattern"].finditer(html):
                count, current = number(call.group("count")), number(call.group("current")) or 0
                prefix, ext = call.group("prefix"), call.group("ext")
                if count is None or not re.fullmatch(r"s?html?|jsp|php|aspx?", ext):
                    continue
                # beyond MAX_PAGES_NAMED, the next page only: the column is walked page by page, within
                # the source's max_pages (a big column's 2,500 pages, or a trap, never named at once)
                for k in range(count) if count <= MAX_PAGES_NAMED else range(current + 1, min(current + 2, count)):
                    if k != current:
                        name = rule["first_file"] if k == 0 else rule["page_file"]
                        urls.append(join_url(base_url, name.format(prefix=prefix, ext=ext, k=k)))
        elif "count" in rule:
            concat = rule["concat"].search(html)
            count = _js_count(html, rule, rules) if concat else None
            if count is None:
                continue
            prefix, suffix = concat.group("prefix"), concat.group("suffix")
            current = rule["current"].search(html) if "current" in rule else None
            on_page = re.search(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$", urlsplit(base_url).path)
            zero_based = on_page is None and current is not None and current.group("current") == "0"
            if count <= MAX_PAGES_NAMED:
                pages = range(1, count) if zero_based else range(2, count + 1)
            else:  # the next page only, as for createPageHTML above
                following = int(on_page.group(1)) + 1 if on_page else (1 if zero_based else 2)
                pages = range(following, following + 1) if following <= count else range(0)
            for k in pages:
                urls.append(join_url(base_url, f"{prefix}{k}{suffix}"))
    this_page = canonical_url(base_url)
    return [u for u in dict.fromkeys(urls) if canonical_url(u) != this_page]


def _js_count(html: str, rule: dict, rules: PagerRules) -> int | None:
    """A script pager's page count: its count variable, else 共N页 (and the like) in the page's text."""
    match = rule["count"].search(html)
    if match:
        return int(match.group("count"))
    text = _TAGS.sub(" ", html)
    for pattern in rules.count_patterns:
        match = pattern.search(text)
        if match:
            return int(match.group("count"))
    return None


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


_DATASTORE = re.compile(r"<datastore>(.*?)</datastore>", re.S | re.I)
_NEXTGROUP = re.compile(r"<nextgroup>\s*(?:<!\[CDATA\[)?\s*<a[^>]*href\s*=\s*[\"']([^\"']+)", re.S | re.I)
_RECORD = re.compile(r"<record\b", re.I)


def _jpage_number(html: str, rules: PagerRules, key: str) -> int | None:
    match = rules.jpage[key].search(html)
    return int(match.group("n")) if match else None


def jpage_group_mode(html: str, rules: PagerRules | None = None) -> bool:
    """A Hanweb jpage column that holds a whole group of pages in its datastore (more records than one
    page): its other pages exist only behind the data proxy, `?pageNum=N` returns the same records."""
    rules = rules or load_pager_rules()
    store = _DATASTORE.search(html)
    if not store:
        return False
    per_page = _jpage_number(html, rules, "per_page") or rules.jpage["default_per_page"]
    return len(_RECORD.findall(store.group(1))) > per_page


def jpage_requests(html: str, base_url: str, rules: PagerRules | None = None) -> list[PostRequest]:
    """The POSTs to Hanweb's data proxy that return the records after the datastore's first group."""
    rules = rules or load_pager_rules()
    if not jpage_group_mode(html, rules):
        return []
    store = _DATASTORE.search(html)
    nextgroup = _NEXTGROUP.search(store.group(1)) if store else None
    total = _jpage_number(html, rules, "total")
    if not nextgroup or total is None:
        return []
    per_page = _jpage_number(html, rules, "per_page") or rules.jpage["default_per_page"]
    group = per_page * (_jpage_number(html, rules, "group_size") or rules.jpage["default_group_size"])
    fields = dict(parse_qsl(urlsplit(nextgroup.group(1).replace("&amp;", "&")).query, keep_blank_values=True))
    form = tuple((name, fields.get(name, "1" if name == "col" else "")) for name in rules.jpage["form_fields"]
                 if name in fields or name == "col")  # col=1: the proxy's default "column list" mode
    proxy = urljoin(base_url, rules.jpage["proxy_path"])
    first = len(_RECORD.findall(store.group(1)))
    posts = []
    for start in range(first + 1, min(total, MAX_PAGES_NAMED * per_page) + 1, group):
        end = min(start + group - 1, total)
        posts.append(PostRequest(f"{proxy}?startrecord={start}&endrecord={end}&perpage={per_page}", form))
    return posts


def parse_jpage_records(body: str, base_url: str) -> list[Link]:
    """Article links of a jpage data-proxy answer (<datastore><recordset><record> CDATA)."""
    links = []
    for href, text, context in _record_links(body):
        if is_request_href(href):
            links.append(Link(canonical_url(join_url(base_url, href)), text, bool(_DATE_TEXT.search(context))))
    return links


# --- article pages: continuation pages and attachments --------------------------------------------

# Files an article announces as attachments (附件, 相关附件, file links in the body). WPS/ET are the WPS
# Office (金山) formats many county offices publish in; OFD is China's fixed-layout standard (GB/T 33190).
ATTACHMENT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "ofd", "zip")
_ATTACHMENT_PATH = re.compile(r"\.(" + "|".join(ATTACHMENT_EXTENSIONS) + r")$", re.I)
# download endpoints that name the file in the query (Hanweb downfile.jsp?filename=…pdf, ?file=, ?fileName=)
_ATTACHMENT_QUERY = re.compile(r"(?:^|&)(?:file|filename|fname|name|path)=[^&]*\.(" + "|".join(ATTACHMENT_EXTENSIONS)
                               + r")(?:&|$)", re.I)


# What an attachment link always spells in the page's bytes, whatever the encoding (ASCII): ".pdf",
# ".docx" … not followed by a letter or digit (so "window.document" is not one).
_ATTACHMENT_BYTES = re.compile(rb"\.(?:" + "|".join(ATTACHMENT_EXTENSIONS).encode() + rb")(?![A-Za-z0-9])", re.I)


def _wide(body: bytes) -> bool:
    """UTF-16/32: ASCII is not ASCII bytes there, so nothing can be ruled out on the bytes."""
    return body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:1024]


def may_link_attachments(body: bytes) -> bool:
    """Whether an article page's bytes can hold an attachment link: one always spells ".pdf", ".docx" …
    (ATTACHMENT_EXTENSIONS), in the path or in a download endpoint's query. With may_have_parts, the
    gate that lets the crawl skip decoding and parsing most article pages in the reactor (on real-dev's
    pages: 3.2 -> 0.25 ms of the reactor's time a page, the same attachments and parts found;
    bench/article_page_bench.py)."""
    return _wide(body) or bool(_ATTACHMENT_BYTES.search(body))


def may_have_parts(body: bytes, url: str) -> bool:
    """Whether an article page's bytes can name a continuation page of it (article_parts finds them
    through the pager rules): every way they can be named spells the page's file name (t20240501_9 of
    …/t20240501_9.html, raw or percent-decoded, any case) followed by "_N." (a link to
    t20240501_9_1.html), or by "_" and a quote (a script's prefix: "t20240501_9_" + n + ".html", written
    out or escaped inside document.write), or quoted as a createPageHTML(…) argument (TRS:
    createPageHTML(3, 0, "t20240501_9", "html")). The name alone says nothing: pages very often hold it
    (a canonical or share link, the guideline's Url meta, a form's action, a comment widget's document
    id: 177 of real-dev's 324 pages). A script pager added to crawler/rules/pagers.yml (js_pagers) that
    spells the name another way must be added here too (tests/test_pagers.py). A name that is not ASCII
    cannot be looked for in bytes of an unknown encoding: True.

    Only the bytes next to each occurrence of the name are looked at (found with bytes.find, in C), with
    fixed patterns: one built per page's name and searched over a whole 45 KB page, case-insensitive,
    cost ~0.5 ms, and compiling it ~0.1 ms (each article has its own name)."""
    if _wide(body):
        return True
    stem = urlsplit(url).path.rpartition("/")[2].rpartition(".")[0]
    if not stem:  # no file name: no continuation page
        return False
    names = {stem, unquote(stem)}
    if not all(name.isascii() for name in names):
        return True
    lowered = body.lower()
    for name in {name.lower().encode() for name in names}:
        at = lowered.find(name)
        while at != -1:
            end = at + len(name)
            if _PART_AFTER_NAME.match(body, end) or (
                    body[end:end + 1] in (b'"', b"'") and _PAGER_CALL_BEFORE.search(body, max(0, at - 230), at)):
                return True
            at = lowered.find(name, at + 1)
    return False


# after the page's file name: "_N." (a link to a continuation page) or "_" and a quote (a script's prefix)
_PART_AFTER_NAME = re.compile(rb"_\d{1,3}\.|_\\?[\"']")
# before it: an open createPageHTML( call and the argument's opening quote, the name being the argument
_PAGER_CALL_BEFORE = re.compile(rb"createPageHTML\s*\([^)]{0,200}?[\"']\Z", re.I)


def article_page_links(body: bytes, url: str, decode: Callable[[], str | None], *,
                       first_page: bool) -> tuple[list[Link], list[str]]:
    """(attachment links, continuation pages) of an article page, the spider's reading of one: the
    page is decoded (`decode()`, None when it is not HTML) and parsed once, and only when its bytes
    allow either (may_link_attachments, may_have_parts); each is looked for only where they allow it.
    Continuation pages only from an article's first page."""
    attachments = may_link_attachments(body)
    parts_possible = first_page and may_have_parts(body, url)
    html = decode() if attachments or parts_possible else None
    doc = parse_html(html) if html is not None else None
    if doc is None:
        return [], []
    return (attachment_links(doc, url) if attachments else [],
            article_parts(html, url, doc) if parts_possible else [])


def attachment_links(html: str | lxml.html.HtmlElement, base_url: str) -> list[Link]:
    """Links of an article page to attachment files, canonical, with the text the page gives them.
    `html`: the page's text, or its parsed tree (parse_html) when the caller has one already."""
    doc = parse_html(html) if isinstance(html, str) else html
    if doc is None:
        return []
    base_url = page_base(doc, base_url)
    found: dict[str, Link] = {}
    for anchor, url in _linked(doc, base_url, ("a",)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        if _ATTACHMENT_PATH.search(parts.path) or _ATTACHMENT_QUERY.search(parts.query):
            text = " ".join(anchor.text_content().split()) or anchor.get("title") or parts.path.rsplit("/", 1)[-1]
            found.setdefault(url, Link(url, text[:300]))
    return list(found.values())


def article_parts(html: str, url: str, doc: lxml.html.HtmlElement | None = None) -> list[str]:
    """The continuation pages of an article split over several pages (TRS/most CMS: t…_1.html,
    t…_2.html next to t….html, linked by 下一页 / 1 2 3 / 共N页 inside the article), in order.
    `doc`: the page already parsed (parse_html(html)), so an article page is parsed once. The pager
    search is the costliest step of reading an article page: the crawl asks may_have_parts first."""
    doc = parse_html(html) if doc is None else doc
    if doc is None:
        return []
    page_url = canonical_url(url)
    pager = find_pager(doc, html, page_base(doc, url), page_url)
    base = urlsplit(page_url)
    stem, dot, ext = base.path.rpartition(".")
    if not dot:
        return []
    part = re.compile(re.escape(stem) + r"_(\d{1,3})\." + re.escape(ext) + "$")
    numbered = {}
    for candidate in [*pager.pages, *([pager.next_page] if pager.next_page else [])]:
        parts = urlsplit(candidate)
        match = part.match(parts.path)
        if match and parts.netloc == base.netloc:
            numbered[int(match.group(1))] = candidate
    return [numbered[n] for n in sorted(numbered)]


# --- sitemaps and feeds -------------------------------------------------------------------------


_ROBOTS_SITEMAP = re.compile(rb"^\s*sitemap\s*:\s*(\S+)", re.I | re.M)


def sitemaps_in_robots(body: bytes, robots_url: str) -> list[str]:
    """The `Sitemap:` URLs a robots.txt announces (absolute, canonical, http(s) only)."""
    urls = []
    for match in _ROBOTS_SITEMAP.finditer(body[:500_000]):
        url = canonical_url(urljoin(robots_url, match.group(1).decode("utf-8", "replace")))
        if urlsplit(url).scheme in ("http", "https") and url not in urls:
            urls.append(url)
    return urls


def sitemap_body(body: bytes, max_size: int) -> bytes:
    """A sitemap's XML: `.xml.gz` files arrive as gzip bytes (no Content-Encoding), inflated here with
    Scrapy's bounded gunzip, so a gzip bomb stops at max_size."""
    if body[:2] == b"\x1f\x8b":
        from scrapy.utils.gz import gunzip

        return gunzip(body, max_size=max_size)
    return body


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
