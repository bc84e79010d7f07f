"""extract_facts: the structures of amounts, officials, places, counts, growth and dates (own fixtures)."""

import pytest

from pipelines.facts import extract_facts, resolve_place
from pipelines.facts.extract import event_year, fold, parse_number

SIMPLIFIED = ("9月3日，海陵区召开项目建设推进大会。区委副书记、区长陈思远出席并讲话。会上，12个重大项目集中签约，"
              "总投资86.5亿元，其中新能源电池项目总投资3000万美元。前三季度，全区新开工项目27个，同比增长15.2%。")
TRADITIONAL = ("9月3日，海陵區召開項目建設推進大會。區委副書記、區長陳思遠出席並講話。會上，12個重大項目集中籤約，"
               "總投資86.5億元，其中新能源電池項目總投資3000萬美元。前三季度，全區新開工項目27個，同比增長15.2%。")


def by_kind(facts, kind):
    return [f for f in facts if f["kind"] == kind]


def test_every_kind_in_the_gold_schema_with_offsets_into_the_text():
    facts = extract_facts(SIMPLIFIED, "2024-09-04", "江苏省泰州市")
    for fact in facts:
        start, end = fact["offsets"]
        written = (fact.get("text"), fact.get("name"), fact.get("title", "") + fact.get("name", ""))
        assert SIMPLIFIED[start:end] in written
    [date] = by_kind(facts, "event_date")
    assert (date["text"], date["date"]) == ("9月3日", "2024-09-03")
    [place] = by_kind(facts, "place")
    assert place == {"kind": "place", "name": "海陵区", "level": "district", "admin_code": "321202",
                     "offsets": [5, 8]}
    [official] = by_kind(facts, "official")
    assert (official["title"], official["name"]) == ("区委副书记、区长", "陈思远")
    cny, usd = by_kind(facts, "investment")
    assert (cny["text"], cny["amount"], cny["amount_cny"]) == ("总投资86.5亿元", 8650000000, 8650000000)
    assert cny["currency"] == "CNY"
    assert (usd["amount"], usd["amount_cny"], usd["currency"]) == (30000000, None, "USD")
    assert usd["project"] == "新能源电池项目"
    assert [(c["value"], c["unit"]) for c in by_kind(facts, "count")] == [(12, "个"), (27, "个")]
    [growth] = by_kind(facts, "growth")
    assert (growth["text"], growth["value"]) == ("同比增长15.2%", 15.2)


def test_traditional_script_gives_the_same_facts_written_as_the_page_writes_them():
    simplified = extract_facts(SIMPLIFIED, "2024-09-04")
    traditional = extract_facts(TRADITIONAL, "2024-09-04")
    assert len(simplified) == len(traditional)
    for s, t in zip(simplified, traditional, strict=True):
        assert s["kind"] == t["kind"] and s["offsets"] == t["offsets"]
        assert {k: v for k, v in s.items() if k in ("amount", "currency", "value", "date", "level", "admin_code")} == \
               {k: v for k, v in t.items() if k in ("amount", "currency", "value", "date", "level", "admin_code")}
    [official] = by_kind(traditional, "official")
    assert (official["title"], official["name"]) == ("區委副書記、區長", "陳思遠")
    assert by_kind(traditional, "place")[0]["name"] == "海陵區"
    assert TRADITIONAL[slice(*by_kind(traditional, "investment")[0]["offsets"])] == "總投資86.5億元"


@pytest.mark.parametrize("text, amount, currency, qualifier", [
    ("项目总投资三十亿元，", 3000000000, "CNY", None),
    ("计划投资超20亿元，", 2000000000, "CNY", "超"),
    ("协议投资约1.2亿美元。", 120000000, "USD", "约"),
    ("拟投资逾5000万元建设", 50000000, "CNY", "逾"),
    ("总投资额1,200万元", 12000000, "CNY", None),
    ("总投资两千万元", 20000000, "CNY", None),
    ("总投资5375万的污水处理厂", 53750000, "CNY", None),  # 万/亿 without 元 is still yuan
    ("总投资20多亿元", 2000000000, "CNY", "多"),
])
def test_investment_amounts_units_numerals_and_qualifiers(text, amount, currency, qualifier):
    [fact] = by_kind(extract_facts(text), "investment")
    assert (fact["amount"], fact["currency"], fact.get("qualifier")) == (amount, currency, qualifier)


@pytest.mark.parametrize("text", [
    "1至9月，完成项目投资308亿元。",  # money spent, not announced
    "投资额超过30亿元的项目由市级统筹。",  # a threshold
    "项目建成后预计年产值5亿元、年税收8000万元。",  # output and taxes are no investment
    "最低投资金额为10万元。",  # a rule, not a project
    "其中总投资超50亿元或5亿美元项目2个。",  # a size bracket
    "政府投入一元钱，回报两元。",  # a figure of speech
])
def test_spent_money_thresholds_and_output_are_not_investments(text):
    assert by_kind(extract_facts(text), "investment") == []


