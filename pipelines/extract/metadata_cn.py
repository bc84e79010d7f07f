"""Metadata a journalist cites, read from a Chinese article page: headline, publication date (and
where it came from), originating organisation (来源), author and editor.

Everything is read from the parsed page BEFORE cleaning removes the info line under the headline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import lxml.html
from lxml import etree

from pipelines.chinese import has_cjk, simplified_line
from pipelines.extract.clean_dom import BLOCK_TAGS, iter_leaf_blocks
from pipelines.extract.clean_rules import normalise_line
from pipelines.extract.grid import Grid

_NORM_TITLE = re.compile(r"[\s\u3000\xa0:：,，.。!！?？\"“”'‘’《》【】\[\]()（）_—\-|｜·•]+")
# separators between a headline and the site name in <title>; "——" (a dash pair) is headline
# punctuation in Chinese and is not a separator
_TITLE_SEP = re.compile(r"\s*(?:_+|\|+|｜|(?<!—)—(?!—)|–|::|»)\s*|\s+-+\s+|(?<=[^\d\s])-(?=[^\d\s])")

_CN_NUM = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9, "十": 10}
_DATE_PATTERNS = [
    # 2022年02月21日 / 2022-02-21 / 2022/2/21 / 2022.02.21 (also with spaces around separators)
    re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})(?!\d)\s*日?"),
    # 20220221 in an ISO-ish stamp (meta values like 20220221 or 2022-02-21T...)
    re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)"),
]
# 9/17/2004 5:54:13 AM: month-first stamps of English-locale servers, taken only when unambiguous
# (the day is above 12); 7/5/2005 may be either and is left alone
_DATE_MDY = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?![\d/])")
_CN_DIGIT = "〇○零一二三四五六七八九"
_CN_SMALL = "一二三四五六七八九十"
_DATE_CN_NUMERALS = re.compile(rf"([{_CN_DIGIT}]{{4}})年([{_CN_SMALL}]{{1,3}})月([{_CN_SMALL}]{{1,3}})日")
# Labels are written in simplified characters only: lines are matched through simplified_line (same
# length, so a match's offsets cut the value from the original line, in its own script).
_DATE_LABEL = re.compile(r"(发布时间|发布日期|发表时间|发文日期|成文日期|日期|时间|发表于|posted|published|date)",
                         re.IGNORECASE)
# a date labelled as the publication date; "更新时间", "成文日期", "生效日期" … name other dates
_PUBLISHED_LABEL = re.compile(r"(发布日期|发布时间|发表时间|发表日期|发表于|发布于|公开日期|上线时间|published|posted)"
                              r"\s*[:：]?", re.IGNORECASE)
# a label of another date, right before it ("更新时间：", "截止日期 ", "有效期至"): within one word, so a
# word further back ("手机访问 外汇网 2011年12月15日") does not veto the page's own date
_OTHER_DATE_LABEL = re.compile(r"(更新|修改|修订|成文|发文日期|生效|废止|截止|有效期|印发|打印|访问|浏览|报名|开始|"
                               r"结束|举办|活动)[^:：\d\s]{0,4}\s*[:：]?\s*$")
# a posting byline: "X于2005年8月12日16:12在…发表"
_POSTED = re.compile(r"于\s*((?:19|20)\d{2}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2})[^。]{0,40}?(?:发表|发布)")
# "previous / next article" links of a CMS (上一篇 / 下一篇, 上一条 / 下一条, 前一篇 / 后一篇; not 上一页, a
# pager): on a page that shows no date of its own, the dates these links carry say when it was posted
_NEIGHBOUR_LINK = re.compile(r"^(?:上|下|前|后)一(?:篇|条|则)")

_URL_DATES = [
    re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_\d+"),                 # TRS CMS: /t20220221_123.html
    re.compile(r"/((?:19|20)\d{2})[-_/]?(\d{2})[-_/]?(\d{2})/"),        # /2022/02/21/ or /20220221/
    re.compile(r"/((?:19|20)\d{2})-(\d{1,2})-(\d{1,2})[/_]"),
    re.compile(r"[/_]((?:19|20)\d{2})(\d{2})(\d{2})[_/.\-]\w"),         # /20220221_news, /art_20220221.
]
_URL_MONTH_DAY = re.compile(r"/((?:19|20)\d{2})[-_]?(\d{2})/(\d{2})/")  # /2022-02/21/, /202202/21/

_SOURCE = re.compile(
    r"(?:信息来源|文章来源|稿件来源|新闻来源|来源|稿源)\s*[:：丨｜|]\s*"
    r"([^\s|｜:：。，,]{2,40})")
# a name after a label and a colon/slash ("作者：", "文/"), or after 记者 and a space ("记者 张三")
_AUTHOR = re.compile(r"(?:(?:作者|撰稿人|撰稿|通讯员|记者)\s*[:：/]|文\s*[/／]|记者\s)\s*"
                     r"([^\s|｜:：,，;；()（）。]{2,20})")
_EDITOR = re.compile(r"(?:责任编辑|责编|编辑)\s*[:：]\s*([^\s|｜:：,，;；()（）。]{2,20})")
_CONTRIB = re.compile(r"^[（(]\s*(\S{2,30}?)\s*(?:供稿|来稿|提供)\s*[)）]$")
_LABEL_TAIL = re.compile(r"(发布时间|发布日期|时间|日期|作者|记者|编辑|浏览|点击|阅读|字体|【|\[).*$")
_META_DATE_NAMES = ("PubDate", "pubdate", "publishdate", "PublishDate", "article:published_time",
                    "og:release_date", "og:published_time", "published_time", "firstpublishedtime",
                    "publish_time", "publishtime", "release_date", "dc.date", "DC.date.issued", "date",
                    "sailthru.date", "weibo: article:create_at")


def norm_title(s: str | None) -> str:
    return _NORM_TITLE.sub("", s or "")


def valid_date(y: str | int, m: str | int, d: str | int) -> str | None:
    try:
        value = date(int(y), int(m), int(d))
    except ValueError:
        return None
    if not (1990 <= value.year <= 2035):
        return None
    return value.isoformat()


def _cn_number(s: str) -> int:
    if len(s) == 4:  # year digit by digit: 二〇二二
        return int("".join(str(_CN_NUM[c]) for c in s))
    if "十" in s:  # 十, 十二, 二十, 二十一
        head, _, tail = s.partition("十")
        return (_CN_NUM[head] if head else 1) * 10 + (_CN_NUM[tail] if tail else 0)
    return _CN_NUM[s]


def parse_date(text: str | None) -> str | None:
    """First valid calendar date in the text, as YYYY-MM-DD (Chinese and numeric formats)."""
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if iso := valid_date(*m.groups()):
                return iso
    if m := _DATE_CN_NUMERALS.search(text):
        try:
            return valid_date(*(_cn_number(g) for g in m.groups()))
        except KeyError:
            return None
    for m in _DATE_MDY.finditer(text):
        month, day, year = (int(g) for g in m.groups())
        if day > 12 >= month and (iso := valid_date(year, month, day)):
            return iso
    return None


def _cut(match: re.Match[str], line: str) -> str:
    """A match's first group, cut from the original line (the match was made on simplified_line(line),
    which has the same length): the value keeps the page's own script."""
    return line[match.start(1):match.end(1)]


