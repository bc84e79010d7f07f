"""Reader's pages benchmark: the front page and filtered searches as HTML pages with counts and facets.

    .venv/bin/python bench/reader_bench.py --articles 200000 --out bench/results/reader-200k.json
    .venv/bin/python bench/reader_bench.py --reuse ...   # reuse the archive of an earlier run (same --db)

Builds the synthetic archive of bench/search_bench.py (same generator, same index; --reuse takes an
archive it already built), registers its 40 sources with places at city and county level and all
three source types (as the crawl's upsert_sources does), starts `datasette serve` with govbrief's
configuration and times, per query class (1-4 characters, 2 terms; queries are substrings of the
archive's own text, as search_bench picks them):

  front        /                                                     (size, span, health, newest)
  search       /-/search?q=Q                                         (HTML: list, count, facets)
  filtered     /-/search?q=Q&place=<city>&from=Y1&to=Y2              (place at any level + dates)
  filtered_date  the same, sort=date
  browse       /-/search?place=<province>&type=gov&from=Y            (no query: filters only)
  table_page   /archive/articles?_search=Q                           (Datasette's table page with
                                                                      its facets, for comparison)

Each URL is requested once to warm the page cache, then timed once; p50/p95/max per kind.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search_bench import DB_NAME, Client, archive_for, pct, pick_queries  # noqa: E402

from pipelines.store import migrations, storage  # noqa: E402

# search_bench gives source-N the region REGIONS[N % 10]; here every fourth source is a county of
# that city, so "the city" must also find its counties' articles.
CITIES = ["江苏省泰州市", "江苏省南京市", "江苏省苏州市", "江苏省无锡市", "江苏省常州市", "江苏省扬州市",
          "江苏省镇江市", "江苏省南通市", "江苏省盐城市", "江苏省淮安市"]
COUNTIES = ["江苏省泰州市泰兴市", "江苏省南京市江宁区", "江苏省苏州市昆山市", "江苏省无锡市江阴市",
            "江苏省常州市武进区", "江苏省扬州市仪征市", "江苏省镇江市丹阳市", "江苏省南通市海门区",
            "江苏省盐城市东台市", "江苏省淮安市涟水县"]


class BenchSource:
    def __init__(self, n: int):
        self.id = f"source-{n}"
        self.name = f"样例来源{n}"
        self.region = COUNTIES[n % 10] if n % 4 == 0 else CITIES[n % 10]
        self.start_urls = [f"https://s{n}.example.cn/" if n % 5 == 0 else f"https://www.s{n}.gov.cn/"]
        self.source_type = "repost" if n % 13 == 0 else None  # else inferred: gov or media

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "region": self.region, "start_urls": self.start_urls}


def register_sources(path: Path) -> None:
    db = storage.open_db(path)
    migrations.ensure_schema(db)  # migration 50 on an archive built before it
    storage.upsert_sources(db, [BenchSource(n) for n in range(40)])
    db.conn.close()


def urls(queries: dict[str, list[str]], rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    city_codes = ["321200", "320100", "320500", "320200", "320400"]
    out: dict[str, list[tuple[str, str]]] = {}
    for cls, qs in queries.items():
        for q in qs:
            year = rng.randint(2015, 2023)
            filters = {"place": rng.choice(city_codes), "from": str(year), "to": str(year + rng.randint(0, 2))}
            out.setdefault("search", []).append((cls, "/-/search?" + urlencode({"q": q})))
            out.setdefault("filtered", []).append((cls, "/-/search?" + urlencode({"q": q, **filters})))
            out.setdefault("filtered_date", []).append(
                (cls, "/-/search?" + urlencode({"q": q, **filters, "sort": "date"})))
            out.setdefault("table_page", []).append((cls, f"/{DB_NAME}/articles?" + urlencode({"_search": q})))
    out["front"] = [("front", "/")] * 20
    out["browse"] = [("browse", "/-/search?" + urlencode({"place": "320000", "type": t, "from": str(y)}))
                     for t in ("gov", "media") for y in range(2015, 2025)]
    return out


def run(args: argparse.Namespace) -> dict:
    from pipelines.publish.serve import datasette_process

    path = Path(args.db)
    build = archive_for(path, args.articles, args.reuse)
    register_sources(path)
    print(json.dumps(build), flush=True)
    queries = pick_queries(path, args.queries)
    results: dict = {"build": build, "kinds": {}, "by_class": {}}
    with datasette_process(path) as base:
        client = Client(base)
        for kind, items in urls(queries, random.Random(11)).items():
            times: list[float] = []
            by_class: dict[str, list[float]] = {}
            for cls, url in items:
                client.get(url)  # warm
                ms, status, body = client.get(url)
                assert status == 200, (url, status, body[:300])
                times.append(ms)
                by_class.setdefault(cls, []).append(ms)
            results["kinds"][kind] = {"requests": len(times), "p50_ms": round(pct(times, 50), 1),
                                      "p95_ms": round(pct(times, 95), 1), "max_ms": round(pct(times, 100), 1)}
            results["by_class"][kind] = {c: {"p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1)}
                                         for c, v in by_class.items()}
            print(kind, json.dumps(results["kinds"][kind]), json.dumps(results["by_class"][kind],
                                                                       ensure_ascii=False), flush=True)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=200_000)
    p.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "govbrief-bench" / "archive.db"),
                   help="archive to build (or reuse)")
    p.add_argument("--queries", type=int, default=20, help="queries per class")
    p.add_argument("--reuse", action="store_true", help="reuse an archive built by an earlier run")
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args()
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = run(args)
    results["seconds"] = round(time.perf_counter() - started, 1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
