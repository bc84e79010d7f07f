"""Search benchmark: a synthetic archive of N articles, latency through Datasette's JSON API.

    .venv/bin/python bench/search_bench.py --articles 200000 --out bench/results/search-200k.json
    .venv/bin/python bench/search_bench.py --articles 1000000 --queries 20   # the 1M run, optional

Steps: generate articles (Zipf-distributed government-news vocabulary, ~900 characters each,
a share in Traditional characters) with the real schema (pipelines.store.storage), build the search
index (timed), start ``datasette serve`` with govbrief's configuration as a subprocess, and time
HTTP requests for 1-4 character and 2-term queries:

  search     /archive/articles.json?_search=Q&_shape=array&_size=20   (table API, newest first)
  page       /archive/articles?_search=Q                              (HTML, count + 5 facets)
  json_full  /archive/articles.json?_search=Q&_size=20                (JSON with count + facets)
  ranked     /archive/search.json?q=Q&_shape=array                    (canned query, bm25 + snippets;
                                                                       newest first above 50,000 hits)
  newest     /archive/search.json?q=Q&sort=newest&_shape=array
  like       /archive/articles.json?_where=<title/text_simplified LIKE>&_shape=array&_size=20

The LIKE scan is the baseline a journalist would otherwise use; it runs on the first
--like-queries queries of each class (each can scan the whole table), and every speedup is the
ratio for the same query. Speedups are also summarised by the share of articles a query matches.
Also checks that search and LIKE return the same id sets for a sample of queries
(exact-substring recall). Results are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.chinese import to_simplified  # noqa: E402
from pipelines.search import search_index  # noqa: E402
from pipelines.store import migrations, storage  # noqa: E402

# Government project news vocabulary (hand-written) and ~600 frequent characters for the long tail.
WORDS = """项目 建设 发展 经济 招商 引资 泰州 南京 苏州 无锡 常州 扬州 镇江 南通 盐城 淮安 宿迁 连云港 徐州
政府 市委 书记 市长 区长 县长 会议 召开 推进 重点 重大 工程 开工 竣工 投资 亿元 万元 产业 园区 企业
签约 合作 协议 战略 新兴 制造 医药 化工 新能源 光伏 储能 汽车 零部件 装备 智能 数字 信息 服务 平台
农业 农村 乡村 振兴 生态 环境 保护 治理 污染 水利 交通 道路 高速 铁路 港口 航道 机场 物流 商贸 旅游
文化 教育 卫生 健康 医疗 养老 就业 民生 住房 保障 安全 生产 应急 管理 监督 检查 调研 考察 座谈 部署
落实 要求 强调 指出 表示 全面 深化 改革 开放 创新 驱动 高质量 现代化 营商 优化 审批 改善 提升 加快 加强
推动 实施 完成 目标 任务 年度 计划 规划 方案 政策 措施 资金 财政 税收 金融 银行 贷款 融资 土地 用地
指标 面积 平方米 公里 亩 总投资 年产值 利税 达产 投产 试生产 设备 厂房 车间 生产线 技术 研发 人才 团队
高校 科研 院所 实验室 中心 基地 示范 试点 标准 质量 品牌 市场 消费 出口 进口 外贸 外资 民营 国有
党委 党组 干部 群众 组织 领导 工作 同志 单位 部门 街道 社区 村 镇 乡 区 县 市 省 国家 中央 国务院
发改委 工信局 商务局 住建局 自然资源 生态环境局 交通运输局 农业农村局 统计局 税务局 开发区 高新区
一季度 二季度 上半年 下半年 全年 今年 去年 同比 增长 下降 百分点 累计 实现 超过 达到 亿 万 千 百
的 了 和 是 在 有 为 对 将 与 及 等 中 上 下 年 月 日 个 这 也 已 并 于 以 由 从 到 被 把 让 向 就 都 还
""".split()
CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
         "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性"
         "好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向"
         "道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件"
         "长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研"
         "今其十百千万亿元米亩吨台套项目招商投融资泰州苏锡常镇扬淮宿徐连盐港航铁路桥隧站场库厂园镇村街区县市省")
TRAD = "項目 建設 發展 經濟 農業 區域 產業 園區 開發 會議 書記 縣長 鎮 村 華 萬 億 廠 機場 鐵路 醫藥".split()

DB_NAME = "archive"


def _zipf_weights(n: int, s: float = 1.05) -> list[float]:
    return [1.0 / (i + 1) ** s for i in range(n)]


def build_vocab(rng: random.Random) -> tuple[list[str], list[float]]:
    """Real words first (frequent), then synthetic 2-3 character compounds as the long tail."""
    vocab = list(dict.fromkeys(WORDS))
    seen = set(vocab)
    while len(vocab) < 20000:
        w = "".join(rng.choices(CHARS, k=rng.choice((2, 2, 2, 3))))
        if w not in seen:
            seen.add(w)
            vocab.append(w)
    return vocab, _zipf_weights(len(vocab))


def generate_articles(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    vocab, weights = build_vocab(rng)
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    regions = ["泰州", "南京", "苏州", "无锡", "常州", "扬州", "镇江", "南通", "盐城", "淮安"]
    rows = []
    for i in range(n):
        # lognormal-ish lengths, median ~800 characters (government news is short to medium)
        target = int(min(6000, max(120, rng.lognormvariate(6.7, 0.5))))
        words = rng.choices(vocab, cum_weights=cum, k=target // 2)
        # sentences of 8-20 words with Chinese punctuation
        parts, j = [], 0
        while j < len(words):
            k = rng.randint(8, 20)
            parts.append("".join(words[j:j + k]) + rng.choice("，，，。。；"))
            j += k
        text = "".join(parts)
        simplified = text
        if rng.random() < 0.05:  # some Traditional-script sources
            text = "".join(rng.choices(TRAD, k=8)) + "。" + text
            simplified = to_simplified(text)
        title = "".join(rng.choices(vocab[:3000], cum_weights=cum[:3000], k=rng.randint(5, 10)))
        year = 2015 + i * 11 // n
        month = 1 + (i * 132 // n) % 12
        published = f"{year}-{month:02d}-{1 + i % 28:02d}"
        src = rng.randrange(40)
        rows.append({
            "id": i + 1, "url": f"https://gov.example.cn/{src}/{i}.html", "host": f"s{src}.example.cn",
            "source_id": f"source-{src}", "region": regions[src % len(regions)], "title": title,
            "text": text, "published": published, "published_year": year, "published_month": published[:7],
            "script": "hans", "language": "zh", "title_simplified": title, "text_simplified": simplified,
            "text_length": len(text), "first_fetched": "2026-01-01T00:00:00Z",
            "fetched_at": "2026-01-01T00:00:00Z",
        })
    return rows


def build_archive(path: Path, n: int, batch: int = 20000) -> dict:
    if path.exists():
        path.unlink()
    db = storage.open_db(path)
    migrations.ensure_schema(db)
    # Bulk load without the per-row trigger bookkeeping; the index is built in one pass after.
    for name in search_index._TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    t0 = time.perf_counter()
    text_bytes = 0
    for start in range(0, n, batch):
        rows = generate_articles(min(batch, n - start), seed=start + 1)
        for r in rows:
            r["id"] += start
            r["url"] = r["url"].replace(".html", f"-{start}.html")
            text_bytes += len(r["title"].encode()) + len(r["text"].encode())
        with db.conn:
            db["articles"].insert_all(rows, batch_size=2000)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    search_index.rebuild_search_index(db)
    build_s = time.perf_counter() - t0
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sizes = {r[0]: r[1] for r in db.execute(
        "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()} if _has_dbstat(db) else {}
    fts_bytes = sum(v for k, v in sizes.items() if k.startswith(search_index.FTS_TABLE))
    db.conn.close()
    return {"articles": n, "generate_and_insert_s": round(gen_s, 1), "index_build_s": round(build_s, 1),
            "title_text_bytes": text_bytes, "fts_index_bytes": fts_bytes,
            "index_to_text_ratio": round(fts_bytes / text_bytes, 3) if fts_bytes else None,
            "db_bytes": path.stat().st_size,
            "db_bytes_per_article": round(path.stat().st_size / n),
            "index_bytes_per_article": round(fts_bytes / n) if fts_bytes else None}


def archive_for(path: Path, articles: int, reuse: bool) -> dict:
    """The synthetic archive at path (built now, or with reuse the one an earlier run built); returns
    the build figures, kept next to it."""
    if reuse and path.exists():
        return json.loads(Path(str(path) + ".build.json").read_text())
    print(f"building {articles:,} articles in {path} ...", flush=True)
    build = build_archive(path, articles)
    Path(str(path) + ".build.json").write_text(json.dumps(build))
    return build


def _has_dbstat(db) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except Exception:
        return False


def pick_queries(path: Path, per_class: int, seed: int = 7) -> dict[str, list[str]]:
    """Queries as journalists type them: substrings of real article text (so most have hits),
    1-4 characters, plus 2-term queries of two words."""
    import sqlite3

    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    n = conn.execute("SELECT max(id) FROM articles").fetchone()[0]
    classes: dict[str, list[str]] = {"1": [], "2": [], "3": [], "4": [], "2 terms": []}
    while any(len(v) < per_class for v in classes.values()):
        text = conn.execute("SELECT text FROM articles WHERE id = ?", [rng.randint(1, n)]).fetchone()[0]
        for length in (1, 2, 3, 4):
            if len(classes[str(length)]) < per_class:
                for _ in range(20):
                    i = rng.randrange(len(text) - length)
                    q = text[i:i + length]
                    if q.isalnum():
                        classes[str(length)].append(q)
                        break
        if len(classes["2 terms"]) < per_class:
            words = [w for w in WORDS if len(w) >= 2]
            classes["2 terms"].append(f"{rng.choice(words)} {rng.choice(words)}")
    conn.close()
    return classes


class Client:
    def __init__(self, base: str) -> None:
        url = urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)

    def get(self, path: str) -> tuple[float, int, bytes]:
        for attempt in (1, 2):
            t0 = time.perf_counter()
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                return (time.perf_counter() - t0) * 1000, resp.status, body
            except (http.client.RemoteDisconnected, ConnectionError):
                # the server closes keep-alive connections idle for 5 s: reconnect, not timed
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


# What is timed, per query. search: the JSON API as programs use it; page: the HTML page a
# journalist sees (with the row count and the five default facets); json_full: the same as
# JSON; ranked: the canned query (bm25 over the hits when there are at most 50,000 of them, else
# newest first; snippets for 50); newest: its newest-first variant.
KINDS = {
    "search": "/{db}/articles.json?_search={q}&_shape=array&_size=20",
    "page": "/{db}/articles?_search={q}",
    "json_full": "/{db}/articles.json?_search={q}&_size=20",
    "ranked": "/{db}/search.json?q={q}&_shape=array",
    "newest": "/{db}/search.json?q={q}&sort=newest&_shape=array",
}


def hit_count(path: Path, q: str) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    n = conn.execute(f"SELECT count(*) FROM {search_index.FTS_TABLE} WHERE {search_index.FTS_TABLE} MATCH ?",
                     [search_index.match_expression(q)]).fetchone()[0]
    conn.close()
    return n


def like_where(q: str) -> str:
    terms = [t for t in q.split() if t]
    # LIKE's own wildcards never appear in the generated queries
    return " and ".join(
        f"(title_simplified like '%{t}%' or text_simplified like '%{t}%')" for t in terms)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return round(values[k], 1)


def run(args: argparse.Namespace) -> dict:
    from pipelines.publish.serve import datasette_process

    path = Path(args.db)
    build = archive_for(path, args.articles, args.reuse)
    print(json.dumps(build, indent=1), flush=True)

    # the LIKE baseline needs more than the published 1 s time limit to finish at all
    with datasette_process(path, settings={"sql_time_limit_ms": 120_000}) as base:
        client = Client(base)
        queries = pick_queries(path, args.queries)
        results: dict = {"build": build, "classes": {}, "queries": []}
        for cls, qs in queries.items():
            row: dict = {"queries": len(qs)}
            records = [{"class": cls, "q": q, "hits": hit_count(path, q)} for q in qs]
            counts = [r["hits"] for r in records]
            row["hits"] = {"p50": pct(counts, 50), "max": pct(counts, 100),
                           "share_p50": round(pct(counts, 50) / build["articles"], 3)}
            for kind, template in KINDS.items():
                for record in records:
                    url = template.format(db=DB_NAME, q=quote(record["q"]))
                    client.get(url)  # warm: the first request pays for page cache misses
                    ms, status, body = client.get(url)
                    assert status == 200, (url, status, body[:300])
                    record[kind] = round(ms, 1)
                times = [r[kind] for r in records]
                row[kind] = {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "max_ms": pct(times, 100)}
            # LIKE baselines, same URLs with _where instead of _search: "like" = the JSON page
            # (stops early when the string is frequent), "like_full" = with count and facets,
            # which must scan every article. Each is compared with the same query's search.
            like_records = records[: args.like_queries]
            for kind, shape in (("like", {"_shape": "array"}), ("like_full", {})):
                for record in like_records:
                    url = f"/{DB_NAME}/articles.json?" + urlencode(
                        {"_where": like_where(record["q"]), **shape, "_size": 20}, quote_via=quote)
                    ms, status, body = client.get(url)
                    assert status == 200, (url, status, body[:300])
                    record[kind] = round(ms, 1)
                times = [r[kind] for r in like_records]
                row[kind] = {"queries": len(like_records), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}
            for record in like_records:
                record["speedup"] = round(record["like"] / max(record["search"], 0.01), 1)
                record["speedup_full"] = round(record["like_full"] / max(record["json_full"], 0.01), 1)
            row["speedup_p50"] = pct([r["speedup"] for r in like_records], 50)
            row["speedup_min"] = pct([r["speedup"] for r in like_records], 0)
            row["speedup_full_p50"] = pct([r["speedup_full"] for r in like_records], 50)
            row["speedup_full_min"] = pct([r["speedup_full"] for r in like_records], 0)
            results["classes"][cls] = row
            results["queries"].extend(records)
            print(cls, json.dumps(row), flush=True)
        results["speedup_by_hits"] = speedup_by_hits(results["queries"], build["articles"])
        print(json.dumps(results["speedup_by_hits"], indent=1), flush=True)
        results["recall_checked"] = check_recall(path, queries, args.recall_queries)
        return results


# Share of the archive's articles a query matches: a LIKE page stops after 20 matching rows, so
# how much of the table it reads depends on this share, and so does the speedup.
HIT_BANDS = ((0.0, 0.001, "< 0.1 %"), (0.001, 0.01, "0.1–1 %"), (0.01, 0.1, "1–10 %"), (0.1, 1.01, "≥ 10 %"))


def speedup_by_hits(records: list[dict], articles: int) -> list[dict]:
    """Per band of hit share: how many LIKE-measured queries, and the median and smallest
    per-query speedup of search over LIKE (JSON page; and with count + facets)."""
    out = []
    for low, high, label in HIT_BANDS:
        band = [r for r in records if "like" in r and low <= r["hits"] / articles < high]
        if band:
            out.append({"hits": label, "queries": len(band),
                        "search_p95_ms": pct([r["search"] for r in band], 95),
                        "like_p50_ms": pct([r["like"] for r in band], 50),
                        "speedup_p50": pct([r["speedup"] for r in band], 50),
                        "speedup_min": pct([r["speedup"] for r in band], 0),
                        "speedup_full_p50": pct([r["speedup_full"] for r in band], 50),
                        "speedup_full_min": pct([r["speedup_full"] for r in band], 0)})
    return out


def check_recall(path: Path, queries: dict[str, list[str]], n: int) -> dict:
    """Same id sets from the index and from a LIKE scan over the simplified columns."""
    import sqlite3

    conn = sqlite3.connect(path)
    checked = 0
    for cls, qs in queries.items():
        if cls == "1":
            continue  # LIKE on 1 character matches most rows; covered by the test suite instead
        for q in qs[:n]:
            got = set(search_index.search_ids(conn, q))
            want = {r[0] for r in conn.execute(f"SELECT id FROM articles WHERE {like_where(q)}")}
            assert got == want, (q, len(got), len(want))
            checked += 1
    conn.close()
    return {"queries": checked, "equal": True}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=200_000)
    p.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "govbrief-bench" / "archive.db"),
                   help="named archive.db so the URLs read /archive/... (default: %(default)s)")
    p.add_argument("--queries", type=int, default=40, help="queries per class")
    p.add_argument("--like-queries", type=int, default=10, help="LIKE-scan queries per class")
    p.add_argument("--recall-queries", type=int, default=5, help="queries per class checked against LIKE")
    p.add_argument("--reuse", action="store_true", help="reuse an archive built by an earlier run")
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args()
    os.makedirs(Path(args.db).parent, exist_ok=True)
    results = run(args)
    text = json.dumps(results, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