def published_in_line(text: str) -> str | None:
    """The date a line gives as the publication date: the one after a 发布日期/发布时间 label; with no
    such label, the first date unless it is labelled as another date (更新时间, 成文日期, 生效日期 …)."""
    key = simplified_line(text)
    for m in _PUBLISHED_LABEL.finditer(key):
        if iso := parse_date(text[m.end():m.end() + 40]):
            return iso
    for pattern in _DATE_PATTERNS:
        if m := pattern.search(text):
            if _OTHER_DATE_LABEL.search(key[max(0, m.start() - 12):m.start()]):
                return None
            return valid_date(*m.groups())
    return parse_date(text)


_FILE_SUFFIX = re.compile(r"\s*[.．](docx?|pdf|wps|xlsx?|pptx?|txt|rtf|ofd|caj)\s*$", re.IGNORECASE)


# Private-use code points: a GBK/Big5 page's user-defined bytes (e.g. AA A5) decode to them; no font shows
# them as the character the author typed, and a journalist cannot quote them.
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def clean_title(title: str | None) -> tuple[str | None, str | None]:
    """(headline, what was removed): document-sharing sites show a document's file name as its
    title ("某某实施方案.docx"); the extension is not part of the headline. Private-use characters go."""
    if title and _PRIVATE_USE.search(title):
        title = normalise_line(_PRIVATE_USE.sub("", title)) or None
    if not title:
        return title, None
    m = _FILE_SUFFIX.search(title)
    if m and m.start() > 0:
        return title[:m.start()].strip(), m.group(0).strip()
    return title, None


