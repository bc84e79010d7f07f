"""Re-check: the response classifier, the re-check policy, and apply_recheck on a real archive.

End-to-end crawls over a changing local site are in test_recheck_crawl.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.process.archive import archive_capture
from pipelines.recheck import policy as recheck
from pipelines.recheck.policy import (
    BACK,
    CHALLENGE,
    CHANGED,
    ERROR,
    GONE,
    MOVED,
    NOT_MODIFIED,
    OK,
    STILL_GONE,
    UNCHANGED,
    UNKNOWN,
    apply_recheck,
    change_summary,
    check_interval,
    classify_response,
    due_for_recheck,
    text_diff,
)
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

URL = "http://www.example.gov.cn/xw/202301/t20230114_1001.html"
T0 = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)

PARAS = [
    "1月14日，泰州市重大产业项目集中开工仪式在高港区举行，本次集中开工项目共32个，总投资达256亿元，"
    "涵盖新能源、高端装备、生物医药等领域。",
    "市委书记在开工仪式上指出，要坚持项目为王，全力以赴抓招商、上项目、强产业，以高质量项目支撑高质量发展。"
    "各地各部门要强化要素保障，优化营商环境，确保项目早开工、早投产、早见效。",
    "据了解，今年全市计划实施重大产业项目200个以上，年度计划投资超过800亿元，其中省级重大项目28个。",
]

# site chrome long enough that a deletion notice inside it is over soft404.yml's max_page_chars
CHROME = "".join(f'<li><a href="/zwgk/col{i}/index.html">政务公开栏目第{i}项：政策文件与解读汇编</a></li>'
                 for i in range(80))


def page(title: str = "泰州市重大产业项目集中开工", paras: list[str] = PARAS, date: str = "2023-01-14",
         footer: str = "") -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_泰州市人民政府</title>
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date} 09:30"></head><body>
<div class="nav"><a href="/">首页</a> <a href="/xw/index.html">新闻中心</a> <a href="/zwgk/">政务公开</a></div>
<div class="article"><h1>{title}</h1><div class="info">发布时间：{date} 来源：泰州市发展和改革委员会</div>
<div class="TRS_Editor">{body}</div></div>
<div class="footer">主办单位：泰州市人民政府办公室 {footer}</div></body></html>""".encode()


def stamp(moment: datetime) -> str:
    return recheck.stamp(moment)


# ------------------------------------------------------------------ classifier

NGINX_404 = b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center>" \
            b"<hr><center>nginx</center></body></html>"
RUISHU_412 = (b'<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
              b'<script type="text/javascript">$_ts=window[\'$_ts\'];if(!$_ts)$_ts={};$_ts.nsd=84213;'
              b'$_ts.cd="qhyDrAlFcGqDrpWhDGEElsWUrpVvqqA";</script>'
              b'<script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.js"></script>'
              b"</head><body></body></html>")
JSL_521 = (b"<html><body><script>document.cookie=('_')+('_')+('j')+('s')+('l')+('_')+('c')+('l')+('e')+"
           b"'arance=1700000000.123|0|abc'+';Expires=Tue, 01-Jan-30 00:00:00 GMT;Path=/;';"
           b"location.href=location.pathname+location.search</script></body></html>")
JSL_MARKER = b"<html><body><script>var x='__jsl_clearance_s';setTimeout(function(){location.reload()},900)" \
             b"</script></body></html>"
ALIYUN_200 = (b"<html><script>\nvar arg1='4B9D3A2C1E0F8A7B6C5D4E3F2A1B0C9D8E7F6A5B';\n"
              b"function setCookie(name,value){document.cookie=name+'='+value;}"
              b"setCookie('acw_sc__v2', x);document.location.reload();</script></html>")
COOKIE_RELOAD = (b"<html><head><script>document.cookie='srcurl=' + escape(location.href) + ';path=/';"
                 b"window.location.reload();</script></head><body></body></html>")
