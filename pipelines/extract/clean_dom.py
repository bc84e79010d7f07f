"""DOM cleaning before trafilatura: link lists, teaser lists, spam blocks and learned boilerplate.

trafilatura measures link density in words; Chinese has no spaces, so a list of 20 linked headlines
is "20 words" and survives. Here density is measured in characters (CJK characters and letters; digits
and punctuation, i.e. the dates next to linked titles, do not count as text), bottom-up, so a list is
removed without taking its container (and the article beside it) along.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html
from lxml import etree

from pipelines.extract.clean_rules import (
    fingerprint,
    is_code,
    is_disclaimer,
    is_keyword_stuffing,
    is_prose,
    match_rule,
    normalise_line,
)

# elements that break lines; a "leaf block" is one of these with no such element inside
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul", "br",
})
# containers that may hold a whole list of links
_LIST_CONTAINERS = frozenset({"ul", "ol", "dl", "div", "table", "tbody", "section", "nav", "aside",
                              "td", "tr", "p", "li", "header", "footer", "span", "dd", "center"})
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "select", "button", "textarea",
              "input", "object", "embed", "canvas", "map")
_EMPTY_STRIP = ("center", "font", "span", "b", "strong", "i", "em", "u", "small", "big", "a")
_ALPHA = re.compile(r"[^\W\d_]", re.UNICODE)


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def parse_html(html: str) -> lxml.html.HtmlElement | None:
    """Parse decoded HTML; None for pages lxml cannot make a tree of."""
    html = _XML_DECL.sub("", html, count=1)  # lxml refuses str input with an encoding declaration
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def alpha_len(text: str | None) -> int:
    """Characters that carry text (CJK characters and letters), not digits, punctuation or spaces."""
    return len(_ALPHA.findall(text)) if text else 0


def remove_element(el: etree._Element) -> None:
    """Remove an element but keep its tail text (which belongs to the parent's content)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail and tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def strip_junk(root: lxml.html.HtmlElement) -> None:
    """Scripts, styles, comments and form controls are never article text. Empty presentational
    elements go too: trafilatura drops the text that follows an empty <center></center> at the start
    of a paragraph (the text is the element's tail)."""
    etree.strip_elements(root, *_DROP_TAGS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    for el in list(root.iter(*_EMPTY_STRIP)):
        if len(el) == 0 and not (el.text and el.text.strip()) and el.getparent() is not None:
            remove_element(el)


def block_text(el: etree._Element) -> str:
    return normalise_line(el.text_content())


def iter_leaf_blocks(root: etree._Element) -> Iterator[etree._Element]:
    """Block elements that contain no other block element (a paragraph, a list item, a cell...)."""
    has_block: dict[etree._Element, bool] = {}
    for el in reversed(list(root.iter(tag=etree.Element))):
        inner = False
        for child in el:
            # <br> breaks lines but does not make its parent a container of blocks
            if has_block.get(child) or (isinstance(child.tag, str) and child.tag in BLOCK_TAGS
                                        and child.tag != "br"):
                inner = True
                break
        has_block[el] = inner
    for el in root.iter(tag=etree.Element):
        if el.tag in BLOCK_TAGS and el.tag != "br" and not has_block[el]:
            yield el


# containers whose loose text is no line of its own (a table's or a list's structure)
_STRUCTURE_TAGS = frozenset({"table", "tbody", "thead", "tfoot", "tr", "ul", "ol", "dl"})


def wrap_loose_lines(root: etree._Element) -> None:
    """Text and inline elements that sit between the block children of one container (`<td><h2>…</h2>
    <font>作者：…<br>2005年1月2日</font><p>…</p></td>`) become blocks of their own (a <div> each run), so a
    search over leaf blocks sees them; old hand-made pages write their date line that way. Modifies
    root in place: extraction calls it on a copy, for metadata only."""
    contains_block: dict[etree._Element, bool] = {}
    for el in reversed(list(root.iter(tag=etree.Element))):
        contains_block[el] = any(contains_block.get(child) or (isinstance(child.tag, str) and child.tag in BLOCK_TAGS
                                                               and child.tag != "br") for child in el)

    def is_block(child: etree._Element) -> bool:
        return isinstance(child.tag, str) and ((child.tag in BLOCK_TAGS and child.tag != "br")
                                                or contains_block.get(child, False))

    for el in [e for e, inner in contains_block.items() if inner]:
        if el.tag in _STRUCTURE_TAGS or el.tag not in BLOCK_TAGS:
            continue
        previous, lead, run = None, el.text, []
        for child in [*el, None]:
            if child is not None and not is_block(child):
                run.append(child)
                continue
            text = (lead or "") + "".join(etree.tostring(x, method="text", encoding="unicode") or "" for x in run)
            if text.strip():
                wrapper = el.makeelement("div", {})
                wrapper.text = lead
                for x in run:
                    wrapper.append(x)  # moves it, with its tail
                if previous is None:
                    el.text = None
                    el.insert(0, wrapper)
                else:
                    previous.tail = None
                    previous.addnext(wrapper)
            if child is not None:
                previous, lead, run = child, child.tail, []


def page_lines(root: etree._Element) -> list[str]:
    """The page's visible text split into lines (leaf blocks, <br> breaks): the unit for per-site
    boilerplate learning."""
    lines: list[str] = []
    for el in iter_leaf_blocks(root):
        parts = text_with_breaks(el).split("\n") if el.find(".//br") is not None else [block_text(el)]
        lines.extend(p for p in (normalise_line(x) for x in parts) if p)
    return lines


def text_with_breaks(el: etree._Element) -> str:
    """The element's text with a newline for every <br> (inline elements do not break lines)."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.tag == "br":
            parts.append("\n")
        elif node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str):
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts)


_BR_CONTAINERS = ("div", "td", "th", "section", "article", "main", "center", "blockquote", "dd", "font",
                  "span", "body")
_MIN_LOOSE_TEXT = 20  # characters of loose text that make a container worth splitting


def _loose_text_len(el: etree._Element) -> int:
    n = alpha_len(el.text)
    for child in el:
        n += alpha_len(child.tail)
    return n


def _has_loose_content(el: etree._Element) -> bool:
    """Text or inline elements with text directly in `el`, beside its block children."""
    if _loose_text_len(el):
        return True
    return any(isinstance(c.tag, str) and c.tag not in BLOCK_TAGS and alpha_len(c.text_content())
               for c in el)


def _add_text(runs: list, current: list | None, text: str | None) -> list | None:
    """Append loose text to the current run (or start one); returns the current run."""
    if not text:
        return current
    if current is None:
        current = [text, []]
        runs.append(current)
    elif current[1]:
        last = current[1][-1]
        last.tail = (last.tail or "") + text
    else:
        current[0] += text
    return current


def paragraphs_from_breaks(root: etree._Element) -> int:
    """Wrap the loose text of containers into <p> elements, one per <br>-separated run.

    Old CMS templates write articles as `<div>text<br><br>text<br><br>…</div>` or leave the text of
    a cell loose between block children. trafilatura handles such loose text unreliably: the first
    run (the element's .text, before the first child) is regularly dropped when the container sits
    in a larger tree, and it is the lead paragraph. Making every run a <p> gives trafilatura, the
    DOM rules and the fallback the same paragraphs as a modern template; a bare link between blocks
    ("返回首页", "查看更多") becomes a paragraph of its own that the link-line test can judge. Inline children (links,
    <font>, <strong>) stay inside their run; block children stay where they are and end a run.
    Returns the number of paragraphs made."""
    made = 0
    for el in list(root.iter(*_BR_CONTAINERS)):
        if el.getparent() is None and el is not root:
            continue
        blocks = [c for c in el if isinstance(c.tag, str) and c.tag in BLOCK_TAGS]
        if not blocks:
            continue  # one run only: nothing to split
        if all(c.tag == "br" for c in blocks) and _loose_text_len(el) < _MIN_LOOSE_TEXT:
            continue  # a short line block ("地址<br>电话"): judged line by line later
        if not _has_loose_content(el):
            continue
        if el.tag in ("font", "span") and el.getparent() is not None and el.getparent().tag == "p":
            continue  # an inline run inside a paragraph
        children = list(el)
        text = el.text
        el.text = None
        for child in children:
            el.remove(child)
        runs: list = []  # each: [leading text, [inline children]] or a block child
        current = _add_text(runs, None, text)
        for child in children:
            tail = child.tail
            child.tail = None
            if isinstance(child.tag, str) and child.tag == "br":
                current = None
            elif isinstance(child.tag, str) and child.tag in BLOCK_TAGS:
                current = None
                runs.append(child)
            else:
                if current is None:
                    current = ["", []]
                    runs.append(current)
                current[1].append(child)
            current = _add_text(runs, current, tail)
        for run in runs:
            if isinstance(run, list):
                lead, inline = run
                if not inline and not lead.strip():
                    continue
                if not inline and not normalise_line(lead):
                    continue
                p = etree.SubElement(el, "p")
                p.text = lead
                for child in inline:
                    p.append(child)
                made += 1
            else:
                el.append(run)
    return made


def _is_teaser_list(el: etree._Element) -> bool:
    """A list of 3+ repeated items each led by a link: related-article teasers (headline + excerpt),
    whatever the link density (excerpts are long unlinked text)."""
    items = [c for c in el if isinstance(c.tag, str)]
    if len(items) < 3:
        return False
    tags = {(c.tag, c.get("class")) for c in items}
    if len(tags) > 2:
        return False
    with_link = 0
    for item in items:
        link = item.find(".//a")
        if link is not None and alpha_len(link.text_content()) >= 4:
            with_link += 1
    return with_link >= 0.8 * len(items)


def clean_tree(root: lxml.html.HtmlElement, *, boilerplate: frozenset[str] | None = None,
               keep: etree._Element | None = None) -> list[tuple[str, str]]:
    """Remove non-article blocks from the tree in place; returns [(reason, text)] for debugging.

    `keep`: an element that must survive (the headline), so no container holding it is removed.
    """
    log: list[tuple[str, str]] = []
    protected: set[etree._Element] = set()
    if keep is not None:
        protected.update(keep.iterancestors())
        protected.add(keep)

    # 1. teaser lists (headline link + excerpt per item), judged on the intact list before any of
    #    its parts are removed below
    for el in list(root.iter("ul", "ol", "dl")):
        if el.getparent() is not None and el not in protected and _is_teaser_list(el):
            log.append(("teaser-list", block_text(el)[:60]))
            remove_element(el)

    # 2. leaf blocks matching spam rules or learned boilerplate; related-list headings take the
    #    rest of their parent box along (the list that follows them)
    for el in list(iter_leaf_blocks(root)):
        if el in protected or el.getparent() is None or el.find(".//br") is not None:
            continue  # a block of <br>-separated lines is judged line by line after extraction
        text = block_text(el)
        if not text:
            continue
        reason = None
        rule = match_rule(text, edge=False)
        if rule is not None and rule.kind == "cut_tail" and rule.id == "nav-related-heading":
            siblings = list(el.itersiblings())
            if any(is_prose(line) for sib in siblings for line in page_lines(sib)):
                continue  # an editorial box ("相关链接" + background paragraphs) is article text
            for sib in siblings:
                if sib not in protected:
                    log.append(("after-related-heading", block_text(sib)[:60]))
                    remove_element(sib)
            reason = rule.id
        elif rule is not None and rule.kind == "drop_line":
            reason = rule.id
        elif rule is not None and rule.kind == "cut_tail":
            continue  # a marker (prev/next, comments, paywall) cuts the article's tail in the line pass
        elif boilerplate and fingerprint(text) in boilerplate:
            reason = "boilerplate"
        elif is_keyword_stuffing(text):
            reason = "seo-keyword-stuffing"
        elif is_code(text):
            reason = "code"
        elif is_disclaimer(text):
            reason = "disclaimer-legal"
        if reason:
            log.append((reason, text[:60]))
            remove_element(el)

    # 3. bottom-up link density in characters
    stats: dict[etree._Element, tuple[int, int, int]] = {}  # el -> (text chars, link chars, links)
    for el in reversed(list(root.iter(tag=etree.Element))):
        if el.getparent() is None and el is not root:
            continue  # already removed with an ancestor
        text = alpha_len(el.text)
        links = link_chars = 0
        for child in el:
            t, lc, n = stats.get(child, (0, 0, 0))
            text += t + alpha_len(child.tail)
            link_chars += lc
            links += n
        if el.tag == "a":
            link_chars, links = text, links + 1
        stats[el] = (text, link_chars, links)
        if el is root or el in protected or el.tag not in _LIST_CONTAINERS:
            continue
        reason = None
        if links >= 3 and link_chars >= 0.5 * max(1, text):
            reason = "link-list"
        elif links >= 1 and text <= 40 and link_chars >= 0.9 * max(1, text) and el.tag in ("p", "li"):
            reason = "link-line"
        if reason:
            log.append((reason, block_text(el)[:60]))
            remove_element(el)
            stats[el] = (0, 0, 0)
    return log
