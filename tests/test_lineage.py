"""Repost lineage on a small hand-made archive: reposts, spam, Traditional copies, edits, and
different articles about the same meeting."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipelines.chinese import _s2t, detect_script, to_simplified
from pipelines.lineage import clusters as lineage
from pipelines.store import migrations, storage

ORIGINAL = """1月14日，兰山区2024年重大项目推进会召开。区委书记龙旭勇出席会议并讲话，区长顾新清主持会议。
会上，21个重大项目集中签约，总投资138亿元，涵盖集成电路、电子信息、现代农业等领域。
其中，恒泰精密机械集团投资建设的动力电池生产基地项目总投资69.4亿元，项目建成后预计年产值5亿元。
永邦科技集团有限公司投资建设的智能家居生产基地项目总投资77.1亿元，计划明年上半年建成投产。
去年以来，兰山区新签约亿元以上项目148个，同比增长27.3%，项目落地率、开工率创近年最好成绩。
龙旭勇强调，要突出精准招商，聚焦主导产业强链补链延链，大力开展以商招商、产业链招商和驻点招商。
要强化要素保障，围绕土地、资金、能耗、用工等关键要素主动靠前服务，确保项目早开工、早投产。
顾新清要求，各部门要压实工作责任，严格落实重大项目领导挂钩联系制度，一个项目一名领导一抓到底。
会前，与会人员实地观摩了柳青街道智能制造产业园等6个重点项目建设现场。"""

SPAM_TOP = """当前位置：首页 > 临沂产业信息 > 正文内容
产业招商/厂房土地租售：400 2914 565 或微信/手机：13750991827
请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。"""
SPAM_BOTTOM = """版权声明：本文由网络蜘蛛自动收集于网络，如需转载请查明并注明出处，如有不妥之处请联系我们删除
相关文章
上海市镇江商会捐善款关爱学子，向镇江实验学校官塘分校捐赠善款，向30位家庭困难学生提供帮助。
市商务局赴苏州、宿迁学习交流招商引资工作，认真学习周边地区在项目信息获取、服务推动方面的做法。
埤城镇位于丹阳市东北郊，东与后巷镇毗邻，南与丹阳市区云阳镇、开发区接壤，全镇面积73.5平方公里。
Copyright © 产业园区招商网 版权所有"""

# a sentence changed (the quote of the district head) and one figure corrected
EDITED = ORIGINAL.replace(
    "顾新清要求，各部门要压实工作责任，严格落实重大项目领导挂钩联系制度，一个项目一名领导一抓到底。",
    "顾新清指出，要大力弘扬马上就办真抓实干的作风，以干部的辛苦指数换取项目建设的加速度。",
).replace("148个", "150个")

# the same meeting, the same people and places, but a different article (another outlet's report)
# (it shares the opening sentence and one quote with ORIGINAL word for word, as such reports do)
SAME_MEETING_1 = """1月14日，兰山区2024年重大项目推进会召开。区委书记龙旭勇出席会议并讲话，区长顾新清主持会议。
龙旭勇强调，要突出精准招商，聚焦主导产业强链补链延链，大力开展以商招商、产业链招商和驻点招商。
龙旭勇指出，过去一年全区上下坚持项目为王，项目建设取得明显成效，为全年经济稳定增长打下了坚实基础。
龙旭勇强调，要加快在建项目进度，倒排工期、挂图作战，力争早日建成投产、释放产能。
要坚持招大引强，紧盯行业龙头和上市企业，引进一批投资体量大、科技含量高、带动能力强的产业项目。
要持续优化营商环境，深化放管服改革，推行拿地即开工审批模式，为项目建设提供全生命周期服务。
顾新清就做好下一阶段项目建设工作作具体安排，要求各街道各部门对照目标任务，逐项抓好落实。
会议通报了2023年度项目建设考核结果，柳青街道、兰山街道等单位作交流发言。"""

SAME_MEETING_2 = """兰山区重大项目推进会上，区委书记龙旭勇为获评2023年度项目建设先进单位的柳青街道等颁奖。
据介绍，2023年兰山区实施市级以上重点项目96个，完成投资312亿元，其中工业项目占比超过六成。
今年全区计划实施重点项目120个，年度计划投资360亿元，新开工亿元以上项目不少于50个。
区发展改革局负责人介绍，今年将建立重点项目月调度、季观摩、年考核机制，对进度滞后项目挂牌督办。
区自然资源局、区住房城乡建设局负责人分别就土地保障和审批服务作表态发言。
区长顾新清在总结时说，要把项目建设作为检验干部作风和能力的主战场，以项目建设的实绩论英雄。"""

UNRELATED = """3月2日，泰州市海陵区召开优化营商环境大会，区委书记蓝绍敏出席会议并讲话。
会议总结了2023年营商环境建设成效，部署了今年政务服务改革、企业服务专员制度等十项重点任务。
蓝绍敏要求，各部门要树立企业有求必应、无事不扰的服务理念，切实解决企业急难愁盼问题。
会上，区政务服务管理办公室、区市场监督管理局等单位负责人作表态发言。"""


def _article(url: str, title: str, text: str, *, source_id: str, published: str | None,
             fetched_at: str, source_org: str | None = None) -> dict:
    return {"url": url, "title": title, "text": text, "published": published, "source_org": source_org,
            "script": detect_script(text), "title_simplified": to_simplified(title),
            "text_simplified": to_simplified(text)}


def _add(db, art: dict, *, source_id: str, fetched_at: str) -> int:
    row = storage.article_row(art, source_id=source_id, region=None, capture_id=None, fetched_at=fetched_at)
    article_id, _ = storage.upsert_article(db, row)
    return article_id


@pytest.fixture()
def archive(tmp_path: Path):
    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    lineage.ensure_lineage_schema(db)
    db["sources"].insert_all([
        {"id": "sohu", "name": "搜狐"}, {"id": "farm", "name": "产业园区招商网"},
        {"id": "linyi-gov", "name": "临沂市兰山区人民政府"}, {"id": "wenku", "name": "如来文库"},
        {"id": "news", "name": "临沂日报"}, {"id": "taizhou-gov", "name": "泰州市人民政府"},
    ], pk="id")
    title = "总投资138亿元！兰山区一批重大项目集中签约"
    trad = _s2t().convert(ORIGINAL)
    ids = {}
    # the copies are fetched BEFORE the government page and one farm claims an earlier date:
    # the canonical must still be the government page
    ids["sohu"] = _add(db, _article("https://www.sohu.com/a/790042182_980020", title,
                                    f"原标题：{title}\n{ORIGINAL}\n来源：临沂市兰山区人民政府\n责任编辑：张三",
                                    source_id="sohu", published="2024-01-15", fetched_at="2024-01-15T01:00:00Z"),
                       source_id="sohu", fetched_at="2024-01-15T01:00:00Z")
    ids["farm"] = _add(db, _article("https://www.cyyqzs.com/linyi/57844.html", "兰山区一批重大项目集中签约_产业信息",
                                    f"{SPAM_TOP}\n{ORIGINAL}\n{SPAM_BOTTOM}", source_id="farm",
                                    published="2024-01-13", fetched_at="2024-01-14T20:00:00Z"),
                       source_id="farm", fetched_at="2024-01-14T20:00:00Z")
    ids["gov"] = _add(db, _article("http://www.lanshan.gov.cn/xwzx/zwyw/202401/t20240114_1.html", title,
                                   ORIGINAL, source_id="linyi-gov", published="2024-01-14",
                                   fetched_at="2024-01-16T00:00:00Z"),
                      source_id="linyi-gov", fetched_at="2024-01-16T00:00:00Z")
    ids["trad"] = _add(db, _article("https://www.rulaiwenku.com/88640.html", _s2t().convert(title), trad,
                                    source_id="wenku", published="2024-01-20", fetched_at="2024-01-21T00:00:00Z"),
                       source_id="wenku", fetched_at="2024-01-21T00:00:00Z")
    ids["edited"] = _add(db, _article("https://www.lynews.com.cn/2024/0115/1.html", "兰山区21个重大项目集中签约",
                                      EDITED, source_id="news", published="2024-01-15",
                                      fetched_at="2024-01-15T08:00:00Z"),
                         source_id="news", fetched_at="2024-01-15T08:00:00Z")
    ids["meeting1"] = _add(db, _article("http://www.lanshan.gov.cn/xwzx/zwyw/202401/t20240114_2.html",
                                        "兰山区召开2024年重大项目推进会", SAME_MEETING_1, source_id="linyi-gov",
                                        published="2024-01-14", fetched_at="2024-01-16T00:00:00Z"),
                           source_id="linyi-gov", fetched_at="2024-01-16T00:00:00Z")
    ids["meeting2"] = _add(db, _article("https://www.lynews.com.cn/2024/0115/2.html", "兰山区表彰项目建设先进单位",
                                        SAME_MEETING_2, source_id="news", published="2024-01-15",
                                        fetched_at="2024-01-15T08:00:00Z"),
                           source_id="news", fetched_at="2024-01-15T08:00:00Z")
    ids["unrelated"] = _add(db, _article("https://www.taizhou.gov.cn/xwzx/1.html", "海陵区召开优化营商环境大会",
                                         UNRELATED, source_id="taizhou-gov", published="2024-03-02",
                                         fetched_at="2024-03-02T00:00:00Z"),
                            source_id="taizhou-gov", fetched_at="2024-03-02T00:00:00Z")
    ids["empty"] = _add(db, _article("https://www.sohu.com/a/1", "图片", "", source_id="sohu", published=None,
                                     fetched_at="2024-03-02T00:00:00Z"),
                        source_id="sohu", fetched_at="2024-03-02T00:00:00Z")
    return db, ids


def _clusters(db) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for r in db.query("select article_id, cluster_id from article_clusters"):
        out.setdefault(r["cluster_id"], set()).add(r["article_id"])
    return {frozenset(v) for v in out.values()}


def test_exactly_the_right_clusters(archive) -> None:
    db, ids = archive
    stats = lineage.cluster_archive(db)
    expected = frozenset(ids[k] for k in ("gov", "sohu", "farm", "trad", "edited"))
    # the two other reports on the same meeting and the unrelated article stay on their own
    assert _clusters(db) == {expected}
    assert stats["clusters"] == 1 and stats["clustered_articles"] == 5 and stats["largest"] == 5

    cluster = db["clusters"].get(ids["gov"])
    assert cluster["canonical_article_id"] == ids["gov"] and cluster["size"] == 5
    rows = {r["article_id"]: r for r in db.query("select * from article_clusters")}
    assert rows[ids["gov"]]["is_canonical"] == 1
    assert sum(r["is_canonical"] for r in rows.values()) == 1
    assert rows[ids["farm"]]["similarity"] == 1.0  # all of the original is inside the spam page
    assert rows[ids["trad"]]["similarity"] > 0.95
    assert 0.8 <= rows[ids["edited"]]["similarity"] < 0.95
    # the Sohu repost names the government page as 来源 and its headline as 原标题
    assert "来源" in rows[ids["sohu"]]["evidence"] and rows[ids["sohu"]]["evidence"].startswith("text")
    assert "title" in rows[ids["sohu"]]["evidence"]


def test_idempotent(archive) -> None:
    db, ids = archive
    lineage.cluster_archive(db)
    first = sorted(tuple(sorted(r.items())) for r in db.query("select * from article_clusters"))
    clusters = list(db.query("select id, canonical_article_id, size from clusters"))
    lineage.cluster_archive(db)
    assert sorted(tuple(sorted(r.items())) for r in db.query("select * from article_clusters")) == first
    assert list(db.query("select id, canonical_article_id, size from clusters")) == clusters


def test_also_published_at(archive) -> None:
    db, ids = archive
    assert lineage.also_published_at(db, ids["farm"]) == []  # before clustering: nothing known
    lineage.cluster_archive(db)
    others = lineage.also_published_at(db, ids["farm"])
    assert [o["article_id"] for o in others][0] == ids["gov"] and others[0]["is_canonical"] is True
    assert {o["article_id"] for o in others} == {ids[k] for k in ("gov", "sohu", "trad", "edited")}
    assert {"url", "host", "source_id", "published", "is_canonical"} <= set(others[0])
    assert others[0]["host"] == "www.lanshan.gov.cn"
    assert lineage.also_published_at(db, ids["meeting1"]) == []
    assert lineage.also_published_at(db, ids["unrelated"]) == []


def test_canonical_without_government_copy(archive) -> None:
    """No government member: the earliest published wins, then the earliest fetched."""
    db, ids = archive
    db.execute("delete from articles where id = ?", [ids["gov"]])
    lineage.cluster_archive(db)
    (cluster,) = list(db.query("select * from clusters"))
    assert cluster["canonical_article_id"] == ids["farm"]  # published 2024-01-13
    db["articles"].update(ids["farm"], {"published": None})
    lineage.cluster_archive(db)
    (cluster,) = list(db.query("select * from clusters"))
    assert cluster["canonical_article_id"] in (ids["sohu"], ids["edited"])
    assert cluster["canonical_article_id"] == ids["sohu"]  # both 2024-01-15; Sohu was fetched first


def test_is_government() -> None:
    assert lineage.is_government("www.lanshan.gov.cn", None, None)
    assert lineage.is_government("www.gov.cn:443", None, None)
    assert lineage.is_government("www.info.gov.hk", None, None)
    assert lineage.is_government("example.com", "taizhou-gov", None)
    assert lineage.is_government("example.com", None, "泰州市人民政府")
    assert lineage.is_government("example.com", None, "泰州市商务局")
    assert not lineage.is_government("www.sohu.com", "sohu", "搜狐")
    assert not lineage.is_government("gov.cn.example.com", None, "产业园区招商网")


def test_shingles_ignore_script_punctuation_and_spacing() -> None:
    a = lineage.shingle_hashes(lineage.normalise(ORIGINAL))
    b = lineage.shingle_hashes(lineage.normalise(_s2t().convert(ORIGINAL).replace("，", ", ").replace("\n", "\n\n")))
    c, jac = lineage.pair_stats(a, b)
    assert c > 0.97 and jac > 0.95
    assert np.all(np.diff(a.astype(np.float64)) > 0)  # sorted unique
    # sketches of near-identical texts agree in most bins
    assert (lineage.oph_sketch(a) == lineage.oph_sketch(b)).mean() > 0.8


def test_pair_stats_count_the_shared_hashes_exactly() -> None:
    rng = np.random.default_rng(7)
    u64 = np.uint64
    cases = [(np.array([1, 5, 9], dtype=u64), np.array([9, 2**64 - 1], dtype=u64)),  # past the end
             (np.array([3], dtype=u64), np.array([1, 2], dtype=u64)),  # disjoint, above all
             (np.array([1, 2, 3], dtype=u64), np.array([1, 2, 3], dtype=u64))]
    for _ in range(50):
        pool = rng.integers(0, 2**63, 400, dtype=np.uint64)
        a, b = (np.unique(rng.choice(pool, rng.integers(1, 300))) for _ in range(2))
        cases.append((a, b))
    for a, b in cases:
        inter = len(set(a.tolist()) & set(b.tolist()))
        assert lineage.pair_stats(a, b) == (inter / min(len(a), len(b)), inter / (len(a) + len(b) - inter))
        assert lineage.pair_stats(b, a) == lineage.pair_stats(a, b)
    assert lineage.pair_stats(np.empty(0, dtype=u64), cases[0][1]) == (0.0, 0.0)
    # all at once (the verification of a batch's candidates) gives the same figures, in pair order,
    # with a text paired several times, an empty one, and more pairs than one sparse product takes
    texts = {k: a for k, (a, _) in enumerate(cases)} | {100 + k: b for k, (_, b) in enumerate(cases)}
    texts["empty"] = np.empty(0, dtype=u64)
    keys = list(texts)
    pairs = [(keys[i], keys[j]) for i, j in rng.integers(0, len(keys), (3 * lineage.PAIRS_PER_PRODUCT, 2))]
    pairs += [("empty", 0), (0, 0)]
    containment, jaccard = lineage.pair_stats_many(texts, pairs)
    expected = [lineage.pair_stats(texts[x], texts[y]) for x, y in pairs]
    assert containment.tolist() == [c for c, _ in expected] and jaccard.tolist() == [j for _, j in expected]


def test_no_pair_under_the_lowest_accepted_containment_is_accepted() -> None:
    """accepted_pairs asks accept_pair only from LOWEST_ACCEPTED up: below it, whatever the lengths,
    titles and 来源, accept_pair says no."""
    def doc(n_shingles: int, title: str = "某市召开重大项目推进会") -> lineage.Doc:
        return lineage.Doc(article_id=1, url="http://a.gov.cn/1.html", host="a.gov.cn", source_id="s-gov",
                           published="2024-03-05", first_fetched=None, title=title, orig_title=title,
                           sources=frozenset({"某市人民政府"}), publisher="某市人民政府", n_shingles=n_shingles,
                           government=True)
    below = np.nextafter(lineage.LOWEST_ACCEPTED, 0)
    for n in (5, lineage.MIN_SHINGLES - 1, lineage.MIN_SHINGLES, 500):
        for jaccard in (0.0, below / 2, below):
            assert lineage.accept_pair(doc(n), doc(n), below, jaccard) is None
    # another publisher: within one, the grey zone needs the text alone (a headline or 来源 is no evidence)
    other = dataclasses.replace(doc(500), article_id=2, url="http://b.gov.cn/2.html", host="b.gov.cn",
                                source_id="t-gov")
    assert lineage.accept_pair(doc(500), other, lineage.LOWEST_ACCEPTED, 0.1) is not None  # the floor is tight


def test_worker_processes_give_the_same_clusters(archive) -> None:
    db, _ = archive
    lineage.cluster_archive(db, workers=1)
    one = sorted(tuple(sorted(r.items())) for r in db.query("select * from article_clusters"))
    lineage.cluster_archive(db, workers=2)
    assert sorted(tuple(sorted(r.items())) for r in db.query("select * from article_clusters")) == one


def _memberships(db) -> list[tuple]:
    return sorted(tuple(sorted(r.items())) for r in db.query("select * from article_clusters"))


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_incremental_lineage_gives_the_full_computation(archive, batch) -> None:
    """New articles against the persisted LSH state, a few at a time: the same clusters, members,
    similarities and evidence as recomputing the whole archive."""
    from pipelines.lineage.incremental import update_lineage

    db, ids = archive
    lineage.cluster_archive(db)
    full = _memberships(db)
    db.execute("delete from article_clusters")
    db.execute("delete from clusters")
    stats = update_lineage(db, batch=batch)
    assert _memberships(db) == full and stats["clusters"] == 1 and stats["largest"] == 5
    assert update_lineage(db, batch=batch)["articles"] == 0  # nothing new: nothing done
    # an article added later joins its family; an edit that turns a copy into another article's text
    # moves it from the family to that article
    late = _add(db, _article("https://www.163.com/dy/article/1.html", "兰山区一批重大项目集中签约",
                             ORIGINAL, source_id="news", published="2024-01-16", fetched_at="2024-01-17T00:00:00Z"),
                source_id="news", fetched_at="2024-01-17T00:00:00Z")
    db["articles"].update(ids["edited"], {"text": UNRELATED, "text_simplified": UNRELATED})
    update_lineage(db, batch=batch)
    incremental = _memberships(db)
    lineage.cluster_archive(db)
    assert incremental == _memberships(db)
    cluster_of = {r["article_id"]: r["cluster_id"] for r in db.query("select * from article_clusters")}
    assert cluster_of[late] == cluster_of[ids["gov"]] == ids["gov"]
    assert cluster_of[ids["edited"]] == cluster_of[ids["unrelated"]] != cluster_of[ids["gov"]]


def _phrase_pool_articles() -> Iterator[tuple[dict, str, str]]:
    """~320 articles (article, source id, fetched at) written from a pool of 40 sentences (what a
    county's reports share: every fingerprint of the pool is in far more than DF_CAP articles), with
    excerpts of some of them."""
    import random

    rng = random.Random(7)
    verbs = ["推进", "落实", "保障", "优化", "提升", "加快", "强化", "服务"]
    nouns = ["项目建设", "招商引资", "营商环境", "要素保障", "产业链条", "园区配套", "审批流程", "土地供应"]
    pool = [f"{rng.choice(nouns)}方面，全县各部门要{rng.choice(verbs)}{rng.choice(nouns)}，确保第{k}项任务按期完成。"
            for k in range(40)]
    for n in range(300):
        text = "".join(rng.sample(pool, 12)) + f"本县第{n}号重点工程总投资{n + 3}亿元，由{n % 17}号地块承建。"
        yield (_article(f"http://www.x.gov.cn/a/{n}.html", f"县政府召开第{n}次推进会", text, source_id="gov",
                        published="2024-01-01", fetched_at="2024-01-02T00:00:00Z"), "gov", "2024-01-02T00:00:00Z")
        if n % 15 == 0:  # an excerpt reposted elsewhere
            excerpt = text[:len(text) * 2 // 3]
            yield (_article(f"https://news.example.com/{n}.html", f"第{n}次推进会召开", excerpt, source_id="news",
                            published="2024-01-03", fetched_at="2024-01-04T00:00:00Z"), "news", "2024-01-04T00:00:00Z")


def _phrase_pool_archive(path: Path, articles: int | None = None) -> sqlite_utils_db:
    """An archive holding the first `articles` (default: all) of _phrase_pool_articles."""
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    lineage.ensure_lineage_schema(db)
    for art, source_id, fetched_at in itertools.islice(_phrase_pool_articles(), articles):
        _add(db, art, source_id=source_id, fetched_at=fetched_at)
    return db


sqlite_utils_db = storage.sqlite_utils.Database


@pytest.mark.parametrize("batch", [1, 64])
def test_batches_do_not_change_clusters_when_boilerplate_passes_the_cap(tmp_path, batch) -> None:
    """A fingerprint that passes DF_CAP articles only as the archive grows: whatever the batches (and so
    whatever the moment the crawl clustered), the clusters are those of the whole-archive computation."""
    from pipelines.lineage.incremental import update_lineage

    db = _phrase_pool_archive(tmp_path / "archive.db")
    lineage.cluster_archive(db)
    full = _memberships(db)
    assert full
    db.execute("delete from article_clusters")
    db.execute("delete from clusters")
    update_lineage(db, batch=batch)
    assert _memberships(db) == full


def test_a_batch_of_texts_too_short_for_fingerprints_is_indexed(tmp_path) -> None:
    """Short notices sample no fingerprint (1 shingle in 8): the batch is indexed all the same, and the
    next batch too (a failing batch would stay unindexed, and fail again at every crawl)."""
    from pipelines.lineage.incremental import update_lineage

    db = storage.open_db(tmp_path / "archive.db")
    migrations.ensure_schema(db)
    for n, text in enumerate(["会议召开重要", "部署工作会议"]):
        _add(db, _article(f"http://www.x.gov.cn/n/{n}.html", "通知", text, source_id="gov", published="2024-01-01",
                          fetched_at="2024-01-02T00:00:00Z"), source_id="gov", fetched_at="2024-01-02T00:00:00Z")
    assert update_lineage(db, batch=1)["articles"] == 2
    _add(db, _article("https://news.example.com/1.html", "兰山区一批重大项目集中签约", ORIGINAL, source_id="news",
                      published="2024-01-16", fetched_at="2024-01-17T00:00:00Z"),
         source_id="news", fetched_at="2024-01-17T00:00:00Z")
    assert update_lineage(db, batch=1)["articles"] == 1
    assert db.execute("select count(*) from lineage_docs").fetchone()[0] == 3


def _two_families(path: Path):
    """Two families of copies (of ORIGINAL and of UNRELATED), then an article that quotes both, then
    the government's own page of ORIGINAL, published before every copy: in id order, so small batches
    see a merge of two clusters and then a canonical that a newcomer takes from a cluster."""
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    lineage.ensure_lineage_schema(db)
    db["sources"].insert_all([{"id": "news", "name": "临沂日报"}, {"id": "farm", "name": "产业园区招商网"},
                              {"id": "gov", "name": "临沂市兰山区人民政府"}], pk="id")
    ids = {}
    for name, text, source, day in [("a1", ORIGINAL, "news", 5), ("a2", ORIGINAL, "farm", 6),
                                    ("b1", UNRELATED, "news", 3), ("b2", UNRELATED, "farm", 4),
                                    ("a3", ORIGINAL, "farm", 8), ("both", ORIGINAL + UNRELATED, "news", 7),
                                    ("gov", ORIGINAL, "gov", 2)]:
        host = "www.lanshan.gov.cn" if source == "gov" else f"www.{source}.example.com"
        ids[name] = _add(db, _article(f"http://{host}/{name}.html", f"标题{name}", text, source_id=source,
                                      published=f"2024-03-0{day}", fetched_at=f"2024-03-0{day}T12:00:00Z"),
                         source_id=source, fetched_at=f"2024-03-0{day}T12:00:00Z")
    return db, ids


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_clusters_merging_and_changing_canonical_give_the_full_computation(tmp_path, batch) -> None:
    """A newcomer joins a cluster, links two clusters, takes the canonical from one: batch by batch, the
    same clusters, members, similarities and evidence as the whole-archive computation."""
    from pipelines.lineage.incremental import update_lineage

    db, ids = _two_families(tmp_path / "archive.db")
    lineage.cluster_archive(db)
    full = _memberships(db)
    cluster_of = {r["article_id"]: r["cluster_id"] for r in db.query("select * from article_clusters")}
    assert set(cluster_of) == set(ids.values()) and set(cluster_of.values()) == {ids["gov"]}
    db.execute("delete from article_clusters")
    db.execute("delete from clusters")
    stats = update_lineage(db, batch=batch)
    assert _memberships(db) == full and stats["clusters"] == 1 and stats["largest"] == len(ids)
    assert [r["size"] for r in db.query("select size from clusters")] == [len(ids)]


def test_a_cluster_that_keeps_its_canonical_keeps_its_rows(tmp_path) -> None:
    """A step costs its newcomers, not the size of the clusters they join: the rows of the members
    already there are not rewritten (a temporary trigger logs every row deleted)."""
    from pipelines.lineage.incremental import update_lineage

    db, ids = _two_families(tmp_path / "archive.db")
    db.execute("delete from articles where id in (?, ?)", [ids["both"], ids["gov"]])
    update_lineage(db, batch=2)  # a1 a2 | b1 b2 | a3: a3 joins a1's cluster in a step of its own
    before = {r["article_id"]: r for r in db.query("select * from article_clusters")}
    assert before.keys() == {ids[n] for n in ("a1", "a2", "a3", "b1", "b2")}
    db.execute("create temp table rewritten (article_id integer)")
    db.execute("create temp trigger log_rewrite after delete on main.article_clusters begin "
               "insert into rewritten values (old.article_id); end")
    late = _add(db, _article("http://www.news.example.com/late.html", "标题late", ORIGINAL, source_id="news",
                             published="2024-03-09", fetched_at="2024-03-09T12:00:00Z"),
                source_id="news", fetched_at="2024-03-09T12:00:00Z")
    update_lineage(db, batch=2)
    after = {r["article_id"]: r for r in db.query("select * from article_clusters")}
    assert db.execute("select count(*) from rewritten").fetchone()[0] == 0
    assert {a: after[a] for a in before} == before
    assert after[late]["cluster_id"] == ids["a1"]
    assert db.execute("select size from clusters where id = ?", [ids["a1"]]).fetchone()[0] == 4
    full = _memberships(db)
    lineage.cluster_archive(db)
    assert _memberships(db) == full


def test_clustering_while_processing_still_writes_gives_the_full_computation(tmp_path) -> None:
    """`govbrief crawl` clusters what processing has written while it writes more (runs.LineageMeanwhile:
    steps in a thread, on a connection of its own, each waiting for the writer's lock); then
    update_lineage takes what is left, with the articles the steps kept. Same clusters, members,
    similarities and evidence as the whole-archive computation."""
    from govbrief.runs import LineageMeanwhile
    from pipelines.lineage.incremental import update_lineage

    path = tmp_path / "archive.db"
    db = _phrase_pool_archive(path, articles=40)
    later = list(itertools.islice(_phrase_pool_articles(), 40, None))
    meanwhile = LineageMeanwhile(str(path))
    meanwhile.STEP, meanwhile.MIN_STEP, meanwhile.POLL_SECONDS = 30, 10, 0.01
    meanwhile.start()
    taken_while_writing = []
    for k in range(0, len(later), 20):  # the processing writer: a batch per transaction
        with db.conn:
            for art, source_id, fetched_at in later[k:k + 20]:
                _add(db, art, source_id=source_id, fetched_at=fetched_at)
        taken_while_writing.append(meanwhile.articles)
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    while meanwhile.articles < 300 and time.monotonic() < deadline:  # it catches up with the last batches
        time.sleep(0.05)
    meanwhile.stop()
    assert not meanwhile._thread.is_alive()
    assert taken_while_writing[-1] > 0  # it clustered while articles were still being written
    assert meanwhile.articles > len(later) + 40 - meanwhile.MIN_STEP  # and kept up with the writer
    left = update_lineage(db, recent=meanwhile.recent)["articles"]
    assert meanwhile.articles + left == db["articles"].count == len(later) + 40
    clustered = _memberships(db)
    assert clustered
    lineage.cluster_archive(db)
    assert clustered == _memberships(db)


def test_clustering_while_processing_stops_between_steps_and_leaves_nothing_half_done(tmp_path) -> None:
    """stop() ends the thread after its step in progress: every article is indexed by a whole step or
    not at all, and nothing is left locked for the update_lineage that follows."""
    from govbrief.runs import LineageMeanwhile
    from pipelines.lineage.incremental import update_lineage

    path = tmp_path / "archive.db"
    db = _phrase_pool_archive(path)
    meanwhile = LineageMeanwhile(str(path))
    meanwhile.STEP, meanwhile.MIN_STEP, meanwhile.POLL_SECONDS = 8, 8, 0.01
    meanwhile.start()
    deadline = time.monotonic() + 30
    while meanwhile.articles == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    meanwhile.stop()
    indexed = db.execute("select count(*) from lineage_docs").fetchone()[0]
    assert 0 < indexed == meanwhile.articles < db["articles"].count and indexed % 8 == 0
    assert update_lineage(db)["articles"] == db["articles"].count - indexed
    clustered = _memberships(db)
    lineage.cluster_archive(db)
    assert clustered == _memberships(db)


def test_an_article_edited_between_steps_is_compared_by_its_new_text(tmp_path) -> None:
    """The steps keep the texts they compared (RecentArticles); an article edited meanwhile (a re-check,
    a changed page fetched again) is compared by its new text afterwards, as the whole computation does."""
    from pipelines.lineage.incremental import RecentArticles, ensure_incremental_schema, lineage_step

    db, ids = _two_families(tmp_path / "archive.db")
    db.execute("delete from articles where id in (?, ?, ?)", [ids["a3"], ids["both"], ids["gov"]])
    ensure_incremental_schema(db)
    recent = RecentArticles()
    while lineage_step(db, 2, recent):  # a1 a2 | b1 b2: two clusters, their texts kept
        pass
    assert recent.get(ids["b1"]) is not None
    # b1, the canonical of the UNRELATED family, now reads like the ORIGINAL family, which it heads by date
    db["articles"].update(ids["b1"], {"text": ORIGINAL, "text_simplified": ORIGINAL})
    late = _add(db, _article("http://www.news.example.com/late.html", "标题late", ORIGINAL, source_id="news",
                             published="2024-03-09", fetched_at="2024-03-09T12:00:00Z"),
                source_id="news", fetched_at="2024-03-09T12:00:00Z")
    while lineage_step(db, 1, recent):
        pass
    stepped = _memberships(db)
    lineage.cluster_archive(db)
    assert stepped == _memberships(db)
    cluster_of = {r["article_id"]: r["cluster_id"] for r in db.query("select * from article_clusters")}
    assert cluster_of[ids["a1"]] == cluster_of[late] == ids["b1"] and ids["b2"] not in cluster_of


def test_recent_articles_are_bounded_by_the_hashes_they_hold() -> None:
    from pipelines.lineage.incremental import RecentArticles

    recent = RecentArticles(max_hashes=1000)
    docs = {k: object() for k in range(10)}
    recent.keep(docs, {k: np.arange(300) for k in range(10)})  # 3,000 hashes offered: the last 3 stay
    assert [k for k in range(10) if recent.get(k) is not None] == [7, 8, 9]
    recent.get(7)  # used: the last to go
    recent.keep({10: object()}, {10: np.arange(300)})
    assert [k for k in range(11) if recent.get(k) is not None] == [7, 9, 10]
    recent.forget([9])
    assert recent.get(9) is None


def test_a_copy_found_to_be_earlier_becomes_the_canonical(tmp_path) -> None:
    """A re-extraction that finds a page's date (or 来源) changes no text; the family's canonical copy
    (the earliest) is chosen again all the same, as the whole computation would choose it."""
    from pipelines.lineage.incremental import update_lineage

    db, ids = _two_families(tmp_path / "archive.db")
    db.execute("delete from articles where id in (?, ?)", [ids["both"], ids["gov"]])
    update_lineage(db)
    canonical = {r["cluster_id"] for r in db.query("select cluster_id from article_clusters where article_id = ?",
                                                   [ids["a2"]])}
    assert canonical == {ids["a1"]}  # a1 (03-05) before a2 (03-06) and a3 (03-08)
    db["articles"].update(ids["a3"], {"published": "2024-03-01"})  # its date, read again: the earliest
    update_lineage(db)
    stepped = _memberships(db)
    lineage.cluster_archive(db)
    assert stepped == _memberships(db)
    cluster_of = {r["article_id"]: r["cluster_id"] for r in db.query("select * from article_clusters")}
    assert cluster_of[ids["a1"]] == cluster_of[ids["a2"]] == ids["a3"]


def test_a_shared_source_line_is_evidence_across_publishers_only() -> None:
    """Two bulletins of one site written from the same phrases reach the grey zone (containment 0.7-0.8)
    and both state the site's own 来源: not copies of each other. The same figures between two
    publishers, one naming the other (or both naming the same origin) as 来源, are a repost."""
    def doc(article_id: int, host: str, source_id: str | None, title: str, publisher: str) -> lineage.Doc:
        return lineage.Doc(article_id=article_id, url=f"http://{host}/{article_id}.html", host=host,
                           source_id=source_id, published="2024-03-05", first_fetched=None, title=title,
                           orig_title=None, sources=frozenset({"某市融媒体中心"}), publisher=publisher,
                           n_shingles=400, government=host.endswith("gov.cn"))
    grey = (lineage.EVIDENCE_CONTAINMENT + lineage.EDITED_CONTAINMENT) / 2
    first = doc(1, "www.a.gov.cn", "a-gov", "高新区集成电路项目设备调试", "某市融媒体中心")
    second = doc(2, "www.a.gov.cn", "a-gov", "滨江新城装备制造项目竣工投产", "某市融媒体中心")
    assert lineage.accept_pair(first, second, grey, 0.3) is None
    # one publisher by its host too (a source without an id: an archive from before the registry)
    no_id = doc(3, "www.a.gov.cn", None, "另一个项目开工", "某市融媒体中心")
    assert lineage.accept_pair(first, no_id, grey, 0.3) is None
    farm = doc(4, "www.farm.example.com", "farm", "滨江新城装备制造项目竣工投产了", "某某资讯网")
    assert lineage.accept_pair(second, farm, grey, 0.3) == "text+来源"
    # what is a copy by its text alone stays one within a publisher
    assert lineage.accept_pair(first, second, lineage.CONTAINED, 0.85) == "text"


def test_a_recurring_headline_of_one_site_is_no_evidence_of_a_copy() -> None:
    """A site's monthly report under one headline, written from one template, reaches the grey zone:
    the months are not copies of each other. The same headline on another publisher's page is evidence."""
    def doc(article_id: int, host: str, source_id: str | None, published: str) -> lineage.Doc:
        return lineage.Doc(article_id=article_id, url=f"http://{host}/{article_id}.html", host=host,
                           source_id=source_id, published=published, first_fetched=None, title="重点项目建设进展情况",
                           orig_title=None, sources=frozenset(), publisher=None, n_shingles=400,
                           government=host.endswith("gov.cn"))
    grey = (lineage.EVIDENCE_CONTAINMENT + lineage.EDITED_CONTAINMENT) / 2
    march, april = doc(1, "www.a.gov.cn", "a-gov", "2024-03-05"), doc(2, "www.a.gov.cn", "a-gov", "2024-04-05")
    assert lineage.accept_pair(march, april, grey, 0.3) is None
    assert lineage.accept_pair(march, doc(3, "www.a.gov.cn", None, "2024-05-06"), grey, 0.3) is None  # same host
    assert lineage.accept_pair(march, doc(4, "www.farm.example.com", "farm", "2024-03-06"), grey, 0.3) == "text+title"
    # a copy by its text alone stays one within a publisher, with its headline noted
    assert lineage.accept_pair(march, april, lineage.CONTAINED, 0.85) == "text+title"
