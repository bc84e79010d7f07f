"""Metadata grids of 政务公开 / 信息公开 pages: parsed into fields, removed from the article text.

Every Chinese government information-disclosure catalogue (the 政府信息公开目录 required by the
条例; TRS, Hanweb/大汉, 南威, 拓尔思 templates alike) heads a document with a grid of catalogue
fields: 索引号, 主题分类, 发文机关 / 发布机构, 发文字号 / 文号, 成文日期, 发布日期, 有效性 … The grid
is a <table>, a <dl>, a <ul> of label/value items or rows of <div>s; the labels are the same
everywhere because they come from the national catalogue standard, so the grid is found by its
labels (3 or more distinct ones in one small container holding no article prose), whatever its markup.

The values are what a journalist cites: the document number (发文字号), the catalogue index (索引号),
the issuing organisation and the date the document was signed (成文日期), which is NOT the date it
was published (发布日期).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from pipelines.chinese import simplified_line

# label -> field, in simplified characters: a traditional-script grid (發佈日期, 索引號) is matched
# through pipelines.chinese.simplified_line. Labels that only structure the grid (主题分类, 有效性 …)
# map to "other": they count for detection and end the previous value, but are not stored as columns.
_LABELS: dict[str, str] = {
    "索引号": "index_no",
    "发文字号": "doc_number", "文号": "doc_number", "文件编号": "doc_number",
    "发文机关": "issuing_org", "发布机构": "issuing_org", "发文单位": "issuing_org", "发布机关": "issuing_org",
    "所属机构": "issuing_org", "制发机关": "issuing_org",
    "成文日期": "written_date", "成文时间": "written_date", "发文日期": "written_date",
    "发布日期": "published", "发布时间": "published", "公开日期": "published",
    "主题分类": "other", "主题词": "other", "信息分类": "other", "体裁分类": "other", "组配分类": "other",
    "有效性": "other", "时效性": "other", "生效日期": "other", "废止日期": "other", "公开方式": "other",
    "公开范围": "other", "公开时限": "other", "服务对象": "other", "统一编号": "other",
    "名称": "other", "标题": "other", "信息名称": "other", "信息来源": "other", "关键词": "other",
    "分类": "other", "类别": "other", "主题": "other", "生成日期": "other", "载体类型": "other",
}
# labels that only catalogue grids use: 3 distinct ones make a grid (名称/标题/关键词/信息来源/发布日期
# occur in ordinary info lines and do not count)
_DEFINING = frozenset(k for k in _LABELS if k not in {
    "名称", "标题", "信息名称", "信息来源", "关键词", "发布日期", "发布时间", "分类", "类别", "主题"})
# grids pad short labels with spaces to align them ("索 引 号", "名　　称"): spaces may separate the characters
_LABEL_ALTERNATIVES = "|".join("\\s*".join(map(re.escape, label))
                                for label in sorted(_LABELS, key=len, reverse=True))
_LABEL_RE = re.compile(r"(?<![\u4e00-\u9fff])(" + _LABEL_ALTERNATIVES + r")\s*[:：]?")
_LEAVES = ("td", "th", "dt", "dd", "li", "p", "span", "div", "label", "em", "strong", "b", "font")
_CONTAINERS = ("table", "tbody", "dl", "ul", "ol", "div", "section", "form", "p")
_EMPTY_VALUES = {"", "无", "-", "--", "/", "暂无"}  # compared in simplified characters
_MAX_GRID_CHARS = 600


@dataclass
class Grid:
    # index_no, doc_number, issuing_org, written_date, published: the raw values
    fields: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)  # every label found, in order
    elements: list[etree._Element] = field(default_factory=list)  # what to remove from the page


_SPACES = re.compile(r"[\s\u3000\xa0]+")


def _pieces(el: etree._Element, limit: int | None = None) -> list[str] | None:
    """The element's text as pieces: one per text node (cells, spans and items stay apart).

    limit: None as soon as the pieces add up to more characters (such a container is no grid; on a
    page laid out in nested tables, each row holding the whole article was read to its end)."""
    out = []
    size = 0
    for text in el.itertext():
        text = _SPACES.sub(" ", text).strip()
        if text:
            out.append(text)
            size += len(text)
            if limit is not None and size > limit:
                return None
    return out


def _has_prose(pieces: list[str]) -> bool:
    """Holds a sentence of article text (grid values are names, numbers and dates: no full stop)."""
    return any(len(p) > 30 and "。" in p for p in pieces)


def parse_grid_text(pieces: list[str]) -> tuple[dict[str, str], list[str]]:
    """Fields from the pieces of a grid: a value follows its label in the same piece or the next ones,
    up to the next label."""
    text = "\n".join(pieces)
    # labels are found in the simplified line (same length): the values are cut from the original
    matches = list(_LABEL_RE.finditer(simplified_line(text)))
    fields: dict[str, str] = {}
    labels = []
    for i, m in enumerate(matches):
        label = re.sub(r"\s", "", m.group(1))
        labels.append(label)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = re.sub(r"\s+", " ", text[m.end():end]).strip(" ：:|｜\n")
        key = _LABELS.get(label, "other")
        if key != "other" and simplified_line(value) not in _EMPTY_VALUES and key not in fields and len(value) <= 80:
            fields[key] = value
    return fields, labels


def find_grid(root: etree._Element) -> Grid | None:
    """The page's catalogue grid, if it has one: the container with the most distinct defining labels
    (at least 3), holding no article prose and at most _MAX_GRID_CHARS characters."""
    best: tuple[int, int, etree._Element, dict[str, str], list[str]] | None = None  # + its fields and labels
    seen: set[etree._Element] = set()
    for leaf in root.iter(*_LEAVES):
        own = (leaf.text or "").strip()
        if not own or not _LABEL_RE.match(simplified_line(re.sub(r"^[\s【\[]+", "", own))):
            continue
        el = leaf
        for _ in range(6):
            el = el.getparent()
            if el is None or el.tag in ("body", "html"):
                break
            if el in seen or el.tag not in _CONTAINERS:
                continue
            seen.add(el)
            pieces = _pieces(el, _MAX_GRID_CHARS)
            if pieces is None or _has_prose(pieces):
                break
            size = sum(len(p) for p in pieces)
            fields, labels = parse_grid_text(pieces)
            distinct = len({lb for lb in labels if lb in _DEFINING})
            if distinct >= 3 and (best is None or distinct > best[0] or (distinct == best[0] and size < best[1])):
                best = (distinct, size, el, fields, labels)
    if best is None:
        return _grid_rows(root)
    _, _, el, fields, labels = best
    return Grid(fields=fields, labels=labels, elements=[el])


def _grid_rows(root: etree._Element) -> Grid | None:
    """Grids sharing a layout table with the article (the document's rows first, its text in a later
    row of the same table): the table's own label rows, when they hold 3+ distinct defining labels."""
    for table in root.iter("table"):
        rows = []
        for tr in table.iter("tr"):
            if next(tr.iterancestors("table"), None) is not table:
                continue
            pieces = _pieces(tr, 300)
            if pieces is None or _has_prose(pieces):
                continue
            _, labels = parse_grid_text(pieces)
            if labels:
                rows.append((tr, pieces))
        text = [p for _, row_pieces in rows for p in row_pieces]
        fields, labels = parse_grid_text(text)
        if len({lb for lb in labels if lb in _DEFINING}) >= 3:
            return Grid(fields=fields, labels=labels, elements=[tr for tr, _ in rows])
    return None
