"""Each spam-rule family of rules/spam.yml and the code detectors, on single lines and on small DOMs."""

from __future__ import annotations

import lxml.html
import pytest

from pipelines.extract.clean_dom import clean_tree, strip_junk
from pipelines.extract.clean_rules import (
    clean_lines,
    fingerprint,
    is_dated_title,
    is_keyword_stuffing,
    load_rules,
    match_rule,
)

ARTICLE = "3月12日，临江县召开重点项目建设推进会，县委书记王明出席会议并讲话，县长李华主持会议。"


def test_rules_file_loads_with_unique_ids_and_comments() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len(rules) >= 30
    assert all(r.comment for r in rules)
    assert {r.kind for r in rules} == {"drop_line", "cut_tail", "meta_line"}


@pytest.mark.parametrize(("line", "rule"), [
    # contact / WeChat / QQ / phone
    ("查阅全文加微信 7788123", "contact-wechat"),
    ("王经理微信号", "contact-wechat"),
    ("加客服微信：abc12345", "contact-wechat"),
    ("技术交流QQ群：123456789", "contact-qq"),
    ("厂房土地租售：400 1234 567", "contact-phone"),
    ("或微信/手机：13912345678", "contact-"),
    ("手机：13912345678", "contact-phone"),
    ("长按/扫一扫加王经理的微信号", "contact-wechat"),
    ("扫码关注", "promo-"),
    ("请留下您的联系人和手机号，我们尽快回复", "contact-form"),
    # disclaimers
    ("版权声明：本文由网络蜘蛛自动收集于网络，如有不妥之处请联系我们删除", "disclaimer-"),
    ("如若转载，请注明出处：https://example.org/1.html", "disclaimer-repost"),
    ("平台声明：该文观点仅代表作者本人，搜狐号系信息发布平台", "disclaimer-copyright"),
    ("本文章内容来源于网络公开内容,仅供参考!", "disclaimer-"),
    ("Copyright © 2024 某某网 All Rights Reserved", "disclaimer-copyright"),
    # share / print widgets, counters
    ("分享到：微信新浪微博QQ空间", "widget-share"),
    ("【打印】【关闭】", "widget-print"),
    ("【字体：大 中 小】", "widget-print"),
    ("阅读 (13429)", "widget-counters"),
    ("2022-01-08 07:59:36重新编辑", "widget-edited"),
    ("某某局 出品", "widget-produced-by"),
    # portal chrome
    ("当前位置：首页 > 新闻中心 > 县区动态", "nav-breadcrumb"),
    ("主办单位：某某县人民政府办公室 承办单位：某某县大数据中心", "footer-portal"),
    ("建议使用1920×1080分辨率浏览本网站", "footer-site-id"),
    ("相关链接：重大项目专栏", "nav-related-inline"),
    # accessibility toolbars: elder-care editions are called 长者/关怀/适老 + 模式/版
    ("关怀模式 | 无障碍", "widget-accessibility"),
    ("适老版", "widget-accessibility"),
    ("原标题：某某区召开项目推进会", "nav-original-title"),
])
def test_drop_rules(line: str, rule: str) -> None:
    match = match_rule(line)
    assert match is not None and match.id.startswith(rule) and match.kind == "drop_line"


@pytest.mark.parametrize(("line", "rule"), [
    ("............试读结束............", "paywall-trial-end"),
    ("返回首页，查看更多", "widget-return-portal"),
    ("上一篇 2024年5月27日", "nav-prev-next"),
    ("下一篇：某某镇召开会议", "nav-prev-next"),
    ("相关推荐", "nav-related-heading"),
    ("【相關閱讀】", "nav-related-heading"),
    ("热点信息", "nav-related-heading"),
    # the heading's structure, not a list of headings: what the list is + what it lists
    ("【热门资讯】", "nav-related-heading"),
    ("更多新闻：", "nav-related-heading"),
])
def test_cut_tail_rules(line: str, rule: str) -> None:
    match = match_rule(line)
    assert match is not None and match.id == rule and match.kind == "cut_tail"


