"""Crawl throughput against the machine's CPU limit, measured side by side in one run.

    .venv/bin/python bench/throughput_bench.py --articles 2000 --out bench/results/throughput-2k.json
    .venv/bin/python bench/throughput_bench.py --articles 5000 --skip-bare --skip-extract   # memory at 5k

What it does:
  1. generates a TRS-style government site (column list pages index.html, index_1.html ... announced
     by createPageHTML, 20 dated article links each; article pages /YYYYMM/tYYYYMMDD_N.html with the
     usual chrome: navigation, breadcrumbs, info line, share bar, related list, side boxes, footer;
     text from seeded phrase pools, so every article differs) and serves it on 127.0.0.1 with the
     standard library's threading file server speaking HTTP/1.1 with keep-alive, as portals' web
     servers do (robots.txt allows everything; --http10: one connection per page, as
     `python -m http.server` does, the bench's server until 2026-12-06);
  2. bare Scrapy following the same links (list pages -> articles, pagination), same settings as
     the crawl: CONCURRENT_REQUESTS 8 (also per domain), no delay, no AutoThrottle, robots obeyed;
  3. `govbrief crawl --delay 0` end to end into a fresh archive (capture + processing + lineage);
  4. the single-core extraction rate: `taskset -c 0 govbrief extract --manifest` over the article
     pages (minus the command's start-up time, measured on an empty manifest).
`--bracket` measures bare Scrapy and the extraction rate both before and after the crawl and takes
their means, each with its `drift` (how much the two differ).
Reported: pages/s (list + article responses / wall-clock of the process), the CPU limit
min(bare, cores / (1/bare + 1/extract)), govbrief's ratio to it, peak memory of the crawl's process
tree (RSS; and PSS, which splits pages shared by the workers and their fork server; crawl phase = until
the run logs "capture: … processing: …", i.e. fetched and processed; then
lineage), commits per 1,000 articles
(GOVBRIEF_COUNT_COMMITS counts every COMMIT any connection sends), and the crawl's CPU by process
(`cpu_by_process_s`: crawl, processing, fork server, workers).

The machine is shared: figures are noisy; run it when the machine is quiet, and more than once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PER_PAGE = 20  # links per list page (--per-page); TRS discovery reads at most 1,000 pages of a column
COLUMN = "/xwzx/xmjs/"

# ------------------------------------------------------------------ the site

PLACES = ["高新区", "经济开发区", "滨江新城", "黄桥镇", "城东街道", "临港工业园", "现代农业园", "综合保税区"]
INDUSTRIES = ["新能源电池", "高端装备制造", "生物医药", "集成电路", "现代物流", "绿色建材", "智能网联汽车", "精细化工"]
ACTIONS = ["开工建设", "竣工投产", "签约落户", "主体封顶", "设备调试", "试生产", "通过验收", "加快推进"]
SENTENCES = [
    "{place}{industry}项目总投资{money}亿元，占地{area}亩，建成后可实现年产值{value}亿元。",
    "项目负责人介绍，目前已完成投资{percent}%，{month}月底前将完成全部厂房建设。",
    "市领导强调，要坚持项目为王，强化要素保障，优化营商环境，推动项目早投产、早见效。",
    "{place}将进一步完善基础设施配套，加快形成{industry}产业集群，为全市高质量发展注入新动能。",
    "今年以来，全市共实施重大产业项目{count}个，完成投资{money}亿元，同比增长{percent}%。",
    "各部门要压实责任、倒排工期，及时协调解决项目推进中的土地、资金、用工等问题。",
    "据了解，该项目采用国内领先的生产工艺，达产后可新增就业岗位{jobs}个。",
    "下一步，{place}将围绕{industry}产业链招大引强，持续提升产业能级。",
]


def article_text(rng: random.Random, place: str, industry: str) -> list[str]:
    paras = []
    for _ in range(rng.randint(4, 9)):
        picks = rng.sample(SENTENCES, 3)
        paras.append("".join(s.format(place=place, industry=industry, money=rng.randint(2, 90),
                                      area=rng.randint(50, 900), value=rng.randint(5, 120),
                                      percent=rng.randint(10, 95), month=rng.randint(1, 12),
                                      count=rng.randint(20, 300), jobs=rng.randint(100, 3000)) for s in picks))
    return paras


CHROME_TOP = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_泰兴市人民政府</title>
<meta name="SiteName" content="泰兴市人民政府">{meta}<link rel="stylesheet" href="/css/style.css"></head><body>
<div class="topbar"><span>欢迎访问泰兴市人民政府门户网站</span><a href="javascript:void(0)">繁體</a> |
<a href="javascript:void(0)">无障碍浏览</a> | <a href="https://www.jiangsu.gov.cn/">江苏省人民政府</a></div>
<div class="header"><a href="/" class="logo">泰兴市人民政府</a><form action="/search" method="get">
<input type="text" name="q"><button type="submit">搜索</button></form></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/xwzx/">新闻中心</a></li>
<li><a href="/xwzx/xmjs/">项目建设</a></li><li><a href="/xwzx/zsyz/">招商引资</a></li>
<li><a href="/xxgk/">政务公开</a></li><li><a href="/zwfw/">政务服务</a></li>
<li><a href="/hdjl/">互动交流</a></li></ul></div>
<div class="bread">当前位置：<a href="/">首页</a> &gt; <a href="/xwzx/">新闻中心</a> &gt;
<a href="/xwzx/xmjs/">项目建设</a></div>
<div class="main"><div class="content">"""
CHROME_BOTTOM = """</div><div class="side"><div class="side-box"><h3>热点专题</h3><ul>
<li><a href="/xwzx/xmjs/">重大项目建设</a></li><li><a href="/xwzx/zsyz/">招商引资在行动</a></li>
<li><a href="/ztzl/yhyshj/">优化营商环境</a></li></ul></div><div class="side-box"><h3>便民服务</h3><ul>
<li><a href="/bmfw/12345/">12345政务服务便民热线</a></li><li><a href="/bmfw/sbcx/">社保查询</a></li></ul></div>
</div></div>
<div class="footer"><p><a href="/">网站首页</a> | <a href="javascript:void(0)">设为首页</a> |
<a href="javascript:void(0)">加入收藏</a></p>
<p>版权所有：泰兴市人民政府　主办单位：泰兴市人民政府办公室　承办单位：泰兴市大数据管理局</p>
<p>网站标识码：3212830001 苏ICP备05023456号-1 苏公网安备 32128302000123号</p>
<p>联系电话：0523-87654321　地址：江苏省泰兴市国庆东路98号　建议使用1366×768分辨率浏览</p></div>
</body></html>"""