CHALLENGES = [RUISHU_412, JSL_521, JSL_MARKER, ALIYUN_200, COOKIE_RELOAD]


def classify(status: int, body: bytes = b"", *, location: str | None = None, final_url: str | None = None,
             url: str = URL) -> recheck.Verdict:
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if location is not None:
        headers["Location"] = location
    return classify_response(status, headers, body, url=url, final_url=final_url or url)


def test_not_modified():
    assert classify(304).state == NOT_MODIFIED


@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_are_deletions(status):
    verdict = classify(status, NGINX_404)
    assert (verdict.state, verdict.reason) == (GONE, f"http_{status}")


@pytest.mark.parametrize("location, reason", [
    ("/", "redirect_home"),
    ("http://www.example.gov.cn/", "redirect_home"),
    ("/index.html", "redirect_home"),
    ("https://www.example.gov.cn/index.shtml", "redirect_home"),
    ("http://www.gov.cn/", "redirect_home"),
    ("/xw/index.html", "redirect_list"),
    ("../", "redirect_list"),
    ("/xw/index_3.html", "redirect_list"),
    ("/404.html", "redirect_error"),
    ("/error/notice.jsp", "redirect_error"),
])
def test_redirect_to_home_list_or_error_page_is_a_deletion(location, reason):
    for status in (301, 302):
        verdict = classify(status, b"", location=location)
        assert (verdict.state, verdict.reason) == (GONE, reason), location


@pytest.mark.parametrize("location, state", [
    ("/xw/202301/t20230114_2002.html", MOVED),  # to another article: it may live on there
    ("https://www.example.gov.cn/xw/202301/t20230114_1001.html", MOVED),  # http -> https
    ("http://www.example.gov.cn/art/2023/1/4/art_404_123.html", MOVED),  # '404' inside an id is no error
    (URL, CHALLENGE),  # back to itself with a cookie: a cookie check
    ("/waf_verify.htm?url=/xw/202301/t20230114_1001.html", CHALLENGE),
])
def test_other_redirects_are_not_deletions(location, state):
    assert classify(302, b"", location=location).state == state


def test_redirect_without_location_is_an_error():
    assert classify(302, b"").state == ERROR


def test_followed_meta_refresh_to_home_is_a_deletion():
    verdict = classify(200, f"<html><title>首页</title><body>{CHROME}</body></html>".encode(),
                       final_url="http://www.example.gov.cn/")
    assert (verdict.state, verdict.reason) == (GONE, "redirect_home")


@pytest.mark.parametrize("notice", ["该信息已删除", "对不起，您访问的页面不存在！", "页面未找到", "信息已过期",
                                    "该页面已被删除", "404 Not Found", "頁面不存在",
                                    "該頁面已被刪除", "對不起，該信息已撤銷"])  # no Traditional phrase is listed
def test_short_soft404_pages_are_deletions(notice):
    body = f"<html><head><title>提示信息</title></head><body><div class='box'><p>{notice}</p>" \
           f"<a href='/'>返回首页</a></div></body></html>"
    verdict = classify(200, body.encode())
    assert (verdict.state, verdict.reason, verdict.detail is not None) == (GONE, "soft404", True)


def test_soft404_in_title_counts_on_a_page_full_of_chrome():
    body = f"<html><head><title>页面不存在 - 泰州市人民政府</title></head><body><ul>{CHROME}</ul></body></html>"
    assert classify(200, body.encode()).state == GONE


def test_soft404_phrase_in_long_page_body_is_not_a_deletion():
    body = f"<html><head><title>网站管理办法</title></head><body><ul>{CHROME}</ul>" \
           f"<p>链接失效、页面不存在等问题请向网站管理员反映。</p></body></html>"
    assert classify(200, body.encode()).state == OK


def test_live_article_is_ok():
    assert classify(200, page()).state == OK