def test_official_titles_chain_and_name_length_follows_the_sentence():
    text = "省委常委、市委书记王平出席会议，市委副书记、市长赵建国主持。市委常委、秘书长林涛每月调度。县长在会上强调。"
    officials = [(f["title"], f["name"]) for f in by_kind(extract_facts(text), "official")]
    # "县长在会上" names nobody: 在 is no surname
    assert officials == [("省委常委、市委书记", "王平"), ("市委副书记、市长", "赵建国"), ("市委常委、秘书长", "林涛")]


def test_places_levels_codes_and_short_names():
    facts = by_kind(extract_facts("江苏省镇江市所辖句容市、丹徒区和内蒙古达拉特旗；镇江港"), "place")
    assert [(f["name"], f["level"]) for f in facts] == [
        ("江苏省", "province"), ("镇江市", "city"), ("句容市", "county"), ("丹徒区", "district"),
        ("内蒙古", "province"), ("达拉特旗", "county"), ("镇江", "city")]
    assert resolve_place("句容市") == {"name": "句容市", "level": "county", "admin_code": "321183",
                                       "province": "江苏省", "city": "镇江市", "county": "句容市"}
    assert resolve_place("不存在县") is None
    # a short name opening a company's or university's name is not the place; the full name is
    named = [f["name"] for f in by_kind(extract_facts("金昌环保科技有限公司落户金昌市，厦门大学参与研发。"), "place")]
    assert named == ["金昌市"]


def test_a_shared_district_name_is_settled_by_the_region():
    [gulou] = by_kind(extract_facts("鼓楼区新开工项目5个", region="福建省福州市"), "place")
    assert gulou["admin_code"].startswith("3501")
    [gulou] = by_kind(extract_facts("鼓楼区新开工项目5个", region="江苏省南京市"), "place")
    assert gulou["admin_code"].startswith("3201")



def test_a_shared_name_is_settled_by_the_text_however_often_places_are_named():
    """The places a text names unambiguously settle the shared ones, once or a thousand times over."""
    from pipelines.facts.places import find_places

    once = "福州市鼓楼区新开工项目5个。"
    for text in (once, once * 1000):
        found = find_places(text)
        assert len(found) == 2 * text.count(once)
        assert {place["admin_code"][:4] for _s, _e, place in found} == {"3501"}


@pytest.mark.parametrize("month, day, published, year", [
    (12, 30, "2024-01-02", 2023),  # across the year boundary: last year
    (1, 3, "2023-12-29", 2024),  # a date just after the turn of the year
    (1, 14, "2023-01-16", 2023),
    (2, 26, "2024-09-24", 2024),  # seven months back, not five ahead: reports look back
    (3, 5, "2024-02-20", 2024),  # two weeks ahead: an announcement
    (2, 29, "2025-09-01", 2024),  # the last leap day before publication
])
def test_event_year_from_the_publication_date(month, day, published, year):
    from datetime import date

    assert event_year(month, day, date.fromisoformat(published)) == year
    [fact] = by_kind(extract_facts(f"{month}月{day}日，全市项目集中开工。", published), "event_date")
    assert fact["date"] == f"{year}-{month:02d}-{day:02d}"


def test_growth_direction_counts_and_no_facts_without_text():
    facts = extract_facts("外资项目8个，同比下降3.5%；观摩了6个项目现场。")
    assert [f["value"] for f in by_kind(facts, "growth")] == [-3.5]
    assert [f["value"] for f in by_kind(facts, "count")] == [8]
    assert extract_facts("") == [] and extract_facts(None) == []
    assert by_kind(extract_facts("8月1日发布"), "event_date") == []  # no publication date, no year


def test_fold_keeps_length_and_numbers_parse():
    assert len(fold(TRADITIONAL)) == len(TRADITIONAL) and fold(TRADITIONAL).startswith("9月3日，海陵区")
    assert parse_number("千") == 1000 and parse_number("167.2") * 10**8 == 16720000000


def test_more_title_shapes_and_name_boundaries():
    text = ("市委副书记、代市长李强出席。县委常委、宣传部部长王芳介绍。市统计局局长刘洋表示。"
            "市政府党组成员、副市长孙伟指出。市委书记王昊说，要抓项目。由副市长任组长的调查组成立。曼谷市市长沙玛发布市长令。")
    facts = extract_facts(text)
    officials = [(f["title"], f["name"]) for f in by_kind(facts, "official")]
    assert officials == [("市委副书记、代市长", "李强"), ("县委常委、宣传部部长", "王芳"), ("市统计局局长", "刘洋"),
                         ("市政府党组成员、副市长", "孙伟"), ("市委书记", "王昊"), ("市长", "沙玛")]
    assert "长沙" not in [p["name"] for p in by_kind(facts, "place")]  # inside the mayor's name