@pytest.mark.parametrize("line", [
    ARTICLE,
    "通过微信公众号发布了招商政策解读，吸引了众多企业关注。",  # WeChat mentioned, no contact bait
    "联系电话：0571-88886666",  # a notice's landline is content
    "会议指出，要加大知识产权侵权查处力度，保护企业合法权益，营造良好营商环境，以上数据仅供参考的说法并不成立。",
    "大抓项目 抓大项目",
    "一、一刻不停抓招商选资。",
    "历史回顾",  # a section heading of an article, not a related list
    "关怀企业，注册资本增至5亿元",  # 关怀 and 注册 are toolbar words only as switches
])
def test_article_lines_are_not_spam(line: str) -> None:
    match = match_rule(line, edge=False)
    assert match is None or match.kind == "meta_line", match
    assert not is_keyword_stuffing(line)


def test_keyword_stuffing() -> None:
    assert is_keyword_stuffing("东港区厂房出租公司   东港区仓库出租公司   东港区土地出售公司   东港区厂房出售中介")
    assert is_keyword_stuffing("关于我们 加入我们 人力资讯TOP500 网站地图 某某劳务派遣网")
    assert not is_keyword_stuffing("某某区 召开 推进会")  # too few segments


def test_dated_titles() -> None:
    assert is_dated_title("县卫健委召开安全生产工作会议 2019-06-01")
    assert is_dated_title("12. 区府办召开安全生产工作会议")
    assert not is_dated_title(ARTICLE)


def test_clean_lines_cuts_tail_only_after_article_text() -> None:
    lines = ["相关推荐", ARTICLE, "会上，12个重点项目集中签约，总投资56.8亿元。", "上一篇 2023年3月30日",
             "某某区召开会议", "某某镇开展演练"]
    kept, verdicts = clean_lines(lines)
    assert kept == [ARTICLE, "会上，12个重点项目集中签约，总投资56.8亿元。"]
    assert [v.rule for v in verdicts][-2:] == ["after-nav-prev-next", "after-nav-prev-next"]


def test_clean_lines_keeps_editorial_related_box() -> None:
    background = "据一项对华东大城市的调查显示，平均每个城市家庭都有不少过期药品，其中相当一部分已经超过保质期。"
    kept, _ = clean_lines([ARTICLE, "相关链接", "过期药中数感冒药最多", background])
    assert kept == [ARTICLE, "相关链接", "过期药中数感冒药最多", background]


def test_clean_lines_info_line_title_and_teaser_run() -> None:
    lines = ["某某县召开推进会", "发布时间：2021-03-15 来源：某某县融媒体中心", ARTICLE,
             "县卫健委召开安全生产会议 2019-06-01", "县体育局举办座谈会 2019-07-02", "县应急局开展演练 2019-08-03"]
    kept, verdicts = clean_lines(lines, title="某某县召开推进会")
    assert kept == [ARTICLE]
    assert verdicts[0].rule == "title" and verdicts[1].rule == "info-labels"
    assert {v.rule for v in verdicts[3:]} == {"dated-title-list"}


def test_generic_label_only_at_the_edges() -> None:
    notice = ["关于召开项目推进会的通知", "各乡镇：经研究，定于近期召开全县重点项目推进会，现将有关事项通知如下。",
              "时间：2024年5月10日上午9:00", "地点：县政府三楼会议室",
              "请各单位按时参会，不得缺席，特此通知，请遵照执行。"]
    kept, _ = clean_lines(notice)
    assert "时间：2024年5月10日上午9:00" in kept
    kept, _ = clean_lines(["记者：张三", *notice[1:]])
    assert "记者：张三" not in kept


def test_clean_lines_learned_boilerplate_by_fingerprint() -> None:
    boilerplate = frozenset({fingerprint("浏览次数：512")})
    kept, verdicts = clean_lines([ARTICLE, "浏览次数：7956"], boilerplate=boilerplate)
    assert kept == [ARTICLE] and verdicts[1].rule in ("boilerplate", "info-labels")