@pytest.mark.parametrize("body", CHALLENGES)
@pytest.mark.parametrize("status", [200, 202, 403, 404, 410, 412, 521])
def test_challenge_is_never_a_deletion(status, body):
    verdict = classify(status, body)
    assert verdict.state == CHALLENGE, (status, body[:60])


def test_challenge_markers_are_named():
    assert classify(412, RUISHU_412).detail == "ruishu"
    assert classify(521, JSL_MARKER).detail == "jiasule"
    assert classify(200, ALIYUN_200).detail == "aliyun-waf"
    assert classify(521, JSL_521).detail == "cookie-script"


@pytest.mark.parametrize("status", [412, 521, 403])
def test_tiny_or_script_pages_with_challenge_statuses_are_challenges(status):
    assert classify(status, b"<html><body>Forbidden</body></html>").state == CHALLENGE
    assert classify(status, b"").state == CHALLENGE


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_are_retried_not_deletions(status):
    assert classify(status, page()).state == CHALLENGE


def test_other_errors_are_not_deletions():
    assert classify(500, NGINX_404.replace(b"404 Not Found", b"500 Internal Server Error")).state == ERROR
    assert classify(403, page()).state == ERROR  # a full page behind 403: odd, but says nothing about deletion
    assert classify(400, b"bad request").state == ERROR


def test_short_notice_with_counter_cookie_is_an_article():
    body = ("<html><head><title>停水通知</title></head><body><h1>停水通知</h1><p>因管网维修，1月15日8:00至18:00"
            "海陵区部分区域暂停供水，请居民提前做好储水准备。</p><script>document.cookie='visited=1';"
            "var n = 1;</script></body></html>").encode()
    assert classify(200, body).state == OK


# ------------------------------------------------------------------ diffs


def test_text_diff_shows_title_and_changed_paragraph():
    diff = text_diff("旧标题", "第一段。\n第二段，总投资1.2亿元。\n第三段。",
                     "新标题", "第一段。\n第二段，总投资1.5亿元。\n第三段。", old_label="v1", new_label="v2")
    lines = diff.splitlines()
    assert lines[:2] == ["--- v1", "+++ v2"]
    assert "-【标题】旧标题" in lines and "+【标题】新标题" in lines
    assert "-第二段，总投资1.2亿元。" in lines and "+第二段，总投资1.5亿元。" in lines
    assert " 第一段。" in lines and "-第三段。" not in lines


def test_change_summary_names_the_edited_words():
    summary = change_summary("标题", "第一段。\n总投资达1.2亿元，年内建成。",
                             "标题", "第一段。\n总投资达1.5亿元，年内建成。\n新增一段。")
    assert "1 paragraph changed" in summary and "1 paragraph added" in summary
    assert "[-2-]{+5+}" in summary
    assert "title" not in summary


def test_whitespace_only_differences_are_the_same_content():
    assert recheck.same_content("标题", "第一段。\n\n 第二段　 内容", " 标题 ", "第一段。\n第二段 内容\n")


# ------------------------------------------------------------------ policy


def test_check_interval_table():
    assert check_interval(timedelta(days=1)) == timedelta(hours=12)
    assert check_interval(timedelta(days=10)) == timedelta(days=3)
    assert check_interval(timedelta(days=100)) == timedelta(days=30)
    assert check_interval(timedelta(days=800)) == timedelta(days=180)
    assert check_interval(timedelta(days=1), gone=True) == recheck.GONE_INTERVAL
    assert check_interval(timedelta(days=800), last_outcome=CHALLENGE) == recheck.RETRY_INTERVAL
    assert check_interval(timedelta(days=800), gone=True, last_outcome=ERROR) == recheck.RETRY_INTERVAL
    # a wall that stays up: 6 h, 12 h, 24 h, … never longer than the article's own interval
    waits = [check_interval(timedelta(days=800), last_outcome=CHALLENGE, failed_checks=n) for n in range(1, 12)]
    assert waits[:3] == [timedelta(hours=6), timedelta(hours=12), timedelta(hours=24)]
    assert waits[-1] == recheck.OLD_INTERVAL and waits == sorted(waits)
    assert check_interval(timedelta(days=2), last_outcome=ERROR, failed_checks=5) == timedelta(hours=12)