# Document-sharing sites (文库, 文档 and 范文 sites) dress a document's title: its place in a compilation
# they assembled ("第一篇：…", "第2篇:") and promotion tags in brackets at either end ("[精选]", "【精品】",
# "（最新版）", "(通用5篇)", "【word版可编辑】"). Neither is the document's headline. Only a bracketed tag
# made of this vocabulary, at an end of the title, goes: a bracket that says what the document is
# ("（征求意见稿）", "（全文）", "（2024年第3号）") stays.
_FARM_TAG_WORDS = ("精选|精品|精编|精华|推荐|热门|热荐|最新|最新版|完整版|全新|优秀|优质|范文|范本|模板|汇编|合集|大全|"
                   "word版|word|doc|docx|可编辑|原创|必备|收藏|整理版|通用|荐")
_FARM_TAG = (rf"[\[【(（]\s*(?:(?:{_FARM_TAG_WORDS})\s*)+(?:\d+\s*篇)?\s*[\]】)）]"
             rf"|[\[【(（]\s*(?:{_FARM_TAG_WORDS})?\s*\d+\s*篇\s*[\]】)）]")  # one bracketed tag
_LEADING_TAG = re.compile(rf"\s*(?:{_FARM_TAG})\s*", re.IGNORECASE)
_TRAILING_TAG = re.compile(rf"\s*(?:{_FARM_TAG})\s*$", re.IGNORECASE)
_COMPILATION_PART = re.compile(r"\s*第\s*[一二三四五六七八九十\d]{1,3}\s*篇\s*[:：]\s*")


def strip_farm_decorations(title: str | None) -> tuple[str | None, list[str]]:
    """(headline, the decorations removed, in the order they stood): see _FARM_TAG. Matched on the
    Simplified form (a traditional-script title's 【精選】 too); the headline keeps the page's script.
    Nothing is removed when less than four CJK characters would be left."""
    if not title:
        return title, []
    folded = simplified_line(title)
    if len(folded) != len(title):  # OpenCC changed the length: positions would not carry over
        return title, []
    start, end, removed_head, removed_tail = 0, len(title), [], []
    while True:
        m = _COMPILATION_PART.match(folded, start) or _LEADING_TAG.match(folded, start)
        if not m or m.end() >= end:
            break
        removed_head.append(title[m.start():m.end()].strip())
        start = m.end()
    while True:
        m = _TRAILING_TAG.search(folded, start, end)
        if not m or m.start() <= start:
            break
        removed_tail.insert(0, title[m.start():m.end()].strip())
        end = m.start()
    headline = title[start:end].strip()
    if (not removed_head and not removed_tail) or not has_cjk(headline, 4):
        return title, []
    return headline, removed_head + removed_tail


def date_from_url(url: str | None) -> str | None:
    if not url:
        return None
    for pattern in (*_URL_DATES, _URL_MONTH_DAY):
        if (m := pattern.search(url)) and (iso := valid_date(*m.groups())):
            return iso
    return None


def meta_content(doc: etree._Element, *names: str) -> str | None:
    for name in names:
        for el in doc.iter("meta"):
            key = el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv")
            if key and key.lower() == name.lower():
                value = normalise_line(el.get("content") or "")
                if value:
                    return value
    return None


