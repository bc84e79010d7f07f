"""Exact-substring recall of the Chinese search index against LIKE scans, and index maintenance."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from conftest_search import HAND_WRITTEN, article_dict, build_archive

from pipelines.search import search_index
from pipelines.search.search_index import fold, match_expression, search_ids
from pipelines.store import migrations, storage


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("search"))


@pytest.fixture(scope="module")
def conn(archive: Path) -> sqlite3.Connection:
    c = sqlite3.connect(archive)
    search_index.register_functions(c)
    return c


def like_ids(conn: sqlite3.Connection, query: str, *, columns: str = "folded") -> set[int]:
    """The reference: a LIKE scan. 'folded' compares govbrief_fold() of title and text (the
    documented meaning of "contains"); 'simplified' uses the stored OpenCC columns."""
    q = fold(query)
    assert "%" not in q and "_" not in q
    if columns == "folded":
        sql = ("select id from articles where govbrief_fold(title) like '%' || ? || '%' "
               "or govbrief_fold(text) like '%' || ? || '%'")
    else:
        sql = ("select id from articles where lower(title_simplified) like '%' || ? || '%' "
               "or lower(text_simplified) like '%' || ? || '%'")
    return {r[0] for r in conn.execute(sql, [q, q])}


def corpus_substrings(conn: sqlite3.Connection, length: int) -> list[str]:
    """Every distinct substring of this length inside a run of word characters, in any article."""
    found: set[str] = set()
    for title, text in conn.execute("select title, text from articles"):
        for run in search_index.runs(title) + search_index.runs(text):
            found.update(run[i:i + length] for i in range(len(run) - length + 1))
    return sorted(found)


def test_fold_is_t2s_width_and_case_one_character_at_a_time() -> None:
    assert fold("農業項目") == "农业项目"
    assert fold("ＧＤＰ２０２４") == "gdp2024"
    assert fold("Nanjing") == "nanjing"
    # one character at a time: 乾 folds the same alone and inside 乾隆 (OpenCC phrases would not)
    assert fold("乾隆")[0] == fold("乾")
    assert len(fold("臺灣經濟發展")) == 6


def test_tokens_are_bigrams_plus_a_tail_per_run() -> None:
    assert search_index.tokens("項目建設，泰州") == "项目 目建 建设 设 泰州 州"
    assert search_index.tokens("a") == "a"
    assert search_index.tokens("，。") == ""


@pytest.mark.parametrize("length", [2, 3, 5])
def test_recall_equals_like_for_every_substring(conn: sqlite3.Connection, length: int) -> None:
    queries = corpus_substrings(conn, length)
    if len(queries) > 400:  # all 2-grams; a deterministic sample of the longer ones
        queries = random.Random(length).sample(queries, 400)
    assert len(queries) >= 100
    for q in queries:
        expected = like_ids(conn, q)
        assert expected, q  # taken from the corpus, so it occurs somewhere
        assert set(search_ids(conn, q)) == expected, q


def test_recall_for_absent_strings_is_empty(conn: sqlite3.Connection) -> None:
    rng = random.Random(5)
    alphabet = "项目建设泰州招商农业发展经济区县市镇"
    checked = 0
    for _ in range(300):
        q = "".join(rng.choice(alphabet) for _ in range(rng.choice([3, 4, 5])))
        expected = like_ids(conn, q)
        assert set(search_ids(conn, q)) == expected, q
        checked += not expected
    assert checked > 50  # many of them really are absent


def test_one_character_queries(conn: sqlite3.Connection) -> None:
    chars = sorted({c for q in corpus_substrings(conn, 1) for c in q})
    assert len(chars) > 50
    for c in chars:
        assert set(search_ids(conn, c)) == like_ids(conn, c), c


def test_recall_equals_like_on_the_simplified_columns(conn: sqlite3.Connection) -> None:
    """The stored OpenCC columns give the same answers for these queries (phrase-aware OpenCC
    can differ from per-character folding only on rare characters such as 乾/干)."""
    for q in ["项目", "农业", "发展项目", "泰州", "招商引资", "经济", "铁路", "机场", "区县", "产业园区"]:
        assert set(search_ids(conn, q)) == like_ids(conn, q, columns="simplified"), q


@pytest.mark.parametrize("traditional, simplified", [
    ("農業", "农业"), ("項目", "项目"), ("發展", "发展"), ("經濟", "经济"), ("鐵路", "铁路"),
    ("臺中", "台中"), ("產業園區", "产业园区"), ("機場", "机场"),
])
def test_traditional_and_simplified_find_each_other(conn: sqlite3.Connection, traditional: str,
                                                    simplified: str) -> None:
    hits = set(search_ids(conn, traditional))
    assert hits
    assert hits == set(search_ids(conn, simplified)) == like_ids(conn, simplified)


def test_hand_written_expectations(conn: sqlite3.Connection) -> None:
    titles = {r[0]: r[1] for r in conn.execute("select id, title from articles")}

    def found(q: str) -> set[str]:
        return {titles[i] for i in search_ids(conn, q)}

    assert "農業發展項目啟動" in found("农业")  # traditional article, simplified query
    assert "泰州市重大项目集中开工" in found("農業") | found("项目")
    assert found("gdp") == {"一季度经济运行情况"}  # full-width ＧＤＰ in the text
    assert found("NANJING") == {"新区营商环境持续优化"}
    assert found("泰州 招商") == found("泰州") & found("招商")  # AND
    assert "泰州招商引资推介会在上海举行" in found("泰州 招商")


def test_terms_and_quoted_phrases(conn: sqlite3.Connection) -> None:
    ids = set(search_ids(conn, "泰州 项目")) & set(search_ids(conn, "开工"))
    assert set(search_ids(conn, "泰州 项目 开工")) == ids
    # "重点任务，推进" is in an article: the phrase matches across the comma, the run does not
    assert search_ids(conn, '"重点任务 推进"')
    assert search_ids(conn, "“重点任务 推进”") == search_ids(conn, '"重点任务 推进"')
    assert not search_ids(conn, "重点任务推进")
    assert search_ids(conn, "6.1")  # "增长6.1%": digits with a separator inside


def test_match_expressions() -> None:
    assert match_expression("项目") == '"项目"'
    assert match_expression("項目建設") == '"项目 目建 建设"'
    assert match_expression("项") == '"项" *'
    assert match_expression("泰州 项目") == '"泰州" AND "项目"'
    assert match_expression('"项目 建设"') == '"项目 目 建设"'
    assert match_expression("，。 ") is None
    assert match_expression('AND OR "NOT') == '"an nd" AND "or" AND "no ot"'  # operators are just words


def test_ranking_puts_title_hits_first_and_newest_option(conn: sqlite3.Connection) -> None:
    rows = {r[0]: (r[1], r[2], r[3]) for r in conn.execute("select id, title, text, published from articles")}
    ranked = search_ids(conn, "招商")
    title_hits = [i for i in ranked if "招商" in fold(rows[i][0])]
    assert title_hits and ranked[: len(title_hits)] == title_hits
    newest = search_ids(conn, "招商", order="newest")
    assert sorted(newest) == sorted(ranked)
    dates = [rows[i][2] for i in newest]
    assert dates == sorted(dates, reverse=True)


def test_snippet_and_highlight_escape_and_mark() -> None:
    text = "前言" * 50 + '<img src=x onerror="alert(1)">農業項目' + "后记" * 50
    snip = search_index.snippet(text, "农业", width=40)
    assert "<mark>農業</mark>" in snip
    # the only markup is <mark>: the cut-off tag before the hit stays escaped text
    assert "<" not in snip.replace("<mark>", "").replace("</mark>", "")
    assert "&quot;&gt;<mark>" in snip
    assert snip.startswith("…") and snip.endswith("…")
    assert search_index.highlight("<b>项目</b>", "项目") == "&lt;b&gt;<mark>项目</mark>&lt;/b&gt;"
    # folding changes the length (NFKC ㍿ -> 株式会社): marks still land on the original characters
    assert search_index.highlight("㍿项目", "项目") == "㍿<mark>项目</mark>"


def _fts_ids(db: storage.sqlite_utils.Database, q: str) -> set[int]:
    return set(search_ids(db.conn, q))


def test_index_follows_updates_deletes_and_raw_sql(tmp_path: Path) -> None:
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    rows = [article_dict(i, *r) for i, r in enumerate(HAND_WRITTEN[:5])]
    ids = [storage.upsert_article(db, storage.article_row(r, source_id=r["url"], region=None, capture_id=None,
                                                          fetched_at="2024-01-01T00:00:00Z"))[0] for r in rows]
    assert ids[0] in _fts_ids(db, "集中开工")

    # re-extraction changed the text: old words gone, new ones found, nothing else disturbed
    changed = storage.article_row({**rows[0], "text": "改写后的正文提到光伏储能。"}, source_id="x", region=None,
                                  capture_id=None, fetched_at="2024-02-01T00:00:00Z")
    assert storage.upsert_article(db, changed) == (ids[0], False)
    assert ids[0] not in _fts_ids(db, "总投资超过")
    assert _fts_ids(db, "光伏储能") == {ids[0]}
    assert ids[0] in _fts_ids(db, "集中开工")  # still in the title
    # an unchanged re-upsert leaves nothing pending and changes nothing
    storage.upsert_article(db, changed)
    assert db.execute(f"select count(*) from {search_index.PENDING_TABLE}").fetchone()[0] == 0

    # another module updates and deletes with plain SQL; the triggers keep the old version so a
    # later sync deletes exactly what was indexed
    with db.conn:
        db.execute("update articles set text = '风电项目' where id = ?", [ids[1]])
        db.execute("update articles set text = '海上风电项目' where id = ?", [ids[1]])
        db.execute("delete from articles where id = ?", [ids[2]])
        db.execute("insert into articles (url, title, text) values ('https://x/new', '新文章', '氢能产业')")
    with db.conn:
        assert search_index.sync_search_index(db) == 3
    assert _fts_ids(db, "风电项目") == {ids[1]}
    assert ids[2] not in _fts_ids(db, "农业")
    assert len(_fts_ids(db, "氢能")) == 1
    assert db.execute(f"insert into {search_index.FTS_TABLE}({search_index.FTS_TABLE}) "
                      "values('integrity-check')") is not None

    # every query still agrees with a LIKE scan after all this
    search_index.register_functions(db.conn)
    for q in ["项目", "光伏", "风电", "开工", "农业", "泰州", "氢能", "新"]:
        assert _fts_ids(db, q) == like_ids(db.conn, q), q

    # ensure_schema again is a no-op for a current index; a rebuild gives the same answers
    before = {q: _fts_ids(db, q) for q in ["项目", "风电", "招商"]}
    migrations.ensure_schema(db)
    assert search_index.rebuild_search_index(db) == 5
    assert {q: _fts_ids(db, q) for q in before} == before


def test_a_batch_written_together_is_indexed_together(tmp_path: Path) -> None:
    """The processing writer upserts a batch with index=False and indexes it at the end: one FTS5
    segment for the batch (a row at a time inside savepoints made a segment per row), the same hits,
    and an article changed twice within the batch loses exactly what the index held."""
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)

    def row(i: int, text: str | None = None) -> dict:
        r = article_dict(i, *HAND_WRITTEN[i % len(HAND_WRITTEN)])
        return storage.article_row({**r, "url": f"https://x/{i}", "text": text or r["text"]}, source_id="s",
                                   region=None, capture_id=None, fetched_at="2024-01-01T00:00:00Z")

    first = storage.upsert_article(db, row(0))[0]  # indexed on its own, before the batch
    with db.conn:
        ids = []
        for i in range(1, 25):
            with db.conn:  # each capture in a savepoint of its own, as store_processed writes them
                ids.append(storage.upsert_article(db, row(i), index=False)[0])
        with db.conn:
            storage.upsert_article(db, row(0, "第一次改写提到潮汐能。"), index=False)
        with db.conn:
            storage.upsert_article(db, row(0, "第二次改写提到地热能。"), index=False)
        assert db.execute(f"select count(*) from {search_index.PENDING_TABLE}").fetchone()[0] == 25
        before = db.execute(f"select count(distinct segid) from {search_index.FTS_TABLE}_idx").fetchone()[0]
        search_index.index_rows(db, search_index.ARTICLES, [*ids, first])
    segments = db.execute(f"select count(distinct segid) from {search_index.FTS_TABLE}_idx").fetchone()[0]
    assert segments - before <= 1
    assert db.execute(f"select count(*) from {search_index.PENDING_TABLE}").fetchone()[0] == 0
    assert _fts_ids(db, "地热能") == {first} and _fts_ids(db, "潮汐能") == set()
    search_index.register_functions(db.conn)
    for q in ["项目", "开工", "地热", "招商", "集中开工"]:
        assert _fts_ids(db, q) == like_ids(db.conn, q), q
    db.execute(f"insert into {search_index.FTS_TABLE}({search_index.FTS_TABLE}) values('integrity-check')")


def test_lost_old_version_triggers_a_rebuild(tmp_path: Path) -> None:
    """INSERT OR REPLACE skips delete triggers; the next sync notices and rebuilds the index."""
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    r = article_dict(0, *HAND_WRITTEN[0])
    article_id, _ = storage.upsert_article(db, storage.article_row(r, source_id="a", region=None, capture_id=None,
                                                                   fetched_at="2024-01-01T00:00:00Z"))
    with db.conn:
        db.execute("insert or replace into articles (id, url, title, text) values (?, ?, '替换', '潮汐能')",
                   [article_id, r["url"]])
        search_index.index_article(db, article_id)
    assert _fts_ids(db, "潮汐能") == {article_id}
    assert _fts_ids(db, "集中开工") == set()


def test_stale_index_version_is_rebuilt(tmp_path: Path) -> None:
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    r = article_dict(0, *HAND_WRITTEN[0])
    storage.upsert_article(db, storage.article_row(r, source_id="a", region=None, capture_id=None,
                                                   fetched_at="2024-01-01T00:00:00Z"))
    with db.conn:
        db.execute(f"update {search_index.INFO_TABLE} set value = 'old-format' where key = 'version'")
        db.execute(f"delete from {search_index.FTS_TABLE}_data")  # an unusable old index
    migrations.ensure_schema(db)
    assert _fts_ids(db, "集中开工") == {1}


def test_fold_table_is_the_per_character_definition():
    """fold_table is built in one OpenCC call; it must equal NFKC + lower + t2s of each character alone."""
    import unicodedata

    from pipelines.chinese import _t2s
    from pipelines.search.search_index import _CJK_RANGES, fold_table

    t2s = _t2s()
    expected = {}
    for cp in range(0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        folded = unicodedata.normalize("NFKC", chr(cp)).lower()
        folded = "".join(t2s.convert(c) if any(a <= ord(c) < b for a, b in _CJK_RANGES) else c for c in folded)
        if folded != chr(cp):
            expected[cp] = folded
    assert fold_table() == expected
    assert fold_table()[ord("⾨")] == "门" and fold_table()[ord("Ａ")] == "a" and fold_table()[ord("國")] == "国"


def _attachment_ids(db: storage.sqlite_utils.Database, query: str) -> set[int]:
    fts = search_index.ATTACHMENTS.fts
    return {r[0] for r in db.execute(f"select rowid from {fts} where {fts} match ?",
                                     [match_expression(query)]).fetchall()}


def test_attachments_are_searched_like_articles_and_follow_a_refetch(tmp_path: Path) -> None:
    """Attachments use the articles' index (2-character and Traditional queries find them; trigram found
    nothing under 3 characters). The crawl lists a file without its text; processing writes the text and
    indexes it; a later fetch of a changed file replaces what the index holds, nothing stale is left."""
    from pipelines.attachments.store import record_attachment, store_attachment_text
    from pipelines.store.storage import Capture

    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    assert not db["attachments"].detect_fts()  # no trigram index beside ours

    def fetch(body: bytes, link_text: str, fetched_at: str) -> int:
        capture = Capture(url="http://www.example.gov.cn/files/list.xlsx", final_url="http://www.example.gov.cn/files/list.xlsx",
                          status=200, headers={"Content-Type": "application/vnd.ms-excel"}, body=body,
                          fetched_at=fetched_at, source_id="example-gov")
        with db.conn:
            attachment_id = record_attachment(db, capture, article_url="http://www.example.gov.cn/xw/t1.html",
                                              link_text=link_text)
        return attachment_id

    first = fetch(b"v1", "签约项目清单", "2024-03-06T00:00:00Z")
    capture_id = db["attachments"].get(first)["capture_id"]
    with db.conn:
        store_attachment_text(db, capture_id, "道路改造工程 总投资12亿元")
    assert _attachment_ids(db, "道路") == {first} == _attachment_ids(db, "清单") == _attachment_ids(db, "道路改造")
    assert _attachment_ids(db, "項目") == {first}  # Traditional query, Simplified text

    second = fetch(b"v2", "开工项目名单", "2024-04-06T00:00:00Z")
    assert second == first
    with db.conn:
        store_attachment_text(db, db["attachments"].get(first)["capture_id"], "污水处理厂扩建 总投资3亿元")
    assert _attachment_ids(db, "污水") == {first} == _attachment_ids(db, "名单")
    assert _attachment_ids(db, "道路") == set() == _attachment_ids(db, "清单")  # the old version is gone
    # the index agrees with a rebuild from the rows
    search_index.rebuild_search_index(db)
    assert _attachment_ids(db, "污水") == {first} and _attachment_ids(db, "道路") == set()


def test_an_archive_with_the_trigram_attachment_index_is_migrated(tmp_path: Path) -> None:
    """Archives made before migration 61 carry sqlite-utils' trigram index on attachments: it goes,
    and their attachments are found through the Chinese index, 2-character queries included."""
    from pipelines.store import migrations

    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    with db.conn:
        db["attachments"].insert({"article_url": "http://a.gov.cn/t1.html", "url": "http://a.gov.cn/f.pdf",
                                  "link_text": "项目计划表", "text": "道路改造工程", "kind": "pdf"})
        db["attachments"].enable_fts(["link_text", "text"], create_triggers=True, tokenize="trigram")
        db.execute("pragma user_version = 60")
        db.execute(f"update {search_index.INFO_TABLE} set value = 'bigram-tail-1:old' where key = 'version'")
    migrations.ensure_schema(db)
    assert migrations.schema_version(db) == migrations.SCHEMA_VERSION
    assert not db["attachments"].detect_fts() and "attachments_fts" not in db.table_names()
    assert _attachment_ids(db, "道路") == {1} == _attachment_ids(db, "计划")