# Real portals' pages weigh 40-60 KB (real-dev: median 43 KB, mean 55 KB; the bench's own pages ~6 KB),
# most of it chrome: inline style sheets and scripts (menus, statistics, accessibility toolbars) and a
# footer of links to other government sites. --page-kb pads every page with such chrome up to that size
# (the same chrome on every page of the site, as one template makes them),
# so costs that grow with the bytes (receiving, compressing, hashing, storing, shipping to the workers,
# parsing) weigh as they do on a real site. The links are offsite: the crawl does not follow them.
FRIEND_SITES = ["www.gov.cn", "www.jiangsu.gov.cn", "www.taizhou.gov.cn", "fgw.jiangsu.gov.cn",
                "www.jsgzw.gov.cn", "czt.jiangsu.gov.cn", "jxw.jiangsu.gov.cn", "zrzy.jiangsu.gov.cn"]


def heavy_chrome(rng: random.Random, kb: int) -> str:
    """About kb KB of the chrome real portals carry (see FRIEND_SITES); "" for kb <= 0."""
    parts: list[str] = []
    size = 0
    n = 0
    while size < kb * 1024:
        n += 1
        kind = n % 3
        if kind == 0:
            block = "<style>" + "".join(
                f".m{n}-{k} {{ margin: {rng.randint(0, 20)}px; color: #{rng.randrange(0x1000000):06x}; "
                f"font-size: {rng.randint(12, 18)}px; }}\n" for k in range(20)) + "</style>"
        elif kind == 1:
            block = "<script>" + "".join(
                f"var _m{n}_{k} = document.getElementById('menu{k}'); if (_m{n}_{k}) {{ _m{n}_{k}.onmouseover = "
                f"function () {{ this.className = 'on{rng.randint(0, 9)}'; }}; }}\n" for k in range(12)) + "</script>"
        else:
            block = '<div class="links"><h3>友情链接</h3><ul>' + "".join(
                f'<li><a href="https://{rng.choice(FRIEND_SITES)}/col/col{rng.randint(100, 99999)}/index.html" '
                f'target="_blank">{rng.choice(PLACES)}{rng.choice(INDUSTRIES)}专栏</a></li>' for _ in range(15))
            block += "</ul></div>"
        parts.append(block)
        size += len(block.encode("utf-8"))
    return "".join(parts)