# class/id words of related-article boxes and recommendation cards, common to CMS and news templates.
# A word counts where a name part starts or ends with it (hotnews, news_hot, rdHot, xgwzList), not
# inside one: "hot" is in "photo" (LeftPhoto, article-photo: the article's own picture box).
_CARD_WORD_LIST = (r"recommend|related|relate|tuijian|xgwz|xgxx|xiangguan|hot|rank|card|sidebar|aside|"
                   r"news-?list|more|guess|feed")
_CARD_WORDS = re.compile(rf"(?:^|[^a-z])(?:{_CARD_WORD_LIST})|(?:{_CARD_WORD_LIST})(?:$|[^a-z])")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")


@lru_cache(maxsize=4096)  # asked for every element's parent; a template repeats its class names
def card_like(class_and_id: str) -> bool:
    """Whether a class/id string names a related-article box or recommendation card (_CARD_WORDS)."""
    return bool(class_and_id) and _CARD_WORDS.search(_CAMEL_BOUNDARY.sub("-", class_and_id).lower()) is not None


_LIST_TAGS = frozenset({"a", "li", "ul", "ol", "nav", "footer", "aside"})


def list_or_link_elements(doc: etree._Element) -> set[etree._Element]:
    """Elements inside links, list items or recommendation cards (one pass over the tree): their dates
    belong to other articles, never to this one."""
    inside: set[etree._Element] = set()
    for el in doc.iter(tag=etree.Element):
        parent = el.getparent()
        if parent is not None and (parent in inside or parent.tag in _LIST_TAGS or card_like(
                f"{parent.get('class') or ''} {parent.get('id') or ''}")):
            inside.add(el)
        elif el.tag in ("a", "li"):
            inside.add(el)
    return inside


def strip_site_suffix(title: str) -> str:
    """Headline from a <title>/og:title: drop the site-name segments after a separator."""
    title = normalise_line(title)
    parts = [p for p in _TITLE_SEP.split(title) if p and p.strip()]
    if len(parts) <= 1:
        return title
    first = parts[0].strip()
    if has_cjk(first, 4) or len(first) >= 12:
        return first
    return max(parts, key=len).strip()


@dataclass
class PageMeta:
    title: str | None = None
    title_source: str | None = None
    title_el: etree._Element | None = None
    published: str | None = None
    published_source: str | None = None
    posted_near: str | None = None  # the latest date of the neighbour links (上一篇 / 下一篇), no own date
    source_org: str | None = None
    author: str | None = None
    editor: str | None = None
    source_org_source: str | None = None
    doc_number: str | None = None
    index_no: str | None = None
    issuing_org: str | None = None
    written_date: str | None = None
    original_title: str | None = None
    title_suffix_removed: str | None = None
    title_decorations_removed: list[str] | None = None  # a document site's 第一篇： and [精选] (strip_farm_decorations)


_ORIGINAL_TITLE = re.compile(r"^[【\[(（]?\s*(?:原标题|原题)\s*[:：]\s*(.{4,120}?)[】\])）]?$")


