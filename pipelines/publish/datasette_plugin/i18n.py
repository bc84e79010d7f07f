"""The interface language: 简体中文 by default, English with ``?_lang=en`` (remembered in a cookie).

Why a table here and not gettext: Datasette 0.65 has no translation layer, the strings are few, and
the templates read them through one function ``t(key)``; a missing key shows the key itself, so an
untranslated string is visible instead of silently English.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "govbrief_lang"
HTML_LANG = {"zh": "zh-Hans", "en": "en"}

# The language of the request being served (set by the plugin's ASGI wrapper).
current_language: ContextVar[str] = ContextVar("govbrief_language", default=DEFAULT)

STRINGS: dict[str, dict[str, str]] = {
    # how the text was extracted (_article_extraction.html; values are the extractor's own codes)
    "extraction_how": {"zh": "正文抽取记录", "en": "How this text was extracted"},
    "extraction_warnings_n": {"zh": "{n} 条警告", "en": "{n} warning(s)"},
    "extraction_title_from": {"zh": "标题取自", "en": "Title from"},
    "extraction_suffix_removed": {"zh": "已去除文件后缀", "en": "file suffix removed:"},
    "extraction_decorations_removed": {"zh": "已去除文库标题装饰", "en": "document-site decorations removed:"},
    "extraction_date_from": {"zh": "发布日期取自", "en": "Date from"},
    "extraction_no_date": {"zh": "未找到日期", "en": "no date found"},
    "extraction_source_from": {"zh": "来源取自", "en": "来源 from"},
    "extraction_not_stated": {"zh": "网页未标明", "en": "not stated"},
    "extraction_charset": {"zh": "字符编码", "en": "Charset"},
    "extraction_text_from": {"zh": "正文取自", "en": "Text from"},
    "extraction_removed": {"zh": "删除的行（按规则类别）", "en": "Removed (lines per rule family)"},
    "extraction_warnings": {"zh": "警告", "en": "Warnings"},
    "extraction_version": {"zh": "抽取程序版本", "en": "Extractor version"},
    # the facts section of the reading view (_article_facts.html)
    "facts_heading": {"zh": "本文要素", "en": "Facts in this article"},
    "facts_help": {"zh": "由规则自动抽取，已在正文中标出。",
                   "en": "Extracted by rules; highlighted in the text above."},
    "facts_all": {"zh": "以表格查看全部", "en": "All as a table"},
    "fact_kind": {"zh": "类别", "en": "Kind"},
    "fact_written": {"zh": "原文", "en": "As written"},
    "fact_value": {"zh": "数值", "en": "Value"},
    "kind_investment": {"zh": "投资额", "en": "investment"},
    "kind_official": {"zh": "官员", "en": "official"},
    "kind_place": {"zh": "地点", "en": "place"},
    "kind_count": {"zh": "数量", "en": "count"},
    "kind_growth": {"zh": "增速", "en": "growth"},
    "kind_event_date": {"zh": "事件日期", "en": "event date"},
    "level_province": {"zh": "省级", "en": "province"},
    "level_city": {"zh": "地级", "en": "city"},
    "level_district": {"zh": "市辖区", "en": "district"},
    "level_county": {"zh": "县级", "en": "county"},
    "currency_CNY": {"zh": "元", "en": "CNY"},
    "currency_USD": {"zh": "美元", "en": "USD"},
    "currency_EUR": {"zh": "欧元", "en": "EUR"},
    "site_title": {"zh": "地方政府项目新闻档案", "en": "Local-government project news archive"},
    "site_tagline": {"zh": "检索各地政府网站发布的项目与投资新闻，保存原文与抓取证据。",
                     "en": "Search project and investment news published by Chinese local governments, "
                           "with the original text and the capture as evidence."},
    "home": {"zh": "首页", "en": "Home"},
    "colon": {"zh": "：", "en": ": "},
    "crumb_home": {"zh": "首页", "en": "home"},
    "crumb_archive": {"zh": "档案库", "en": "archive"},
    "crumb_articles": {"zh": "文章", "en": "articles"},
    "crumb_sources": {"zh": "来源网站", "en": "sources"},
    "crumb_captures": {"zh": "存档快照", "en": "captures"},
    "menu": {"zh": "菜单", "en": "Menu"},
    "log_out": {"zh": "退出登录", "en": "Log out"},
    "powered_by": {"zh": "技术支持：", "en": "Powered by"},
    "query_took": {"zh": "查询耗时", "en": "Queries took"},
    "data_license": {"zh": "数据许可", "en": "Data license"},
    "data_source": {"zh": "数据来源", "en": "Data source"},
    "about": {"zh": "关于", "en": "About"},
    "search": {"zh": "检索", "en": "Search"},
    "search_placeholder": {"zh": "关键词，如 项目 开工（简繁体均可）",
                           "en": "Words, e.g. 项目 开工 (Simplified or Traditional)"},
    "search_help": {"zh": "查找标题或正文中包含这些字词的文章；多个词须同时出现，用引号表示词组。",
                    "en": "Finds articles whose title or text contains these words; several words must all "
                          "occur; quotes make a phrase."},
    "date_from": {"zh": "起始日期", "en": "From"},
    "date_to": {"zh": "截止日期", "en": "To"},
    "date_placeholder": {"zh": "如 2023-03", "en": "e.g. 2023-03"},
    "place": {"zh": "地区", "en": "Place"},
    "any_place": {"zh": "全部地区", "en": "All places"},
    "source": {"zh": "来源网站", "en": "Source"},
    "any_source": {"zh": "全部来源", "en": "All sources"},
    "source_type": {"zh": "来源类型", "en": "Source type"},
    "any_type": {"zh": "全部类型", "en": "All types"},
    "type_gov": {"zh": "政府网站", "en": "Government site"},
    "type_media": {"zh": "新闻媒体", "en": "News media"},
    "type_repost": {"zh": "转载网站", "en": "Repost site"},
    "sort": {"zh": "排序", "en": "Sort"},
    "sort_relevance": {"zh": "按相关度", "en": "By relevance"},
    "sort_date": {"zh": "按日期", "en": "By date"},
    "ordered_relevance": {"zh": "按相关度排序", "en": "ordered by relevance"},
    "ordered_date": {"zh": "按发布日期排序（新→旧）", "en": "newest first"},
    "ordered_date (too many hits to rank)": {"zh": "结果过多，按发布日期排序（新→旧）",
                                             "en": "too many hits to rank: newest first"},
    "archive_size": {"zh": "收录文章", "en": "Articles"},
    "sources_count": {"zh": "来源网站", "en": "Sources"},
    "date_span": {"zh": "发布时间跨度", "en": "Published between"},
    "last_crawl": {"zh": "最近抓取", "en": "Last crawl"},
    "articles_unit": {"zh": "篇", "en": ""},
    "sources_unit": {"zh": "个", "en": ""},
    "to": {"zh": "至", "en": "to"},
    "health": {"zh": "各来源抓取状况", "en": "Crawl health per source"},
    "health_ok": {"zh": "正常", "en": "healthy"},
    "health_errors": {"zh": "上次抓取有错误", "en": "errors in the last run"},
    "health_never": {"zh": "尚未抓取", "en": "never crawled"},
    "health_failed": {"zh": "上次抓取失败", "en": "last run failed"},
    "run_ok": {"zh": "正常", "en": "healthy"},
    "run_failed": {"zh": "异常", "en": "unhealthy"},
    "run_running": {"zh": "进行中", "en": "running"},
    "articles": {"zh": "文章数", "en": "Articles"},
    "newest_published": {"zh": "最新发布", "en": "Newest"},
    "errors": {"zh": "错误", "en": "Errors"},
    "status": {"zh": "状态", "en": "Status"},
    "newest_articles": {"zh": "最新文章", "en": "Newest articles"},
    "browse": {"zh": "浏览数据表", "en": "Browse the tables"},
    "results": {"zh": "检索结果", "en": "Search results"},
    "found": {"zh": "找到", "en": "Found"},
    "no_results": {"zh": "没有找到符合条件的文章。可以减少关键词、放宽日期或地区。",
                   "en": "No article matches. Try fewer words, a wider date range or another place."},
    "all_articles": {"zh": "全部文章", "en": "All articles"},
    "copies": {"zh": "共 {n} 个版本（转载）", "en": "{n} copies (reposts)"},
    "canonical": {"zh": "原始发布", "en": "original"},
    "collapsed_note": {"zh": "同一文章的转载已合并为一条。", "en": "Reposts of the same text are shown once."},
    "show_all_copies": {"zh": "显示全部转载", "en": "Show every copy"},
    "collapse_copies": {"zh": "合并转载", "en": "Group copies"},
    "export": {"zh": "导出", "en": "Export"},
    "subscribe": {"zh": "订阅（Atom）", "en": "Subscribe (Atom)"},
    "facet_date": {"zh": "发布时间", "en": "Published"},
    "facet_place": {"zh": "地区", "en": "Place"},
    "facet_source": {"zh": "来源网站", "en": "Source"},
    "facet_type": {"zh": "来源类型", "en": "Source type"},
    "undated": {"zh": "日期不详", "en": "undated"},
    "remove_filter": {"zh": "取消", "en": "remove"},
    "refine": {"zh": "筛选", "en": "Refine"},
    "prev": {"zh": "上一页", "en": "Previous"},
    "next": {"zh": "下一页", "en": "Next"},
    "page_of": {"zh": "第 {page} / {pages} 页", "en": "page {page} of {pages}"},
    "bad_query": {"zh": "检索条件有误", "en": "Cannot read the search"},
    "bad_param": {"zh": "无法识别“{name}”的值“{value}”。日期请写作 2023、2023-03 或 2023-03-05。",
                  "en": "{name}: cannot read {value!r}"},
    "page": {"zh": "页码", "en": "page"},
    "feed_title": {"zh": "政务项目新闻检索", "en": "govbrief search"},
    "feed_all": {"zh": "全部文章", "en": "all articles"},
    "language_switch": {"zh": "English", "en": "中文"},
    # the reading view
    "original_url": {"zh": "原文链接", "en": "Original"},
    "published": {"zh": "发布日期", "en": "Published"},
    "published_from": {"zh": "日期来自", "en": "date from"},
    "publisher": {"zh": "发布机构", "en": "Publisher"},
    "source_site": {"zh": "来源网站", "en": "Source site"},
    "source_org": {"zh": "来源", "en": "Source (来源)"},
    "author": {"zh": "作者", "en": "Author"},
    "editor": {"zh": "编辑", "en": "editor"},
    "fetched": {"zh": "抓取时间", "en": "Fetched"},
    "first": {"zh": "首次", "en": "first"},
    "latest": {"zh": "最近", "en": "latest"},
    "capture": {"zh": "存档快照", "en": "Capture"},
    "capture_text": {"zh": "存档的原始网页（纯文本）", "en": "stored response as text"},
    "capture_record": {"zh": "快照记录", "en": "capture record"},
    "warc_record": {"zh": "WARC 记录", "en": "WARC record"},
    "characters": {"zh": "字", "en": "characters"},
    "untitled": {"zh": "（无标题）", "en": "(untitled)"},
    "unknown": {"zh": "不详", "en": "unknown"},
    "cite": {"zh": "引用", "en": "Cite"},
    "cite_help": {"zh": "复制下面的引用格式：", "en": "Copy this citation:"},
    "copy": {"zh": "复制", "en": "Copy"},
    "copied": {"zh": "已复制", "en": "Copied"},
    "archived_on": {"zh": "存档于", "en": "archived"},
    "gone": {"zh": "该网页自 {since} 起已从原网站删除（{reason}）。下面是删除前最后存档的版本。",
             "en": "This page has been gone from its website since {since} ({reason}). The text below is "
                   "the last version archived before it vanished."},
    "also_published": {"zh": "同文转载", "en": "Also published at"},
    "also_published_help": {"zh": "相同（或略经改动）的文字还存档于以下网址。"
                                  "第一条为原始发布：政府网站优先，其次为最早发布。",
                            "en": "The same text (or a light edit of it) was archived at these addresses. The "
                                  "first listed is the canonical copy: a government site first, then the "
                                  "earliest published."},
    "this_is_canonical": {"zh": "本文即为原始发布。", "en": "This article is the canonical copy."},
    "no_copies": {"zh": "档案中没有这篇文章的其他版本。", "en": "No other copy of this text is in the archive."},
    "article": {"zh": "文章", "en": "Article"},
    "host": {"zh": "网站", "en": "Host"},
    "title": {"zh": "标题", "en": "Title"},
    "similarity": {"zh": "相似度", "en": "Similarity"},
    "evidence": {"zh": "依据", "en": "Evidence"},
    "captures": {"zh": "存档快照", "en": "Captures"},
    "captures_help": {"zh": "该网址每一次抓取保存的 HTTP 响应，新的在前（网页在何时说了什么的证据）。",
                      "en": "Every stored HTTP response for this URL, newest first (the evidence of what the "
                            "page said and when)."},
    "all_as_table": {"zh": "以表格查看", "en": "All as a table"},
    "fetched_utc": {"zh": "抓取时间（UTC）", "en": "Fetched (UTC)"},
    "http_status": {"zh": "状态", "en": "Status"},
    "bytes": {"zh": "字节", "en": "Bytes"},
    "used_for_text": {"zh": "（正文取自此快照）", "en": "(used for the text above)"},
    "history": {"zh": "修改记录", "en": "History"},
    "version": {"zh": "版本", "en": "Version"},
    "detected": {"zh": "发现时间（UTC）", "en": "Detected (UTC)"},
    "what_changed": {"zh": "改动", "en": "What changed"},
    "no_change": {"zh": "首次存档以来未发现改动", "en": "No change seen since the page was first archived"},
    "last_rechecked": {"zh": "最近复查", "en": "last re-checked"},
    "history_link": {"zh": "全部版本及差异", "en": "Every version with its diff"},
    "events_link": {"zh": "该网址的全部复查记录", "en": "every re-check of this URL"},
    "latest_event": {"zh": "最近", "en": "latest"},
    "record": {"zh": "数据记录", "en": "Record"},
    "back_to_search": {"zh": "返回检索", "en": "Back to search"},
    # Datasette's table pages
    "rows_unit": {"zh": "条", "en": "rows"},
    "rows_count": {"zh": "共 {n} 条", "en": "{n} rows"},
    "search_contains": {"zh": "包含“{q}”", "en": "containing “{q}”"},
    "search_page_link": {"zh": "用检索页查看（按相关度、可导出）",
                         "en": "open in the search page (ranked, exportable)"},
    "column_descriptions": {"zh": "字段说明", "en": "Column descriptions"},
    "zero_records": {"zh": "没有记录", "en": "0 records"},
    "custom_sql": {"zh": "自定义 SQL 查询", "en": "Custom SQL query"},
    "filtered": {"zh": "已筛选", "en": "filtered"},
    "column": {"zh": "字段", "en": "column"},
    "sort_by": {"zh": "排序：", "en": "Sort by"},
    "descending": {"zh": "降序", "en": "descending"},
    "apply": {"zh": "应用", "en": "Apply"},
    "extra_where": {"zh": "另有 {n} 个条件", "en": "{n} extra where clauses"},
    "view_sql": {"zh": "查看和编辑 SQL", "en": "View and edit SQL"},
    "data_as": {"zh": "导出本页数据：", "en": "This data as "},
    "advanced": {"zh": "高级", "en": "advanced"},
    "facets_timed_out": {"zh": "以下分面统计超时：", "en": "These facets timed out:"},
    "advanced_export": {"zh": "高级导出", "en": "Advanced export"},
    "json_shape": {"zh": "JSON 格式：", "en": "JSON shape:"},
    "shape_default": {"zh": "默认", "en": "default"},
    "shape_array": {"zh": "数组", "en": "array"},
    "shape_nl": {"zh": "逐行", "en": "newline-delimited"},
    "shape_object": {"zh": "对象", "en": "object"},
    "csv_options": {"zh": "CSV 选项：", "en": "CSV options:"},
    "download_file": {"zh": "下载文件", "en": "download file"},
    "expand_labels": {"zh": "展开标签", "en": "expand labels"},
    "stream_all": {"zh": "导出全部行", "en": "stream all rows"},
    "export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "schema": {"zh": "表结构（SQL）", "en": "Schema (SQL)"},
    "view": {"zh": "视图", "en": "view"},
    "table_actions": {"zh": "表操作", "en": "Table actions"},
}

# Column headers and facet names on Datasette's table pages (Chinese only: in English the column
# name itself is the label). Same name, same meaning in every table of the archive.
COLUMN_LABELS: dict[str, str] = {
    "id": "编号", "url": "原文链接", "host": "网站", "source_id": "来源网站", "region": "地区", "title": "标题",
    "text": "正文", "published": "发布日期", "published_year": "发布年份", "published_month": "发布月份",
    "published_source": "日期来源", "source_org": "来源（稿件）", "author": "作者", "editor": "编辑",
    "script": "字体", "language": "语言", "title_simplified": "标题（简体）", "text_simplified": "正文（简体）",
    "text_length": "字数", "capture_id": "快照", "first_fetched": "首次抓取", "fetched_at": "抓取时间",
    "extracted_at": "抽取时间", "extractor_version": "抽取程序版本", "last_checked": "最近复查",
    "last_check_outcome": "复查结果", "failed_checks": "复查失败次数", "last_seen": "最近可见",
    "seen_capture_id": "最近可见快照", "gone_since": "删除于", "gone_reason": "删除方式", "gone_status": "删除状态码",
    "gone_detail": "删除证据", "version_count": "版本数", "last_changed": "最近修改", "name": "名称",
    "start_urls": "起始网址", "config": "配置", "updated_at": "更新时间", "source_type": "来源类型",
    "province": "省", "city": "市", "county": "县（区）", "province_code": "省代码", "city_code": "市代码",
    "county_code": "县代码", "final_url": "最终网址", "status": "状态", "headers": "响应头",
    "content_type": "内容类型", "body": "内容", "body_encoding": "压缩方式", "body_size": "字节数",
    "sha256": "SHA-256", "run_id": "抓取批次", "started_at": "开始时间", "finished_at": "结束时间",
    "sources": "来源", "exit_status": "退出码", "pages_fetched": "抓取页数", "list_pages": "列表页数",
    "articles_new": "新增文章", "articles_known": "已有文章", "errors": "错误数", "message": "说明",
    "stats": "统计", "kind": "类型", "reason": "原因", "at": "时间", "article_id": "文章", "version": "版本",
    "diff": "差异", "summary": "改动", "detected_at": "发现时间", "event": "事件", "detail": "详情",
    "cluster_id": "转载组", "is_canonical": "原始发布", "similarity": "相似度", "jaccard": "Jaccard 相似度",
    "evidence": "依据", "canonical_article_id": "原始文章", "size": "篇数", "snippet": "摘要",
}


def column_label(name: str, lang: str | None = None) -> str:
    if (lang or current_language.get()) == "zh":
        return COLUMN_LABELS.get(name, name)
    return name


def language(args: Any = None, cookies: Any = None) -> str:
    """The language a request asks for: ?_lang=, else the cookie, else Chinese."""
    for source, key in ((args, "_lang"), (cookies, COOKIE)):
        value = source.get(key) if source is not None else None
        if value in LANGUAGES:
            return value
    return DEFAULT


# Where a field came from (the extractor's codes: published_source, extraction.*.from), in the
# reader's words. A code "meta:PubDate" is labelled by its prefix and keeps the tag name after it.
_FROM_LABELS: dict[str, dict[str, str]] = {
    "meta": {"zh": "网页元数据", "en": "meta tag"},
    "grid": {"zh": "信息公开表", "en": "disclosure grid"},
    "info-line": {"zh": "信息行", "en": "info line"},
    "url": {"zh": "网址", "en": "URL"},
    "byline": {"zh": "署名行", "en": "byline"},
    "labelled-date": {"zh": "标明的日期", "en": "labelled date"},
    "page-date": {"zh": "页面日期", "en": "date on the page"},
    "text": {"zh": "正文", "en": "text"},
    "h1": {"zh": "正文大标题", "en": "h1 headline"},
    "title": {"zh": "网页标题", "en": "page title"},
    "line-before-text": {"zh": "正文前一行", "en": "line before the text"},
    "line-above-info": {"zh": "日期行上一行", "en": "line above the date line"},
    "plain-text-headline": {"zh": "纯文本的标题行", "en": "headline line of a plain text"},
    "contributor-note": {"zh": "供稿说明", "en": "contributor note"},
    "trafilatura": {"zh": "正文抽取", "en": "trafilatura"},
    "densest-block": {"zh": "文字最密的区块", "en": "densest block"},
}


def from_label(code: str | None, lang: str | None = None) -> str:
    """'meta:PubDate' -> '网页元数据 PubDate'; an unknown code is shown as it is."""
    if not code:
        return ""
    prefix, _, detail = code.partition(":")
    labels = _FROM_LABELS.get(prefix)
    if not labels:
        return code
    label = labels.get(lang or current_language.get(), labels["en"])
    detail = {"label": ""}.get(detail, detail)  # info-line:label = the line's 发布日期 label
    return f"{label} {detail}".strip()


def t(key: str, lang: str | None = None, **values: Any) -> str:
    """The string for key in the current (or given) language; the key itself when unknown."""
    entry = STRINGS.get(key)
    text = entry.get(lang or current_language.get(), entry.get(DEFAULT, key)) if entry else key
    return text.format(**values) if values else text