def build_site(root: Path, articles: int, seed: int = 13, per_page: int = PER_PAGE, page_kb: int = 0) -> list[dict]:
    """Write the site under root; returns the manifest rows of the article pages. page_kb: pad every
    page with heavy_chrome of about that size minus the page's own (0: the bench's plain ~6 KB pages)."""
    rng = random.Random(seed)
    chrome_rng = random.Random(seed + 1)
    # one template: the same chrome on every page, as on a real portal (kb -> padding)
    paddings: dict[int, str] = {}

    def padding_for(page_bytes: int) -> str:
        kb = page_kb - page_bytes // 1024
        if kb not in paddings:
            paddings[kb] = heavy_chrome(chrome_rng, kb)
        return paddings[kb]
    column = root / COLUMN.strip("/")
    column.mkdir(parents=True)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")
    stories = []
    for n in range(articles):
        day = 1 + n * 3 // max(1, articles // 900)  # spread over ~2.5 years
        year, doy = 2022 + day // 365, day % 365
        month, mday = 1 + doy // 31 % 12, 1 + doy % 28
        place, industry, action = rng.choice(PLACES), rng.choice(INDUSTRIES), rng.choice(ACTIONS)
        title = f"{place}{industry}项目{action}（第{n + 1}期）"
        path = f"{year}{month:02d}/t{year}{month:02d}{mday:02d}_{7_000_000 + n}.html"
        stories.append((path, title, f"{year}-{month:02d}-{mday:02d}", article_text(rng, place, industry)))
    stories.reverse()  # newest first on the list pages
    manifest = []
    for i, (path, title, date, paras) in enumerate(stories):
        related = "".join(f'<li><a href="../{p}">{t}</a><span>{d}</span></li>'
                          for p, t, d, _ in stories[i + 1:i + 6])
        # the article meta of the national guideline for government sites (政府网站网页设计规范, 2019),
        # Url included: the page names its own file, as real pages often do (177 of real-dev's 324)
        meta = (f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date} 09:30">'
                f'<meta name="ContentSource" content="泰兴市发展和改革委员会">'
                f'<meta name="Url" content="{COLUMN}{path}">')
        body = "".join(f'<p style="text-indent: 2em;">{p}</p>' for p in paras)
        page = (CHROME_TOP.format(title=title, meta=meta)
                + f"""<div class="article"><h1>{title}</h1><div class="info"><span>发布时间：{date} 09:30</span>
<span>来源：泰兴市发展和改革委员会</span><span>浏览次数：<span id="hits"></span></span>
<span>【字体：<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a>
<a href="javascript:doZoom(14)">小</a>】</span></div><div class="TRS_Editor">{body}</div>
<div class="share">分享到：<a href="javascript:void(0)">微信</a> <a href="javascript:void(0)">微博</a></div>
<div class="print"><a href="javascript:window.print()">【打印本页】</a>
<a href="javascript:window.close()">【关闭窗口】</a></div>
<div class="related"><h3>相关阅读</h3><ul>{related}</ul></div></div>""" + CHROME_BOTTOM)
        if page_kb > 0:
            page = page.replace("</body>", padding_for(len(page.encode("utf-8"))) + "</body>")
        target = column / path
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(page.encode("utf-8"))
        manifest.append({"id": str(i), "page": str(target), "url": COLUMN + path,
                         "content_type": "text/html; charset=utf-8"})
    pages = (len(stories) + per_page - 1) // per_page
    for k in range(pages):
        items = "".join(f'<li><a href="./{p}" target="_blank">{t}</a><span>{d}</span></li>'
                        for p, t, d, _ in stories[k * per_page:(k + 1) * per_page])
        html = (CHROME_TOP.format(title="项目建设", meta="")
                + f'<div class="list"><ul>{items}</ul></div><div class="page"><script>'
                f'createPageHTML({pages}, {k}, "index", "html");</script></div>' + CHROME_BOTTOM)
        if page_kb > 0:
            html = html.replace("</body>", padding_for(len(html.encode("utf-8"))) + "</body>")
        (column / ("index.html" if k == 0 else f"index_{k}.html")).write_bytes(html.encode("utf-8"))
    return manifest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_site(directory: str, port: int, protocol: str) -> None:
    """The site's web server (a process of its own). HTTP/1.1 keeps connections open, as portals'
    servers do: with HTTP/1.0 both crawlers opened a TCP connection per page, and the connects and
    the server's accepts took CPU from the crawl's own two cores (a real site's server is elsewhere).
    Nagle's algorithm is off: headers and body leave in two writes, and on a kept-alive connection
    the second waited for the client's delayed ACK (~40 ms a page)."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = protocol
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=directory))
    server.serve_forever()


# ------------------------------------------------------------------ bare Scrapy

def bare_crawl(start_url: str, stats_out: str) -> None:
    """The same links, nothing else: list pages -> articles + the next list page."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    article_link = re.compile(r'href="(\./\d{6}/t\d{8}_\d+\.html)"')
    pager = re.compile(r"createPageHTML\((\d+),\s*(\d+)")

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):
            yield scrapy.Request(start_url, callback=self.parse_list)

        def parse_list(self, response):
            text = response.text
            for href in article_link.findall(text):
                yield scrapy.Request(response.urljoin(href), callback=self.parse_article)
            m = pager.search(text)
            if m and int(m.group(2)) + 1 < int(m.group(1)):
                yield scrapy.Request(response.urljoin(f"index_{int(m.group(2)) + 1}.html"), callback=self.parse_list)

        def parse_article(self, response):
            return None

    sys.path.insert(0, str(REPO))  # this tree's settings, also when another checkout is installed
    from crawler import settings as ours

    process = CrawlerProcess({
        # the CPU settings govbrief runs with (crawler/settings.py), so the fetch limit is the same reactor's
        "CONCURRENT_ITEMS": ours.CONCURRENT_ITEMS,
        "WARN_ON_GENERATOR_RETURN_VALUE": ours.WARN_ON_GENERATOR_RETURN_VALUE,
        "CONCURRENT_REQUESTS": 8, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False, "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS_BASE": ours.EXTENSIONS_BASE,  # neither extension even imported, as in the crawl
        "USER_AGENT": "govbrief-bench",
    })
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(stats_out).write_text(json.dumps({"responses": stats.get("response_received_count", 0),
                                           "elapsed": stats.get("elapsed_time_seconds")}, default=str))