@pytest.fixture
def db(tmp_path):
    database = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(database)
    yield database
    database.close()


def archive(db, url: str = URL, body: bytes | None = None, *, fetched: datetime = T0,
            headers: dict | None = None) -> int:
    capture = Capture(url=url, final_url=url, status=200,
                      headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})},
                      body=body or page(), fetched_at=stamp(fetched), source_id="city")
    archived = archive_capture(db, capture, region="江苏省泰州市")
    assert archived.article_id is not None
    return archived.article_id


def put(db, article_id: int, **fields) -> None:
    db["articles"].update(article_id, fields)


def test_policy_picks_what_is_due(db):
    now = T0 + timedelta(days=400)  # 2027-02-14

    def known(n: int, published: str, archived_ago: timedelta, **fields) -> int:
        article_id = archive(db, f"http://www.example.gov.cn/xw/a{n}.html", page(date=published),
                             fetched=now - archived_ago)
        if fields:
            put(db, article_id, **fields)
        return article_id

    young = known(1, "2027-02-10", timedelta(days=2))  # 4 days old: every 12 h
    fresh = known(2, "2027-02-13", timedelta(hours=1))
    month = known(3, "2027-01-25", timedelta(days=4))  # 20 days old: every 3 days
    old_recent = known(4, "2020-01-01", timedelta(days=100))  # old: every 180 days
    old_due = known(5, "2020-01-01", timedelta(days=200))
    challenged = known(6, "2020-01-01", timedelta(days=300), last_checked=stamp(now - timedelta(hours=7)),
                       last_check_outcome=CHALLENGE)
    gone_recent = known(7, "2020-01-01", timedelta(days=300), last_checked=stamp(now - timedelta(days=10)),
                        gone_since=stamp(now - timedelta(days=10)))
    gone_due = known(8, "2020-01-01", timedelta(days=300), last_checked=stamp(now - timedelta(days=91)),
                     gone_since=stamp(now - timedelta(days=200)))
    checked_recently = known(9, "2020-01-01", timedelta(days=300), last_checked=stamp(now - timedelta(days=20)),
                             last_check_outcome=UNCHANGED)
    # bad metadata: a page "published" in 2099 is as old as its first fetch (10 days: every 3 days)
    future_date = known(10, "2099-01-01", timedelta(days=10), last_checked=stamp(now - timedelta(days=1)))

    due = due_for_recheck(db, "city", now=now)
    assert {t.article_id for t in due} == {young, month, old_due, challenged, gone_due}
    assert fresh not in {t.article_id for t in due}  # newly archived counts as just checked
    assert {old_recent, gone_recent, checked_recently, future_date}.isdisjoint({t.article_id for t in due})
    # most overdue first: 20 days, 1.5 days, 1 day (tie: by id), 1 hour
    assert [t.article_id for t in due] == [old_due, young, month, gone_due, challenged]
    assert due_for_recheck(db, "other-source", now=now) == []
    limited = due_for_recheck(db, "city", now=now, limit=2)
    assert [t.article_id for t in limited] == [t.article_id for t in due[:2]]


def test_policy_reads_govbrief_now(db, monkeypatch):
    archive(db, body=page(date="2020-01-01"), fetched=T0)
    monkeypatch.setenv("GOVBRIEF_NOW", stamp(T0 + timedelta(days=179)))
    assert due_for_recheck(db, "city") == []
    monkeypatch.setenv("GOVBRIEF_NOW", stamp(T0 + timedelta(days=181)))
    assert [t.url for t in due_for_recheck(db, "city")] == [URL]
    monkeypatch.setenv("GOVBRIEF_RECHECK_LIMIT", "0")
    assert due_for_recheck(db, "city") == []