def find_title(doc: lxml.html.HtmlElement, blocks: list[etree._Element]) -> tuple[str | None, str | None,
                                                                                   etree._Element | None]:
    """(headline, where it came from, the headline's element in the page if found)."""
    title_tag = normalise_line(doc.findtext(".//title") or "")
    tnorm = norm_title(title_tag)
    first_seg = norm_title(strip_site_suffix(title_tag)) if title_tag else ""

    # the headline element: a short block (h1..h3 first) whose text is contained in <title>
    best: tuple[int, etree._Element, str] | None = None
    headings = [el for el in doc.iter("h1", "h2", "h3") if el.getparent() is not None]
    for el in [*headings, *blocks]:
        text = normalise_line(el.text_content())
        n = norm_title(text)
        if not (4 <= len(n) <= 120) or el.tag == "title":
            continue
        score = 0
        if tnorm and n in tnorm:
            score = len(n) * 2 + (6 if el.tag == "h1" else 3 if el.tag in ("h2", "h3") else 0)
        elif first_seg and len(first_seg) >= 6 and n.startswith(first_seg):
            score = len(first_seg) * 2
        if score and (best is None or score > best[0]):
            best = (score, el, text)
    cms = meta_content(doc, "ArticleTitle")
    if cms:
        el = best[1] if best and norm_title(best[2]) == norm_title(cms) else None
        return cms, "meta:ArticleTitle", el
    # the element must be more than the site name: at least the <title>'s first segment
    if best and len(norm_title(best[2])) >= min(len(first_seg), 8):
        return best[2], "heading", best[1]
    og = meta_content(doc, "og:title", "twitter:title")
    if og:
        return strip_site_suffix(og), "meta:og:title", None
    if title_tag:
        return strip_site_suffix(title_tag), "title", None
    # a page's only <h1> is its headline; several (导航, 公告, 统计 …) are the template's box headings
    h1s = list(doc.iter("h1"))
    if len(h1s) == 1 and len(text := normalise_line(h1s[0].text_content())) >= 4:
        return text, "h1", h1s[0]
    found = _title_before_text(blocks)
    return found if found[0] else _title_above_info_line(blocks)


def prose_line(text: str) -> bool:
    """A line of an article's prose, where the headline rules stop looking: long, with a full stop."""
    return len(text) >= 40 and "。" in text


def _title_before_text(blocks: list[etree._Element]) -> tuple[str | None, str | None, etree._Element | None]:
    """Pages with no <title> and no <h1> (old hand-made pages, blogs): the short line just above the
    first paragraph of prose, when it reads like a headline (no full stop, no date, no rule's line)."""
    texts = [normalise_line(b.text_content()) for b in blocks]
    first = next((i for i, t in enumerate(texts) if prose_line(t)), None)
    if first is None:
        return None, None, None
    for i in range(first - 1, max(-1, first - 4), -1):
        text = texts[i]
        if not text or blocks[i].tag == "li":
            continue
        if headline_like(text):
            return text, "line-before-text", blocks[i]
        break
    return None, None, None


def headline_like(text: str) -> bool:
    """A short line that reads like a headline: no full stop, no trailing comma or colon, no date, no line
    a cleaning rule knows (chrome, spam)."""
    from pipelines.extract.clean_rules import match_rule

    return (4 <= len(text) <= 60 and "。" not in text and not text.endswith((":", "：", "，", ",", "、", "；"))
            and parse_date(text) is None and match_rule(text) is None)


BREADCRUMB = re.compile(r">>|»|首页|当前位置")


def _title_above_info_line(blocks: list[etree._Element]) -> tuple[str | None, str | None, etree._Element | None]:
    """Pages with no <title> and no <h1> whose text starts with a lead-in line (本报讯 …，): the short line
    just above the info line, i.e. the first short dated block before the prose (headline, then date
    and 来源, then the text, as news pages are laid out)."""
    texts = [normalise_line(b.text_content()) for b in blocks]
    first = next((i for i, t in enumerate(texts) if prose_line(t)), None)
    info = next((k for k in range(first or 0) if texts[k] and len(texts[k]) <= 60 and "。" not in texts[k]
                 and parse_date(texts[k])), None)
    if info is None:
        return None, None, None
    above = next((j for j in range(info - 1, -1, -1) if texts[j]), None)  # the nearest non-empty block
    if above is not None and blocks[above].tag != "li" and headline_like(texts[above]) \
            and not BREADCRUMB.search(texts[above]):
        return texts[above], "line-above-info", blocks[above]
    return None, None, None