# ------------------------------------------------------------------ measuring processes

def process_tree(root_pid: int) -> list[int]:
    """The process and all its descendants. From each process's children lists
    (/proc/PID/task/TID/children: the tree only, ~0.2 ms); where the kernel has none, by reading the
    parent of every process in /proc (~1.5 ms on a quiet machine)."""
    if Path(f"/proc/{root_pid}/task/{root_pid}/children").exists():
        def children(pid: int) -> list[int]:
            try:
                return [int(c) for task in os.listdir(f"/proc/{pid}/task")
                        for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:  # gone meanwhile
                return []
    else:
        by_parent: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            by_parent.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))

        def children(pid: int) -> list[int]:
            return by_parent.get(pid, [])
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children(pid))
    return tree


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")  # /proc's CPU times are in these ticks


def tree_rss_mb(root_pid: int, *, proportional: bool = False, pids: list[int] | None = None) -> float:
    """Resident memory of a process and all its descendants (MB), from /proc. RSS counts a page shared
    by several processes (workers forked from one server) in each of them; proportional=True gives
    PSS instead (a shared page split between its sharers: the memory the tree really takes), which
    the kernel computes by walking the page tables: ~9 ms for a crawl's six processes, against
    ~0.3 ms for RSS (statm)."""
    total_kb = 0
    for pid in process_tree(root_pid) if pids is None else pids:  # pids: the tree, read already
        try:
            if proportional:
                total_kb += next((int(line.split()[1]) for line in
                                  Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                                  if line.startswith("Pss:")), 0)
            else:
                total_kb += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total_kb / 1024


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) a running process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


PSS_EVERY = 10  # samples (of 0.1 s) between two PSS readings


