"""facts / projects tables on a real SQLite archive: written with the article, idempotent, one per cluster."""

from pipelines.facts import extract_facts
from pipelines.facts.store import store_facts, store_facts_many
from pipelines.process.archive import archive_capture, reextract_all
from pipelines.store import migrations, storage
from pipelines.store.storage import Capture

TEXT = ("3月2日，姜堰区重大项目集中开工。区委书记方明远出席。其中，智能装备产业园项目总投资12亿元，计划年底竣工投产；"
        "电子材料项目总投资5000万美元。")
PAGE = f"""<html><head><meta charset="gbk"><title>项目集中开工</title>
<meta name="PubDate" content="2024-03-04 09:00"></head><body><div class="article"><h1>项目集中开工</h1>
<p>{TEXT}</p><p>全区上下要以项目建设为抓手，推动经济社会高质量发展，为全年目标任务打下坚实基础。</p>
</div></body></html>""".encode("gbk")


def archive(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    return db


def add_article(db, url, text=TEXT, published="2024-03-04"):
    article = {"url": url, "title": "项目", "text": text, "published": published}
    row = storage.article_row(article, source_id="a", region="江苏省泰州市", capture_id=None,
                              fetched_at="2024-03-05T00:00:00Z")
    article_id, _ = storage.upsert_article(db, row)
    return article_id


def test_facts_and_projects_written_when_a_capture_is_archived(tmp_path):
    db = archive(tmp_path)
    url = "http://jy.gov.cn/art/2024/3/4/1.html"
    capture = Capture(url=url, final_url=url, status=200,
                      headers={"Content-Type": "text/html; charset=gbk"}, body=PAGE,
                      fetched_at="2024-03-05T00:00:00Z", source_id="a")
    archived = archive_capture(db, capture, region="江苏省泰州市")
    facts = list(db.query("select * from facts where article_id = ? order by start", [archived.article_id]))
    kinds = [f["kind"] for f in facts]
    assert kinds.count("investment") == 2 and "official" in kinds and "event_date" in kinds
    cny = next(f for f in facts if f["kind"] == "investment" and f["currency"] == "CNY")
    assert cny["amount_cny"] == 1_200_000_000 and cny["place"] == "姜堰区" and cny["place_code"] == "321204"
    assert cny["month"] == "2024-03" and cny["url"] == capture.url
    text = db["articles"].get(archived.article_id)["text"]
    assert text[cny["start"]:cny["end"]] == "总投资12亿元"
    project, usd_project = list(db.query("select * from projects order by start"))
    assert (usd_project["name"], usd_project["amount"], usd_project["amount_cny"]) == ("电子材料项目", 50_000_000, None)
    assert (project["name"], project["amount_cny"], project["stage"], project["place"], project["date"]) == (
        "智能装备产业园项目", 1_200_000_000, "竣工", "姜堰区", "2024-03-02")
    assert project["fact_id"] == cny["id"]
    # reextract rebuilds the facts without duplicating them
    before = db["facts"].count
    reextract_all(db)
    assert db["facts"].count == before and db["projects"].count == 2


def test_store_facts_is_idempotent_and_sums_count_each_cluster_once(tmp_path):
    db = archive(tmp_path)
    first = add_article(db, "http://a.gov.cn/1.html")
    repost = add_article(db, "http://farm.example.com/2.html")
    other = add_article(db, "http://b.gov.cn/3.html", text="姜堰区新签约项目总投资8亿元。")
    for article_id in (first, repost, other):
        store_facts(db, article_id, extract_facts(db["articles"].get(article_id)["text"], "2024-03-04"))
    store_facts(db, first, extract_facts(TEXT, "2024-03-04"))
    sql = "select count(*) from facts where article_id = ? and kind = 'investment'"
    assert db.execute(sql, [first]).fetchone()[0] == 2
    # the two copies of one press release form a lineage cluster
    db["clusters"].insert({"id": 1, "canonical_article_id": first, "size": 2})
    db["article_clusters"].insert_all([{"article_id": first, "cluster_id": 1, "is_canonical": 1},
                                       {"article_id": repost, "cluster_id": 1, "is_canonical": 0}])
    total = db.execute("select sum(amount_cny) from investment_announcements where currency = 'CNY'").fetchone()[0]
    assert total == 1_200_000_000 + 800_000_000  # not 2 x 12亿
    raw = db.execute("select sum(amount_cny) from facts where kind = 'investment'").fetchone()[0]
    assert raw == 2 * 1_200_000_000 + 800_000_000


def test_a_batch_of_articles_stores_what_one_by_one_stores(tmp_path):
    """The processing writer stores a batch's facts at once: the same rows as storing each article in
    turn (ids may differ when old rows go first: compared through what they point at), and an article
    twice in one batch keeps its last facts only."""
    texts = [TEXT, "姜堰区新签约项目总投资8亿元。", "泰州市智能制造项目总投资3亿元，今年开工建设。"]
    tables = []
    for name, batched in (("one.db", False), ("batch.db", True)):
        db = archive(tmp_path / name)
        ids = [add_article(db, f"http://a.gov.cn/{k}.html", text) for k, text in enumerate(texts)]
        store_facts(db, ids[2], extract_facts(texts[2], "2024-03-04"))  # an earlier run's facts, replaced
        items = [({"id": i, "url": f"http://a.gov.cn/{k}.html", "published": "2024-03-04", "text": texts[k]},
                  extract_facts(texts[k], "2024-03-04")) for k, i in enumerate(ids)]
        if batched:
            stale = ({**items[0][0]}, extract_facts("姜堰区项目总投资1亿元。", "2024-03-04"))
            with db.conn:
                store_facts_many(db, [stale, *items])
        else:
            for article, facts in items:
                store_facts(db, article["id"], facts, article=article)
        facts = {f.pop("id"): f for f in db.query("select * from facts order by id")}
        projects = [{**p, "id": None, "fact_id": facts[p["fact_id"]]}
                    for p in db.query("select * from projects order by id")]
        tables.append((list(facts.values()), projects))
    assert tables[0] == tables[1]
    facts, projects = tables[1]
    assert len(projects) == 4 and not any(f["amount_cny"] == 100_000_000 for f in facts)
    assert all(p["fact_id"]["article_id"] == p["article_id"] and p["fact_id"]["kind"] == "investment" for p in projects)
    assert [p["stage"] for p in projects if p["name"] == "泰州市智能制造项目"] == ["开工"]


def test_migration_backfills_facts_of_an_older_archive(tmp_path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.MIGRATIONS[0].apply(db)  # an archive of govbrief 0.1: schema version 1, no facts
    db.execute("PRAGMA user_version = 1")
    db["articles"].insert({"id": 1, "url": "http://a.gov.cn/1.html", "text": TEXT, "published": "2024-03-04",
                           "region": "江苏省泰州市"})
    applied = migrations.migrate(db)
    assert 40 in applied and 41 in applied
    assert db.execute("select count(*) from facts where kind = 'investment'").fetchone()[0] == 2
    assert migrations.schema_version(db) == migrations.SCHEMA_VERSION


def test_a_project_in_traditional_script_gets_its_stage(tmp_path):
    """The stage is read from the project's sentence folded to simplified script (開工 is 开工), the
    next sentence's words not counted."""
    db = archive(tmp_path)
    text = "泰州市新材料項目總投資2億元，今年開工建設。明年竣工。"
    article_id = add_article(db, "http://a.gov.cn/t.html", text)
    store_facts(db, article_id, extract_facts(text, "2024-03-04"))
    assert [(p["name"], p["stage"]) for p in db.query("select * from projects")] == [("泰州市新材料項目", "开工")]


def test_a_batch_larger_than_one_statement_names(tmp_path, monkeypatch):
    """More articles than one DELETE lists (SQLite caps a statement's parameters; the chunk is made
    small here so that 1,200 articles span three): stored, and stored again without duplicates."""
    from pipelines.facts import store

    monkeypatch.setattr(store, "IDS_PER_STATEMENT", 500)
    db = archive(tmp_path)
    text = "姜堰区新签约项目总投资8亿元。"
    facts = extract_facts(text, "2024-03-04")
    with db.conn:
        ids = [add_article(db, f"http://a.gov.cn/{k}.html", text) for k in range(1200)]
    items = [({"id": i, "url": f"http://a.gov.cn/{k}.html", "published": "2024-03-04", "text": text}, facts)
             for k, i in enumerate(ids)]
    for _ in range(2):
        with db.conn:
            store_facts_many(db, items)
    assert db["facts"].count == 1200 * len(facts) and db["projects"].count == 1200