def _info_blocks(blocks: list[etree._Element], title_el: etree._Element | None,
                 listy: set[etree._Element]) -> list[etree._Element]:
    """The blocks around the headline where the info line (date, 来源, author) lives: the two
    before and the eight after it, skipping links and list items, except short list items without a
    link: templates write the info line as a list too (<ul><li>发布时间：…</li><li>来源：…</li></ul>)."""
    if title_el is None:
        return []
    try:
        idx = blocks.index(title_el)
    except ValueError:
        # the headline holds other blocks (e.g. a <td> with a <div>): use its first leaf block
        inner = [b for b in title_el.iter() if b in set(blocks)]
        if not inner:
            following = [b for b in blocks if _is_after(b, title_el)]
            idx = blocks.index(following[0]) - 1 if following else len(blocks)
        else:
            idx = blocks.index(inner[-1])
    # the info line sits between the headline and the first paragraph: stop at the first block
    # that reads like prose, so a date mentioned in the article is never taken for its date
    after = []
    for b in blocks[idx + 1:idx + 9]:
        text = normalise_line(b.text_content())
        if "。" in text or len(text) > 100:
            break
        after.append(b)
    around = blocks[max(0, idx - 2):idx] + after
    return [b for b in around if b not in listy or _info_item(b)]


def _info_item(block: etree._Element) -> bool:
    """A list item of an info line: short, no link (a related-article list item links its article)."""
    return block.tag == "li" and block.find(".//a") is None and len(normalise_line(block.text_content())) <= 40


def _is_after(a: etree._Element, b: etree._Element) -> bool:
    return a.sourceline is not None and b.sourceline is not None and a.sourceline > b.sourceline


def _clean_org(value: str) -> str | None:
    if tail := _LABEL_TAIL.search(simplified_line(value)):
        value = value[:tail.start()]
    value = value.strip(" ：:，,。;；|")
    if not value or len(value) < 2 or parse_date(value) or value.isdigit() or value.lower().startswith("http"):
        return None
    return value


def neighbour_date(doc: lxml.html.HtmlElement) -> str | None:
    """The latest date the page's previous / next article links carry ("上一篇 2022年9月17日", or the
    label, the link and a date in one short item): a page without a date of its own was posted about
    then. Not a publication date (the page does not state one): facts use it only to give a year to
    "M月D日" (pipelines.facts)."""
    dates = []
    # An item's text once per item: links that share one (a sitemap's 5,000 links in one <div>) would
    # otherwise each read the whole of it again, quadratic in the links (200 KB of them took 6 s).
    item_texts: dict[etree._Element, str] = {}
    for link in doc.iter("a"):
        item = link.getparent() if link.getparent() is not None else link
        if item not in item_texts:
            item_texts[item] = normalise_line(item.text_content())
        for text in (normalise_line(link.text_content()), item_texts[item]):
            if len(text) <= 120 and _NEIGHBOUR_LINK.match(simplified_line(text)):
                if iso := parse_date(text):
                    dates.append(iso)
                break
    return max(dates) if dates else None