def _tree(body: str) -> lxml.html.HtmlElement:
    doc = lxml.html.document_fromstring(f"<html><body>{body}</body></html>")
    strip_junk(doc)
    return doc


def test_dom_link_list_measured_in_characters() -> None:
    # dates beside the links are digits: they do not dilute the density
    items = "<br>".join(f'<a href="/{i}">某某县召开第{i}次工作会议</a> 2020-01-0{i}' for i in range(1, 7))
    doc = _tree(f'<div><p>{ARTICLE}</p><div class="list">{items}</div></div>')
    log = clean_tree(doc)
    assert ("link-list", ) == tuple({r for r, _ in log})
    assert doc.text_content().strip() == ARTICLE


def test_dom_teaser_list_with_excerpts() -> None:
    excerpt = "近日，某某区召开重大项目推进会，会议总结了上半年全区项目建设情况，部署了下一阶段重点工作..."
    items = "".join(f'<li><a href="/{i}">某某区第{i}批项目开工</a><p>{excerpt}</p></li>' for i in range(3))
    doc = _tree(f'<div><p>{ARTICLE}</p><ul>{items}</ul></div>')
    log = clean_tree(doc)
    assert [r for r, _ in log] == ["teaser-list"]
    assert "推进会，会议总结" not in doc.text_content()


def test_dom_related_heading_takes_its_list_and_keeps_article() -> None:
    doc = _tree(f'<div class="c"><p>{ARTICLE}</p></div><div class="r"><h3>相关文章</h3>'
                '<div><a href="/1">甲</a></div><div><a href="/2">乙</a></div></div>')
    clean_tree(doc)
    assert doc.text_content().strip() == ARTICLE


def test_dom_protected_headline_container_survives() -> None:
    doc = _tree('<div id="w"><h1>某某县召开推进会</h1><a href="/1">首页</a><a href="/2">新闻</a>'
                '<a href="/3">政务</a><a href="/4">服务</a></div>')
    h1 = doc.find(".//h1")
    clean_tree(doc, keep=h1)
    assert doc.find(".//h1") is not None


def test_empty_presentational_element_keeps_following_text() -> None:
    doc = _tree("<p><center></center>从1月15日起，新目录开始执行。</p>")
    assert doc.text_content().strip() == "从1月15日起，新目录开始执行。"
    assert doc.find(".//center") is None


TO_TRADITIONAL = str.maketrans("办单责编辑网仅观权联删扫码关众号声禁转载", "辦單責編輯網僅觀權聯刪掃碼關眾號聲禁轉載")


def test_rules_are_written_once_in_simplified_and_match_traditional_lines():
    """spam.yml lists each label once, in simplified characters; a traditional-script line is
    converted before matching, so it meets the same rule as its simplified form."""
    import re

    from pipelines.chinese import to_simplified
    from pipelines.extract.clean_rules import _load_data, disclaimer_score, load_rules, match_rule

    data = _load_data()
    texts = [r["pattern"] for r in data["rules"]] + list(data["disclaimer_terms"]) + [data["self_terms"]]
    traditional = {c for t in texts for c in re.findall(r"[\u3400-\u9fff]", t) if to_simplified(c) != c}
    assert not traditional, f"traditional characters in rules/spam.yml: {sorted(traditional)}"
    assert load_rules()
    for simplified in ("主办单位：某某市人民政府办公室", "责任编辑：张三", "本网站仅代表作者观点，如有侵权请联系删除",
                       "扫码关注公众号", "版权声明：本站内容未经授权禁止转载"):
        traditional_line = simplified.translate(TO_TRADITIONAL)
        assert traditional_line != simplified
        rule = match_rule(simplified)
        assert rule is not None, simplified
        assert match_rule(traditional_line) == rule, traditional_line
        assert disclaimer_score(traditional_line) == disclaimer_score(simplified)