def machine_times() -> dict[str, float]:
    """The whole machine's core-seconds so far by state, from /proc/stat's first line: "idle" (idle and
    waiting for I/O) and "steal" (a virtual machine's cores running someone else's work: the
    hypervisor took them). A run's "idle" seen from inside its process tree (cores x wall-clock minus
    the tree's CPU) mixes both with the CPU of every other process; these tell them apart."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return {"idle": (fields[3] + fields[4]) / CLK_TCK, "steal": (fields[7] if len(fields) > 7 else 0) / CLK_TCK}


class CpuByRole:
    """CPU of each process of a crawl's tree, summed by what the process is: "crawl" (the command's
    own process: reactor, capture writer, lineage), "processing" (its writer process), "fork server",
    "workers" (forked by the fork server), "other". Where a run's core-seconds go, without a second
    tool (bench/cpu_timeline.py has the timeline). A process's figure is its last sample: one that
    exits loses what it spent after it (under 0.1 s)."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self._role: dict[int, str] = {}
        self._cpu: dict[int, float] = {}

    def _role_of(self, pid: int) -> str:
        if pid not in self._role:
            if pid == self.root_pid:
                role = "crawl"
            else:
                stat = Path(f"/proc/{pid}/stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if self._role.get(parent) == "fork server":
                    role = "workers"
                elif b"multiprocessing.forkserver" in cmdline:
                    role = "fork server"
                elif b"spawn_main" in cmdline:
                    role = "processing"
                else:
                    role = "other"
            self._role[pid] = role
        return self._role[pid]

    def sample(self, pids: list[int]) -> None:
        """pids: the tree now (process_tree of the root)."""
        for pid in pids:
            try:
                self._role_of(pid)
                self._cpu[pid] = process_cpu_s(pid)
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, cpu in self._cpu.items():
            out[self._role[pid]] = round(out.get(self._role[pid], 0.0) + cpu, 2)
        return out


def run_measured(cmd: list[str], *, env: dict | None = None, phase_marker: str | None = None) -> dict:
    """Run cmd; wall-clock, peak memory of its process tree before/after phase_marker in its log."""
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = machine_times()
    stdout_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # a pipe would fill up and block
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=stdout_file, stderr=subprocess.PIPE, text=True)
    peaks = {"crawl": 0.0, "after": 0.0, "pss": 0.0}
    phase = {"name": "crawl", "at": None}
    lines: list[str] = []

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if phase_marker and phase_marker in line and phase["name"] == "crawl":
                phase["name"], phase["at"] = "after", time.monotonic() - started

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The sampler runs on the machine it measures: RSS 10 times a second (~0.5 % of a core), PSS once a
    # second. Until 2026-12-06 both were read 10 times a second by scanning all of /proc: ~20 % of a
    # core taken from a crawl that uses both (the bare crawl, on one core, did not feel it).
    samples = 0
    by_role = CpuByRole(proc.pid)
    while proc.poll() is None:
        pids = process_tree(proc.pid)  # once a sample, for the CPU, the RSS and the PSS
        by_role.sample(pids)
        rss = tree_rss_mb(proc.pid, pids=pids)
        peaks[phase["name"]] = max(peaks[phase["name"]], rss)
        if samples % PSS_EVERY == 0:
            peaks["pss"] = max(peaks["pss"], tree_rss_mb(proc.pid, proportional=True, pids=pids))
        samples += 1
        time.sleep(0.1)
    stdout_file.seek(0)
    stdout = stdout_file.read()
    stdout_file.close()
    reader.join(5)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the process and every child it waited for
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    machine_after = machine_times()
    return {"seconds": round(time.monotonic() - started, 2), "cpu_s": round(cpu, 2),
            "machine_idle_s": round(machine_after["idle"] - machine_before["idle"], 2),
            "steal_s": round(machine_after["steal"] - machine_before["steal"], 2),
            "returncode": proc.returncode, "stdout": stdout,
            "stderr_tail": "".join(lines[-20:]), "peak_crawl_mb": round(peaks["crawl"], 1),
            "peak_after_mb": round(peaks["after"], 1), "peak_pss_mb": round(peaks["pss"], 1),
            "crawl_phase_s": phase["at"], "cpu_by_process": by_role.totals(), "log": lines}


def responses_in_log(lines: list[str]) -> int:
    for line in reversed(lines):
        m = re.search(r"'response_received_count': (\d+)", line)
        if m:
            return int(m.group(1))
    return 0