def test_conditional_headers_come_from_the_last_good_capture(db):
    article_id = archive(db, body=page(date="2020-01-01"),
                         headers={"Etag": '"abc-1"', "Last-Modified": "Sat, 14 Jan 2023 01:30:00 GMT"})
    [target] = due_for_recheck(db, "city", now=T0 + timedelta(days=365))
    assert target.conditional_headers() == {"If-None-Match": '"abc-1"',
                                            "If-Modified-Since": "Sat, 14 Jan 2023 01:30:00 GMT"}
    put(db, article_id, gone_since=stamp(T0))
    [target] = due_for_recheck(db, "city", now=T0 + timedelta(days=365))
    assert target.conditional_headers() == {}  # only a full answer can show a deleted page is back


# ------------------------------------------------------------------ apply_recheck


def answer(status: int, body: bytes = b"", *, at: datetime, headers: dict | None = None,
           final_url: str = URL) -> Capture:
    return Capture(url=URL, final_url=final_url, status=status,
                   headers={"Content-Type": "text/html; charset=utf-8", **(headers or {})}, body=body,
                   fetched_at=stamp(at), source_id="city")


def article(db, article_id: int) -> dict:
    return db["articles"].get(article_id)


def captures(db) -> int:
    return db["captures"].count


def test_not_modified_and_unchanged(db):
    article_id = archive(db, headers={"Etag": '"v1"'})
    at = T0 + timedelta(days=200)
    assert apply_recheck(db, answer(304, at=at)) == NOT_MODIFIED
    row = article(db, article_id)
    assert captures(db) == 1  # a 304 is not stored
    assert (row["last_checked"], row["last_seen"], row["last_check_outcome"]) == (stamp(at), stamp(at), NOT_MODIFIED)
    # byte-identical, and the same text in different chrome (a visitor counter): both unchanged
    assert apply_recheck(db, answer(200, page(), at=at + timedelta(days=1))) == UNCHANGED
    assert apply_recheck(db, answer(200, page(footer="访问量：10234"), at=at + timedelta(days=2))) == UNCHANGED
    row = article(db, article_id)
    assert captures(db) == 3  # each 200 is kept as proof of what the page said that day
    assert row["seen_capture_id"] == 3 and row["capture_id"] == 1
    assert row["version_count"] is None and db["article_versions"].count == 0


def test_edit_creates_versions_with_diffs(db):
    article_id = archive(db)
    first = article(db, article_id)
    edited = [PARAS[0], PARAS[1].replace("优化营商环境", "持续优化营商环境"), PARAS[2]]
    at1 = T0 + timedelta(days=200)
    assert apply_recheck(db, answer(200, page(paras=edited), at=at1), region="江苏省泰州市") == CHANGED
    row = article(db, article_id)
    assert "持续优化营商环境" in row["text"] and row["version_count"] == 2 and row["last_changed"] == stamp(at1)
    assert row["capture_id"] == 2 and row["first_fetched"] == first["first_fetched"]
    v1, v2 = db.query("select * from article_versions where article_id = ? order by version", [article_id])
    assert (v1["version"], v1["text"], v1["capture_id"], v1["diff"]) == (1, first["text"], 1, None)
    assert v1["detected_at"] == first["first_fetched"]
    assert v2["capture_id"] == 2 and v2["detected_at"] == stamp(at1)
    assert f"-{PARAS[1]}" in v2["diff"].splitlines() and f"+{edited[1]}" in v2["diff"].splitlines()
    assert "{+持续+}" in v2["summary"]
    # the first capture stays readable as evidence of the old text
    old = storage.load_capture(db["captures"].get(1))
    assert "要坚持项目为王" in old.body.decode() and "持续优化" not in old.body.decode()
    # a second edit: version 3, diffed against version 2; a title change shows in the diff
    at2 = at1 + timedelta(days=40)
    retitled = page(title="泰州市重大产业项目集中开工（更新）", paras=edited)
    assert apply_recheck(db, answer(200, retitled, at=at2)) == CHANGED
    v3 = db["article_versions"].get(3)
    assert v3["version"] == 3 and "+【标题】泰州市重大产业项目集中开工（更新）" in v3["diff"].splitlines()
    assert v3["diff"].splitlines()[0].startswith("--- v2")
    assert article(db, article_id)["version_count"] == 3
    changes = list(db.query("select * from changed_articles order by version"))
    assert [(c["article_id"], c["version"], c["versions"]) for c in changes] == [(article_id, 2, 3), (article_id, 3, 3)]
    assert changes[0]["previous_capture_id"] == 1 and changes[0]["capture_id"] == 2