def extract_meta(doc: lxml.html.HtmlElement, url: str, blocks: list[etree._Element] | None = None,
                 grid: Grid | None = None) -> PageMeta:
    """Read the metadata of one page (the tree is not modified). `grid`: the page's 政务公开 grid
    (pipelines.extract.grid.find_grid), whose fields come first."""
    if blocks is None:
        blocks = list(iter_leaf_blocks(doc))
    meta = PageMeta()
    meta.title, meta.title_source, meta.title_el = find_title(doc, blocks)
    meta.title, meta.title_suffix_removed = clean_title(meta.title)
    meta.title, meta.title_decorations_removed = strip_farm_decorations(meta.title)
    listy = list_or_link_elements(doc)
    info = _info_blocks(blocks, meta.title_el, listy)
    info_texts = [normalise_line(b.text_content()) for b in info]
    info_texts = [t for t in info_texts if t and len(t) <= 160]
    grid_fields = grid.fields if grid else {}
    if grid_fields:
        meta.doc_number = grid_fields.get("doc_number")
        meta.index_no = grid_fields.get("index_no")
        meta.issuing_org = _clean_org(grid_fields["issuing_org"]) if grid_fields.get("issuing_org") else None
        meta.written_date = parse_date(grid_fields.get("written_date"))

    # --- published: a date labelled 发布日期 / 发布时间 (grid, info line), CMS meta, the info line
    # under the headline, the URL, then a publication-labelled date anywhere outside lists, links and
    # recommendation cards, then an unlabelled date before the article's first paragraph. Never
    # 成文日期 (the signing date), 更新时间 or a date of another article.
    if iso := parse_date(grid_fields.get("published")):
        meta.published, meta.published_source = iso, "grid:发布日期"
    if meta.published is None:
        for text in info_texts:
            m = _PUBLISHED_LABEL.search(simplified_line(text))
            if m and (iso := parse_date(text[m.end():m.end() + 40])):
                meta.published, meta.published_source = iso, "info-line:label"
                break
    if meta.published is None:
        for name in _META_DATE_NAMES:
            value = meta_content(doc, name)
            if value and (iso := parse_date(value)):
                meta.published, meta.published_source = iso, f"meta:{name}"
                break
    if meta.published is None:
        for text in info_texts:
            if iso := published_in_line(text):
                meta.published, meta.published_source = iso, "info-line"
                break
    if meta.published is None and (iso := date_from_url(url)):
        meta.published, meta.published_source = iso, "url"
    if meta.published is None:
        for b in blocks:
            text = normalise_line(b.text_content())
            if len(text) > 80 or b in listy:
                continue
            key = simplified_line(text)
            if (posted := _POSTED.search(key)) and (iso := parse_date(_cut(posted, text))):
                meta.published, meta.published_source = iso, "byline"
                break
            m = _PUBLISHED_LABEL.search(key) or _DATE_LABEL.search(key)
            if m and not _OTHER_DATE_LABEL.search(key[max(0, m.start() - 6):m.end()]) \
                    and (iso := parse_date(text[m.end():m.end() + 40])):
                meta.published, meta.published_source = iso, "labelled-date"
                break
    if meta.published is None:
        # last resort (forums, old templates without a findable headline): the first short,
        # non-prose block carrying a date, before the first paragraph and outside lists and links
        for b in blocks:
            text = normalise_line(b.text_content())
            if len(text) > 40 and "。" in text:
                break  # the article began: a date below it belongs to a card or a list
            if len(text) > 60 or "。" in text or b in listy:
                continue
            if iso := published_in_line(text):
                meta.published, meta.published_source = iso, "page-date"
                break

    if meta.published is None:
        meta.posted_near = neighbour_date(doc)

    # --- 来源 / author / editor: the info line first, then short blocks anywhere, then CMS meta
    short_texts = info_texts + [t for b in blocks if b not in listy
                                for t in [normalise_line(b.text_content())] if t and len(t) <= 80]
    for i, text in enumerate(short_texts):
        key = simplified_line(text)
        if meta.source_org is None and (m := _SOURCE.search(key)):
            meta.source_org = _clean_org(_cut(m, text))
            if meta.source_org:
                meta.source_org_source = "info-line" if i < len(info_texts) else "text"
        if meta.author is None and (m := _AUTHOR.search(key)):
            meta.author = _clean_org(_cut(m, text))
        if meta.editor is None and (m := _EDITOR.search(key)):
            meta.editor = _clean_org(_cut(m, text))
        if meta.original_title is None and (m := _ORIGINAL_TITLE.match(key)):
            meta.original_title = _cut(m, text).strip()
    if meta.source_org is None and (value := meta_content(doc, "ContentSource", "source", "article:source")):
        meta.source_org, meta.source_org_source = value, "meta"
    if meta.source_org is None:
        for text in short_texts[-40:]:
            if m := _CONTRIB.match(simplified_line(text)):
                meta.source_org, meta.source_org_source = _cut(m, text), "contributor-note"
                break
    if meta.author is None:
        value = meta_content(doc, "author", "Author", "article:author")
        if value and not value.startswith("http") and len(value) <= 30:
            meta.author = value
    return meta


__all__ = ["BLOCK_TAGS", "PageMeta", "extract_meta", "parse_date", "published_in_line", "clean_title",
           "strip_farm_decorations",
           "date_from_url", "strip_site_suffix", "norm_title", "meta_content", "valid_date"]