# ------------------------------------------------------------------ main

def bench_sources(base: str, articles: int, per_page: int) -> str:
    """The registry of the bench site: one source, bounded a little above the site's size."""
    return (f"sources:\n  - id: bench-gov\n    name: 泰兴市人民政府\n    region: 江苏省泰兴市\n"
            f"    start_urls: [{base}{COLUMN}index.html]\n    max_pages: {articles // per_page + 10}\n"
            f"    max_articles: {articles + 10}\n")


def measure_bare(work: Path, base: str) -> dict:
    """Bare Scrapy following the site's links, with the crawl's CPU settings: the fetch limit."""
    stats_file = work / "bare.json"
    bare = run_measured([sys.executable, __file__, "--bare", f"{base}{COLUMN}index.html", str(stats_file)])
    responses = json.loads(stats_file.read_text())["responses"]
    measured = {"seconds": bare["seconds"], "cpu_s": bare["cpu_s"], "responses": responses,
                "pages_per_s": round(responses / bare["seconds"], 1), "peak_mb": bare["peak_crawl_mb"],
                "steal_s": bare["steal_s"]}
    print("bare scrapy:", measured, flush=True)
    return measured


def measure_extract(args: argparse.Namespace, work: Path, manifest: list[dict]) -> dict:
    """`govbrief extract --manifest` pinned to one core, its start-up (an empty manifest) subtracted."""
    sample = manifest[:args.extract_sample]
    m_path, empty = work / "manifest.jsonl", work / "empty.jsonl"
    m_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample), encoding="utf-8")
    empty.write_text("", encoding="utf-8")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    cmd = [*pin, sys.executable, "-m", "govbrief", "extract", "--manifest"]
    startup_run = run_measured([*cmd, str(empty)])
    startup, startup_cpu = startup_run["seconds"], startup_run["cpu_s"]
    extract = run_measured([*cmd, str(m_path)])
    seconds = extract["seconds"] - startup
    measured = {"pages": len(sample), "seconds": round(seconds, 2), "startup_s": startup,
                "cpu_s": round(extract["cpu_s"] - startup_cpu, 2),
                "pages_per_s": round(len(sample) / seconds, 1), "pinned": bool(pin), "steal_s": extract["steal_s"]}
    print("extract, one core:", measured, flush=True)
    return measured


def bracketed(runs: list[dict]) -> dict:
    """One measurement from the same one taken just before and just after the crawl: their mean time
    and CPU (time a page drifting linearly over the round cancels out at the crawl's middle); the
    rate from the mean time; both runs kept."""
    seconds = sum(r["seconds"] for r in runs) / len(runs)
    pages = runs[0].get("responses", runs[0].get("pages"))
    merged = {**runs[0], "seconds": round(seconds, 2), "cpu_s": round(sum(r["cpu_s"] for r in runs) / len(runs), 2),
              "steal_s": round(sum(r.get("steal_s", 0.0) for r in runs) / len(runs), 2),
              "pages_per_s": round(pages / seconds, 1), "bracket": runs,
              # how far the machine's speed moved between the two: a round whose drift is large
              # (0.1 and more is common here) says more about the machine than about the crawl
              "drift": round(max(r["seconds"] for r in runs) / min(r["seconds"] for r in runs) - 1, 3)}
    print("bracketed:", {k: v for k, v in merged.items() if k != "bracket"}, flush=True)
    return merged