def test_changed_text_reaches_the_search_index(db):
    search_index = pytest.importorskip("pipelines.search.search_index")
    article_id = archive(db)
    edited = [PARAS[0], PARAS[1], "项目全部建成后预计年产值可达千亿元。"]
    assert apply_recheck(db, answer(200, page(paras=edited), at=T0 + timedelta(days=200))) == CHANGED
    assert search_index.search_ids(db.conn, "年产值") == [article_id]
    assert search_index.search_ids(db.conn, "省级重大项目") == []


@pytest.mark.parametrize("status, body, extra, reason", [
    (404, NGINX_404, {}, "http_404"),
    (410, b"", {}, "http_410"),
    (302, b"", {"Location": "/"}, "redirect_home"),
    (200, "<html><body><p>该信息已删除</p></body></html>".encode(), {}, "soft404"),
])
def test_deletion_keeps_the_last_good_text(db, status, body, extra, reason):
    article_id = archive(db)
    before = article(db, article_id)
    at = T0 + timedelta(days=200)
    assert apply_recheck(db, answer(status, body, at=at, headers=extra)) == GONE
    row = article(db, article_id)
    assert (row["gone_since"], row["gone_reason"], row["gone_status"]) == (stamp(at), reason, status)
    assert (row["title"], row["text"], row["capture_id"]) == (before["title"], before["text"], 1)
    assert captures(db) == 2  # the deletion answer is stored as evidence
    [event] = db.query("select * from article_events")
    assert (event["event"], event["reason"], event["capture_id"]) == (GONE, reason, 2)
    [deleted] = db.query("select * from deleted_articles")
    assert (deleted["article_id"], deleted["gone_reason"], deleted["last_good_capture_id"]) == (article_id, reason, 1)
    assert deleted["last_seen"] == before["fetched_at"]


def test_soft404_notice_inside_full_site_chrome(db):
    archive(db)
    notice = f"<html><head><title>泰州市人民政府</title></head><body><ul>{CHROME}</ul>" \
             f"<div class='main'><h1>提示</h1><p>对不起，该信息已删除或已过期。</p></div></body></html>"
    assert apply_recheck(db, answer(200, notice.encode(), at=T0 + timedelta(days=200))) == GONE
    [row] = db.query("select gone_reason, gone_detail from articles")
    assert row["gone_reason"] == "soft404" and row["gone_detail"] == "该信息已删除"


