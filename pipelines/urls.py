"""URL identity and URL shapes: which URLs look like articles or list pages, and the canonical key.

Shared by discovery (crawler/) and by re-checking (a redirect to a list page is a deletion), so it lives
on the domain side; crawler.discovery imports it. The rules are general properties of Chinese government
CMS families (TRS WCM, Hanweb/大汉, VSB/博达, generic dated paths), not of any one site.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# --- URL shapes ---------------------------------------------------------------------------------

_ARTICLE_URL_PATTERNS = [
    re.compile(r"/t(19|20)\d{6}_\d+\.s?html?$", re.I),  # TRS WCM
    re.compile(r"/art/(19|20)\d{2}/\d{1,2}/\d{1,2}/art_\d+_\d+\.s?html?$", re.I),  # Hanweb
    # a date folder (/2023/0315/, /202303/, /2023-03-15/, /20230315/) followed by an id-like leaf
    re.compile(r"/(19|20)\d{2}[-/]?(0[1-9]|1[0-2])([-/]?\d{2})?/(?:[\w-]*?)\d+[\w-]*\.s?html?$", re.I),
    re.compile(r"/(content|detail|art|article|show|info|news|post|doc)[_-]?\d{3,}\.s?html?$", re.I),
    re.compile(r"/info/\d+/\d+\.s?html?$", re.I),  # VSB/博达 CMS: /info/1012/12345.htm
    re.compile(r"/[a-z]?\d{6,}(_\d+)?(\.s?html?)?$", re.I),  # long numeric ids: /a/560123456_121106832
    re.compile(r"[?&](articleid|article_id|contentid|infoid|newsid|docid|aid)=\w+", re.I),
]
_LIST_URL_PATTERNS = [
    re.compile(r"/(index|list|default|more)(_\d+)?\.s?html?$", re.I),
    re.compile(r"/col/col\d+/", re.I),  # Hanweb column
    re.compile(r"/$"),
    re.compile(r"/(node|column|channel|list)[_-]?\d+(_\d+)?\.s?html?$", re.I),
    re.compile(r"[?&](page|pagenum|pageno|pageindex|currpage|p)=\d+", re.I),
]
# Files that are never articles or lists (attachments are archived by a later feature, not here).
_NOT_HTML = re.compile(
    r"\.(jpe?g|png|gif|bmp|svg|webp|ico|css|js|json|pdf|docx?|xlsx?|pptx?|wps|zip|rar|7z|gz|tar|mp[34]|"
    r"avi|mov|flv|wmv|swf|exe|apk|txt|xml|rss)$",
    re.I,
)


# Cached: every link of every list page is asked, and a portal's navigation and footer (a hundred links
# and more, most of them to other sites) repeat on every page of it.
@functools.lru_cache(maxsize=32768)
def is_html_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and not _NOT_HTML.search(parts.path)


def _url_matches(url: str, override: re.Pattern[str] | None, patterns: list[re.Pattern[str]]) -> bool:
    """A source's own pattern (searched in the whole URL) replaces the built-in path+query rules."""
    if not is_html_url(url):
        return False
    if override is not None:
        return bool(override.search(url))
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    return any(p.search(target) for p in patterns)


@functools.lru_cache(maxsize=32768)  # as is_html_url: the same navigation links on every list page
def looks_like_article_url(url: str, pattern: re.Pattern[str] | None = None) -> bool:
    return _url_matches(url, pattern, _ARTICLE_URL_PATTERNS)


@functools.lru_cache(maxsize=32768)
def looks_like_list_url(url: str, pattern: re.Pattern[str] | None = None) -> bool:
    return _url_matches(url, pattern, _LIST_URL_PATTERNS)