def measure_round(args: argparse.Namespace, work: Path, base: str, manifest: list[dict],
                  server: subprocess.Popen, cores: int, result: dict) -> dict:
    """One round into `result`: bare Scrapy, the crawl and the one-core extraction rate, one after the
    other, so the limit and the rate are measured under the same load (the machine is shared and its
    speed drifts by 10-20 % within minutes: rounds far apart compare poorly). --bracket: bare Scrapy
    and the extraction rate both before and after the crawl (bare, extract, crawl, extract, bare), so
    a drift during the round moves the limit as it moves the crawl."""
    before: dict[str, dict] = {}
    if not args.skip_bare:
        before["bare"] = measure_bare(work, base)
    if args.bracket and not args.skip_extract:
        before["extract"] = measure_extract(args, work, manifest)

    sources = work / "sources.yml"
    sources.write_text(bench_sources(base, args.articles, args.per_page), encoding="utf-8")
    db = work / "archive.db"
    for leftover in work.glob("archive.db*"):
        leftover.unlink()
    commits_file = work / "commits.txt"
    commits_file.unlink(missing_ok=True)
    env = {**os.environ, "GOVBRIEF_COUNT_COMMITS": str(commits_file)}
    server_before = process_cpu_s(server.pid)
    crawl = run_measured([sys.executable, "-m", "govbrief", "crawl", "--sources", str(sources), "--db", str(db),
                          "--delay", "0", "--log-level", "INFO"], env=env, phase_marker="] INFO: capture: ")
    (work / "crawl.log").write_text("".join(crawl["log"]), encoding="utf-8")
    if crawl["returncode"] != 0:
        print(crawl["stdout"], crawl["stderr_tail"], file=sys.stderr)
    import sqlite3

    conn = sqlite3.connect(db)
    articles = conn.execute("select count(*) from articles").fetchone()[0]
    # pages answered (list, article, sitemap, feed): the run's own count (Scrapy's stats dump is
    # off in govbrief's log); the log's figure when a build still prints it
    fetched = conn.execute("select pages_fetched from crawl_runs order by id desc limit 1").fetchone()
    responses = responses_in_log(crawl["log"]) or (fetched[0] if fetched and fetched[0] else 0)
    conn.close()
    commits = sum(int(line.split()[1]) for line in commits_file.read_text().splitlines()) \
        if commits_file.exists() else None
    # the site's server runs on the same two cores: CPU neither bare Scrapy's rate (one core, the
    # server on the other) nor the limit counts, but that the crawl's cores lose (a real site's
    # server is elsewhere); reported, not subtracted
    server_cpu = round(process_cpu_s(server.pid) - server_before, 2)
    result["govbrief"] = {
        "seconds": crawl["seconds"], "cpu_s": crawl["cpu_s"], "responses": responses, "articles": articles,
        "pages_per_s": round(responses / crawl["seconds"], 1),
        "pages_per_s_crawl_phase": round(responses / crawl["crawl_phase_s"], 1) if crawl["crawl_phase_s"] else None,
        "peak_crawl_phase_mb": crawl["peak_crawl_mb"], "peak_after_mb": crawl["peak_after_mb"],
        "peak_pss_mb": crawl["peak_pss_mb"],
        "peak_ratio": round(max(crawl["peak_crawl_mb"], crawl["peak_after_mb"]) / crawl["peak_crawl_mb"], 2),
        "commits": commits, "commits_per_1000_articles": round(commits * 1000 / articles, 1)
        if commits and articles else None,
        "exit": crawl["returncode"], "site_server_cpu_s": server_cpu,
        "cpu_by_process_s": crawl["cpu_by_process"],
        # of cores x wall-clock, what neither the crawl's tree nor the site's server used: truly idle
        # (no runnable thread: the pipeline waited) or stolen by the hypervisor (runnable, not run)
        "machine_idle_s": crawl["machine_idle_s"], "steal_s": crawl["steal_s"],
    }
    print("govbrief crawl:", result["govbrief"], flush=True)

    after: dict[str, dict] = {}
    if not args.skip_extract:
        after["extract"] = measure_extract(args, work, manifest)
    if args.bracket and not args.skip_bare:
        after["bare"] = measure_bare(work, base)
    for part in ("bare", "extract"):
        runs = [m[part] for m in (before, after) if part in m]
        if runs:
            result[part] = bracketed(runs) if len(runs) > 1 else runs[0]

    if "bare" in result and "extract" in result:
        bare_rate, extract_rate = result["bare"]["pages_per_s"], result["extract"]["pages_per_s"]
        limit = min(bare_rate, cores / (1 / bare_rate + 1 / extract_rate))
        result["cpu_limit_pages_per_s"] = round(limit, 1)
        result["ratio"] = round(result["govbrief"]["pages_per_s"] / limit, 2)
        # The same comparison in CPU time, which other people's jobs on a shared machine do not
        # distort: the least a crawl can spend per page is bare Scrapy's CPU plus one extraction.
        ideal = result["bare"]["cpu_s"] / result["bare"]["responses"] + \
            result["extract"]["cpu_s"] / result["extract"]["pages"]
        spent = result["govbrief"]["cpu_s"] / result["govbrief"]["responses"]
        bare_ms = 1000 * result["bare"]["cpu_s"] / result["bare"]["responses"]
        extract_ms = 1000 * result["extract"]["cpu_s"] / result["extract"]["pages"]
        result["cpu_ms_per_page"] = {"bare": round(bare_ms, 2), "extract": round(extract_ms, 2),
                                     "govbrief": round(1000 * spent, 2)}
        result["cpu_ratio"] = round(ideal / spent, 2)
        result["load_average"] = os.getloadavg()
        print(f"CPU per page: {result['cpu_ms_per_page']}; bare + extract = {result['cpu_ratio']} x govbrief's; "
              f"load average {result['load_average']}", flush=True)
        print(f"CPU limit min({bare_rate}, {cores}/(1/{bare_rate} + 1/{extract_rate})) = {limit:.1f} pages/s; "
              f"govbrief {result['govbrief']['pages_per_s']} = {result['ratio']} x the limit", flush=True)
        crawl = result["govbrief"]
        print(f"the crawl's {cores} x {crawl['seconds']} core-s: its tree {crawl['cpu_s']}, the site's server "
              f"{crawl['site_server_cpu_s']}, idle {crawl['machine_idle_s']}, stolen by the hypervisor "
              f"{crawl['steal_s']} (bare Scrapy's run: {result['bare']['steal_s']} stolen)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--per-page", type=int, default=PER_PAGE, help="article links per list page (50 for 50k)")
    parser.add_argument("--page-kb", type=int, default=0,
                        help="pad pages with real portals' chrome to about this size (45: real-dev's weight)")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--skip-extract", action="store_true")
    parser.add_argument("--extract-sample", type=int, default=1000, help="article pages for the extraction rate")
    parser.add_argument("--rounds", type=int, default=1,
                        help="bare, crawl and extraction this many times in turn (the machine's speed drifts "
                             "within minutes: each round's limit and rate are measured under the same load); "
                             "the median round is reported")
    parser.add_argument("--bracket", action="store_true",
                        help="measure bare Scrapy and the extraction rate before and after each crawl, and take "
                             "their means (the limit then sees the drift the crawl saw; rounds take ~1.4 x longer)")
    parser.add_argument("--workdir", help="keep the site and archive here (default: a temporary directory)")
    parser.add_argument("--http10", action="store_true",
                        help="serve the site over HTTP/1.0, one connection per page (the bench before 2026-12-06)")
    parser.add_argument("--bare", nargs=2, metavar=("URL", "STATS"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=3, metavar=("DIR", "PORT", "PROTOCOL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        bare_crawl(*args.bare)
        return 0
    if args.serve:
        serve_site(args.serve[0], int(args.serve[1]), args.serve[2])
        return 0

    work = Path(args.workdir or tempfile.mkdtemp(prefix="govbrief-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    site = work / "site"
    if site.exists():
        shutil.rmtree(site)
    manifest = build_site(site, args.articles, per_page=args.per_page, page_kb=args.page_kb)
    port = free_port()
    protocol = "HTTP/1.0" if args.http10 else "HTTP/1.1"
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(site), str(port), protocol],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    base = f"http://127.0.0.1:{port}"
    cores = len(os.sched_getaffinity(0))
    result: dict = {"articles": args.articles, "page_kb": args.page_kb,
                    "list_pages": (args.articles + args.per_page - 1) // args.per_page,
                    "cores": cores, "site_protocol": protocol,
                    "command": " ".join(["bench/throughput_bench.py", *sys.argv[1:]])}
    try:
        rounds = []
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"--- round {number} of {args.rounds}", flush=True)
            rounds.append(measure_round(args, work, base, manifest, server, cores, dict(result)))
        # the round whose ratio is the median stands for the run (its figures are the JSON's top level)
        with_ratio = [r for r in rounds if "ratio" in r]
        result = sorted(with_ratio, key=lambda r: r["ratio"])[(len(with_ratio) - 1) // 2] if with_ratio else rounds[-1]
        if args.rounds > 1:
            result = {**result, "rounds": rounds}
            print(f"ratios by round {[r['ratio'] for r in with_ratio]}: median {result.get('ratio')} x the limit",
                  flush=True)
    finally:
        server.terminate()
        server.wait()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