def test_full_width_figures_and_former_or_newer_county_names():
    facts = extract_facts("１至９月，外资项目１２个，同比增长３.５％。长泰区、淮阳县项目集中开工。")
    assert [f["value"] for f in by_kind(facts, "count")] == [12]
    assert [f["value"] for f in by_kind(facts, "growth")] == [3.5]
    places = {f["name"]: (f["level"], f["admin_code"]) for f in by_kind(facts, "place")}
    assert places["长泰区"][0] == "district" and places["长泰区"][1].startswith("3506")  # 撤县设区, table says 县
    assert places["淮阳县"] == ("county", "411603")  # a former name: today's 淮阳区


def test_undated_page_takes_the_year_from_its_text_and_never_guesses():
    # a meeting named after its year, in the same sentence
    [fact] = by_kind(extract_facts("12月10日，全县2024年重大项目推进会召开。"), "event_date")
    assert fact["date"] == "2024-12-10" and "year_from" not in fact
    # a full date written earlier in the text carries its year to the next ones (across the year end)
    facts = by_kind(extract_facts("2022年12月30日，项目签约。1月3日，项目开工。"), "event_date")
    assert [f["date"] for f in facts] == ["2022-12-30", "2023-01-03"]
    # two different years in the sentence: no year to give
    assert by_kind(extract_facts("3月5日，2023年签约、2024年开工的项目通过验收。"), "event_date") == []
    # the publication date wins over a deadline written in the text
    facts = by_kind(extract_facts("力争2025年6月30日前建成。3月5日，项目开工。", "2023-03-06"), "event_date")
    assert [f["date"] for f in facts] == ["2025-06-30", "2023-03-05"]


def test_neighbour_links_date_an_undated_page_only_when_the_text_cannot():
    [fact] = by_kind(extract_facts("9月23日，全市项目集中开工。", posted_near="2022-09-17"), "event_date")
    assert fact["date"] == "2022-09-23" and fact["year_from"] == "neighbour links 2022-09-17"
    # the page's own date and the text's own year come first
    [fact] = by_kind(extract_facts("9月23日，全市项目集中开工。", "2023-09-25", posted_near="2022-09-17"),
                     "event_date")
    assert fact["date"] == "2023-09-23" and "year_from" not in fact
    [fact] = by_kind(extract_facts("9月23日，全市2021年重点项目开工。", posted_near="2022-09-17"), "event_date")
    assert fact["date"] == "2021-09-23"


def test_a_repost_is_dated_by_the_earliest_copy():
    [fact] = by_kind(extract_facts("2月26日，全市项目推进会召开。", "2024-09-24", dated_by="2021-02-27"),
                     "event_date")
    assert fact["date"] == "2021-02-26" and fact["year_from"] == "earliest copy 2021-02-27"
    # a year written in the text is the text's own
    [fact] = by_kind(extract_facts("2024年2月26日，会议召开。", "2024-09-24", dated_by="2021-02-27"), "event_date")
    assert fact["date"] == "2024-02-26" and "year_from" not in fact


def test_a_year_said_in_words_before_the_date():
    # 去年 against the publication date, even when the date would otherwise read as coming
    [fact] = by_kind(extract_facts("老中医自称，去年3月20日开始禁食。", "2005-01-06"), "event_date")
    assert fact["date"] == "2004-03-20"
    # 同年 against the year written before it, not the publication date
    facts = by_kind(extract_facts("2010年7月，她提起诉讼，同年9月10日第一次开庭。", "2012-01-12"), "event_date")
    assert [f["date"] for f in facts] == ["2010-09-10"]
    # a bare year or a year in a table cell dates an undated page's next dates
    text = "2017年2月，节目开拍，于3月20日至5月15日播出。| 2014年 4月25日至6月27日 |"
    facts = by_kind(extract_facts(text), "event_date")
    assert [f["date"] for f in facts] == ["2017-03-20", "2017-05-15", "2014-04-25", "2014-06-27"]


def test_a_name_ends_before_the_verb_that_follows_it():
    [official] = by_kind(extract_facts("前不久，深圳市委书记王荣公开表示，要厉行节约。"), "official")
    assert official["name"] == "王荣"


def test_place_table_keeps_county_level_and_above_lines_only():
    """The table is read by one regex over ~700,000 lines: depth 0-2 (province, prefecture, county) kept,
    towns and villages (3+ tabs) and blank lines dropped, whatever the line ending."""
    from pipelines.facts.places import upper_level_lines

    table = ("江苏省\t320000\t江苏\n\t泰州市\t321200\t泰州\r\n\t\t泰兴市\t321283\n"
             "\t\t\t黄桥镇\t321283100\n\n\t\t\t\t村\n\t\t最后一行\t000000").encode()
    assert [line.rstrip("\r") for line in upper_level_lines(table)] == [
        "江苏省\t320000\t江苏", "\t泰州市\t321200\t泰州", "\t\t泰兴市\t321283", "\t\t最后一行\t000000"]