def test_gone_then_challenge_then_back(db):
    article_id = archive(db)
    t1, t2, t3, t4 = (T0 + timedelta(days=d) for d in (200, 300, 301, 400))
    assert apply_recheck(db, answer(404, NGINX_404, at=t1)) == GONE
    assert apply_recheck(db, answer(404, NGINX_404, at=t2)) == STILL_GONE
    assert apply_recheck(db, answer(412, RUISHU_412, at=t3)) == CHALLENGE
    row = article(db, article_id)
    assert (row["gone_since"], row["gone_reason"], row["last_check_outcome"]) == (stamp(t1), "http_404", CHALLENGE)
    assert apply_recheck(db, answer(200, page(), at=t4)) == BACK
    row = article(db, article_id)
    assert row["gone_since"] is None and row["gone_reason"] is None and row["last_seen"] == stamp(t4)
    events = [(e["event"], e["at"]) for e in db.query("select * from article_events order by id")]
    assert events == [(GONE, stamp(t1)), (CHALLENGE, stamp(t3)), (BACK, stamp(t4))]
    back = json.loads(db.execute("select detail from article_events where event = 'back'").fetchone()[0])
    assert back == {"gone_since": stamp(t1), "gone_reason": "http_404", "days_gone": 200, "changed": False}
    assert db["article_versions"].count == 0 and db.execute("select count(*) from deleted_articles").fetchone()[0] == 0


def test_challenge_on_a_live_article_is_retried_and_never_gone(db):
    article_id = archive(db, body=page(date="2020-01-01"))
    at = T0 + timedelta(days=200)
    for status, body in [(412, RUISHU_412), (521, JSL_521), (200, ALIYUN_200), (503, b"")]:
        assert apply_recheck(db, answer(status, body, at=at)) == CHALLENGE
        assert article(db, article_id)["gone_since"] is None
    assert article(db, article_id)["failed_checks"] == 4
    # retried soon even though the article is old, but less eagerly while the wall stays up
    assert due_for_recheck(db, "city", now=at + timedelta(hours=40)) == []
    assert [t.article_id for t in due_for_recheck(db, "city", now=at + timedelta(hours=49))] == [article_id]
    put(db, article_id, failed_checks=1)
    assert [t.article_id for t in due_for_recheck(db, "city", now=at + timedelta(hours=7))] == [article_id]
    assert apply_recheck(db, answer(200, page(date="2020-01-01"), at=at + timedelta(hours=7))) == UNCHANGED
    assert article(db, article_id)["failed_checks"] == 0


def test_deleted_article_back_with_new_text(db):
    article_id = archive(db)
    t1, t2 = T0 + timedelta(days=200), T0 + timedelta(days=300)
    assert apply_recheck(db, answer(410, b"", at=t1)) == GONE
    republished = [PARAS[0], PARAS[1], "（本文已于近日修订）据了解，今年全市计划实施重大产业项目200个以上。"]
    assert apply_recheck(db, answer(200, page(paras=republished), at=t2)) == BACK
    row = article(db, article_id)
    assert row["gone_since"] is None and row["version_count"] == 2 and "本文已于近日修订" in row["text"]
    back = json.loads(db.execute("select detail from article_events where event = 'back'").fetchone()[0])
    assert back["changed"] is True and back["days_gone"] == 100


def test_page_without_text_is_an_error_not_a_deletion(db):
    article_id = archive(db)
    empty = "<html><head><title>泰州市人民政府</title></head><body><div class='article'></div></body></html>".encode()
    assert apply_recheck(db, answer(200, empty, at=T0 + timedelta(days=200))) == ERROR
    row = article(db, article_id)
    assert row["gone_since"] is None and row["last_check_outcome"] == ERROR and row["text"]


def test_response_for_unknown_url(db):
    assert apply_recheck(db, answer(200, page(), at=T0)) == UNKNOWN
    assert captures(db) == 0


def test_schema_is_idempotent_and_upgrades_old_archives(tmp_path):
    old = storage.open_db(tmp_path / "old.db")
    old["articles"].create({"id": int, "url": str, "title": str, "text": str}, pk="id")
    old["articles"].insert({"id": 1, "url": URL, "title": "t", "text": "x"})
    recheck.ensure_recheck_schema(old)
    recheck.ensure_recheck_schema(old)
    assert {"gone_since", "last_checked", "version_count", "seen_capture_id"} <= set(old["articles"].columns_dict)
    assert {"changed_articles", "deleted_articles"} <= set(old.view_names())
    assert old["articles"].get(1)["text"] == "x"
    old.close()