# Pure and hot: every link of every page goes through it, and a site's navigation links repeat on
# all its pages (w3lib's canonicalize_url was ~8 % of a crawl's reactor time before this cache).
@functools.lru_cache(maxsize=32768)
def canonical_url(url: str) -> str:
    """The one key of a URL in every table (frontier, captures, articles, attachments, errors).

    w3lib's canonicalize_url (the function Scrapy's own fingerprints use, so it is kept in step with
    how Scrapy sees URLs): percent-encoding normalised (UTF-8, upper-case escapes; 新闻 and %e6%96%b0%e9%97%bb
    are one key), query parameters sorted, the fragment dropped, scheme and host lower-cased. On top of
    it, default ports are dropped. The query itself is kept: `?page=2` and `?page=3` stay distinct pages.
    """
    text = url.strip()
    if not text:
        return text
    try:
        canonical = canonicalize_url(text, keep_fragments=False)
    except ValueError:  # w3lib refuses a few malformed URLs (bad IPv6 literal …): keep the simple form
        canonical = text.split("#", 1)[0]
    parts = urlsplit(canonical)
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (parts.scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))



# A path made of ordinary segments: no '.' / '..' segment (a segment never starts with '.'), no empty
# one, no query, fragment, params, escape or scheme. Joined to a base, such a path needs none of
# urljoin's work (~15 µs a call), and a list page joins one per page its pager names (1,000 for a big
# column, on every page of it).
_SEGMENT = r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*"
_PLAIN_RELATIVE = re.compile(rf"(?:\./)?(?P<path>{_SEGMENT}(?:/{_SEGMENT})*)")
_PLAIN_ABSOLUTE = re.compile(rf"/{_SEGMENT}(?:/{_SEGMENT})*/?")


@functools.lru_cache(maxsize=256)
def _base_parts(base: str) -> tuple[str, str] | None:
    """(scheme://netloc, scheme://netloc/directory/ of the path) of a base URL whose path urljoin would
    leave as it is, else None (no scheme or host, an empty or '.' / '..' segment, params)."""
    parts = urlsplit(base)
    if not parts.scheme or not parts.netloc or ";" in parts.path:
        return None
    directory = parts.path[:parts.path.rfind("/") + 1] or "/"
    if "//" in directory or any(segment in (".", "..") for segment in directory.split("/")):
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin, origin + directory


def join_url(base: str, href: str) -> str:
    """urllib.parse.urljoin(base, href), the same string, faster for the links list pages are made of
    (a file name, ./name, dir/name, /dir/name, a link to another site); anything else goes to urljoin."""
    parts = _base_parts(base)
    if parts is not None:
        relative = _PLAIN_RELATIVE.fullmatch(href)
        if relative:
            return parts[1] + relative["path"]
        if _PLAIN_ABSOLUTE.fullmatch(href):
            return parts[0] + href
    if base and _NAMES_HOST.match(href):
        # a link naming its host: urljoin reads nothing of the base but its scheme
        return _join_with_host(_scheme_of(base), href)
    return urljoin(base, href)


_NAMES_HOST = re.compile(r"(?:https?:)?//[^/?#]", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _scheme_of(base: str) -> str:
    return urlsplit(base).scheme


@functools.lru_cache(maxsize=8192)
def _join_with_host(base_scheme: str, href: str) -> str:
    return urljoin(f"{base_scheme}://host/" if base_scheme else "//host/", href)


# --- Source types -------------------------------------------------------------------------------

SOURCE_TYPES = ("gov", "media", "repost")
# Hosts whose pages are mostly copies of other publishers' articles: portals' self-media channels,
# aggregators and document-sharing sites (the places a government text is reposted to).
_REPOST_HOSTS = re.compile(
    r"(^|\.)(sohu\.com|163\.com|qq\.com|toutiao\.com|baijiahao\.baidu\.com|sina\.com\.cn|sina\.cn|"
    r"ifeng\.com|wenku\.baidu\.com|360doc\.com|docin\.com|doc88\.com|book118\.com|zhihu\.com|"
    r"weixin\.qq\.com|jianshu\.com)$", re.I)


def infer_source_type(urls: list[str]) -> str:
    """The registry's default `source_type` for a source with these URLs: "gov" for government
    domains (*.gov.cn, the reserved second-level domain of Chinese government bodies), "repost" for
    portals and aggregators that mostly republish, else "media". A registry entry can always say."""
    hosts = [(urlsplit(u).hostname or "").lower() for u in urls if isinstance(u, str)]
    if any(h == "gov.cn" or h.endswith(".gov.cn") for h in hosts):
        return "gov"
    if hosts and all(_REPOST_HOSTS.search(h) for h in hosts):
        return "repost"
    return "media"
