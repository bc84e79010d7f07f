"""Re-checking archived articles: what changed on a page, and when it vanished.

Journalists need to prove what a government page said on a date and to see when it was edited or
withdrawn (a large share of Chinese local policy pages disappear within two years). The crawl
(crawler/spiders/govbrief.py) asks `due_for_recheck` which known articles to fetch again, sends
the conditional headers of the last good capture, follows no HTTP redirect, and hands every
response - whatever its status - to `apply_recheck` (via crawler/pipeline.py).

Policy (`due_for_recheck`): young pages change often, old pages rarely. The age of an article is
counted from its publication date (else from when it was first archived); it is re-checked when
this much time has passed since its last check (a newly archived article counts as just checked):

    state / age of the article            re-check every
    ------------------------------------  --------------
    last check was a challenge or error   6 hours  (i.e. next run: anti-bot pages pass, outages end),
                                          doubling while it keeps failing, at most the interval below
    gone (deleted)                        90 days  (it may come back)
    younger than 7 days                   12 hours
    younger than 30 days                  3 days
    younger than 1 year                   30 days
    older                                 180 days

At most `limit` (default 200, env GOVBRIEF_RECHECK_LIMIT) articles per source and run, the most
overdue first. The clock is `now`, else the environment variable GOVBRIEF_NOW (an ISO time such
as 2026-12-01T00:00:00Z; tests and replays use it to make a run happen "later"), else the real time.
GOVBRIEF_NOW also stamps what `apply_recheck` records, so one run sees one consistent clock.

Outcomes of one re-check (`apply_recheck`; the crawl counts them as recheck_<outcome>):

    not_modified  304 to our If-None-Match / If-Modified-Since: nothing stored but the check time
    unchanged     200, same cleaned title and text (the capture is stored: proof of the page on a date)
    changed       200, different title or text: new row in article_versions with a diff, and the
                  article row now holds the new text; the older captures stay in `captures`
    gone          first time the article is found deleted: 404/410, a redirect to the home page, a
                  list page or an error page, or a soft-404 notice (pipelines/recheck/rules/soft404.yml).
                  Sets gone_since / gone_reason; the article row keeps its last good text
    still_gone    deleted before and still deleted (gone_since is not moved)
    back          was gone and answers with the article again: gone_since cleared, the gap is
                  recorded in article_events (and a new version when the text differs)
    challenge     an anti-bot or rate-limit page (412/521 script pages, __jsl_clearance, acw_sc__v2,
                  WAF pages, 429/503): never a deletion, gone_since untouched, retried next run
    moved         a redirect to another page that is not a home/list/error page (the article may live
                  on at the new address): recorded as an event, not a deletion
    error         anything else that says nothing about the article (5xx after retries, other 4xx,
                  a 200 page without article text): retried next run, never a deletion
    unknown       a response for a URL that is not an archived article (nothing recorded)

Connection failures never reach this module: the spider records them in fetch_errors.

Schema (created by `ensure_recheck_schema`, called from pipelines.store.migrations.ensure_schema):
    articles        + last_checked, last_check_outcome, failed_checks, last_seen, seen_capture_id, gone_since,
                      gone_reason, gone_status, gone_detail, version_count, last_changed
    article_versions  article_id, version, capture_id, title, text, published, text_length, diff,
                      summary, detected_at. Version 1 is the text first archived; it is written
                      lazily, together with version 2, on the first change.
    article_events    article_id, url, event (gone, back, challenge, moved, error), at, status, reason,
                      detail, capture_id, run_id
    views             changed_articles (one row per detected change), deleted_articles
"""

from __future__ import annotations

import difflib
import html
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import sqlite_utils
import yaml

from pipelines.chinese import simplified_line
from pipelines.extract.decode import decode_html
from pipelines.facts.store import store_facts
from pipelines.store import storage
from pipelines.store.storage import Capture
from pipelines.urls import looks_like_article_url, looks_like_list_url

if TYPE_CHECKING:
    from pipelines.extract.article import Article

logger = logging.getLogger(__name__)

SOFT404_RULES = Path(__file__).resolve().parent / "rules" / "soft404.yml"

# ---------------------------------------------------------------- outcomes and states

NOT_MODIFIED = "not_modified"
UNCHANGED = "unchanged"
CHANGED = "changed"
GONE = "gone"
STILL_GONE = "still_gone"
BACK = "back"
CHALLENGE = "challenge"
MOVED = "moved"
ERROR = "error"
UNKNOWN = "unknown"
OK = "ok"  # a classification only: a 200 page with content, compared by apply_recheck

# Outcomes after which the next run should try again (the answer told us nothing about the page).
RETRY_OUTCOMES = frozenset({CHALLENGE, ERROR})

# ---------------------------------------------------------------- policy

# (age below which, re-check interval), youngest first; see the table in the module docstring.
SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=7), timedelta(hours=12)),
    (timedelta(days=30), timedelta(days=3)),
    (timedelta(days=365), timedelta(days=30)),
)
OLD_INTERVAL = timedelta(days=180)
GONE_INTERVAL = timedelta(days=90)
RETRY_INTERVAL = timedelta(hours=6)
DEFAULT_LIMIT = 200

# ---------------------------------------------------------------- time


def parse_time(value: str | None) -> datetime | None:
    """An aware UTC datetime from the archive's ISO strings ('2023-01-14', '...T10:00:00Z', '+08:00')."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if len(text) == 10:  # a bare date (published dates often are)
        text += "T00:00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """The archive's time format (pipelines.store.storage.utc_now): 2026-11-23T11:00:00Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def env_now() -> datetime | None:
    """GOVBRIEF_NOW, when set: the clock a test or a replay wants this run to see."""
    value = os.environ.get("GOVBRIEF_NOW")
    if not value:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"GOVBRIEF_NOW is not an ISO time: {value!r}")
    return parsed


def _clock(now: datetime | None) -> datetime:
    return now or env_now() or datetime.now(UTC)


# ---------------------------------------------------------------- policy


def check_interval(age: timedelta, *, gone: bool = False, last_outcome: str | None = None,
                   failed_checks: int = 0) -> timedelta:
    """How long after its last check an article of this age and state is due again.

    After a challenge or an error the next run tries again; when that keeps failing the wait doubles
    (6 h, 12 h, 24 h, …) up to the article's normal interval, so a site that blocks us for weeks or
    a page that answers 500 forever does not take the re-check budget of every run.
    """
    if gone:
        normal = GONE_INTERVAL
    else:
        normal = next((interval for below, interval in SCHEDULE if age < below), OLD_INTERVAL)
    if last_outcome in RETRY_OUTCOMES:
        return min(RETRY_INTERVAL * 2 ** min(max(failed_checks - 1, 0), 16), normal)
    return normal


@dataclass
class RecheckTarget:
    """One known article the crawl should fetch again, with the validators of its last good capture."""

    article_id: int
    url: str
    due_at: str
    interval: timedelta
    gone: bool = False
    etag: str | None = None
    last_modified: str | None = None

    def conditional_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since, so an unchanged page costs the site a 304.

        A gone article gets none: only a full answer can show that it is back.
        """
        if self.gone:
            return {}
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def due_for_recheck(db: sqlite_utils.Database, source_id: str, *, now: datetime | None = None,
                    limit: int | None = None) -> list[RecheckTarget]:
    """The articles of one source that the policy wants checked now, most overdue first."""
    now = _clock(now)
    if limit is None:
        limit = int(os.environ.get("GOVBRIEF_RECHECK_LIMIT") or DEFAULT_LIMIT)
    if limit <= 0 or "articles" not in db.table_names():
        return []
    sql = """select id, url, published, first_fetched, fetched_at, last_checked, last_check_outcome,
                    failed_checks, gone_since, coalesce(seen_capture_id, capture_id) as validator_capture_id
             from articles where source_id = ?"""
    due: list[tuple[datetime, int, dict, timedelta]] = []
    for row in db.query(sql, [source_id]):
        # a newly archived article counts as just checked: its first fetch is its last check
        checked = parse_time(row["last_checked"]) or parse_time(row["first_fetched"]) or parse_time(
            row["fetched_at"])
        # the article existed when we first fetched it at the latest: a published date after that
        # is a metadata error and must not make an old page look young (checked every 12 h forever)
        born = min(filter(None, (parse_time(row["published"]), parse_time(row["first_fetched"]), checked)),
                   default=now)
        interval = check_interval(now - born, gone=bool(row["gone_since"]), last_outcome=row["last_check_outcome"],
                                  failed_checks=row["failed_checks"] or 0)
        due_at = checked + interval if checked else now
        if due_at <= now:
            due.append((due_at, row["id"], row, interval))
    due.sort(key=lambda item: (item[0], item[1]))
    targets = []
    for due_at, article_id, row, interval in due[:limit]:
        headers: dict[str, str] = {}
        if row["validator_capture_id"] is not None:
            capture = next(db.query("select headers from captures where id = ?", [row["validator_capture_id"]]),
                           None)
            headers = json.loads(capture["headers"] or "{}") if capture else {}
        targets.append(RecheckTarget(
            article_id=article_id, url=row["url"], due_at=stamp(due_at), interval=interval,
            gone=bool(row["gone_since"]), etag=_header(headers, "ETag"),
            last_modified=_header(headers, "Last-Modified"),
        ))
    return targets


# ---------------------------------------------------------------- classification


@dataclass(frozen=True)
class Verdict:
    """What one response says about an article, before comparing any text."""

    state: str  # ok | not_modified | gone | challenge | moved | error
    reason: str  # machine-readable: http_404, redirect_home, soft404, js_challenge, …
    detail: str | None = None  # the evidence: the Location, the matched phrase or marker


@dataclass(frozen=True)
class Soft404Rules:
    phrases: tuple[str, ...]
    max_page_chars: int
    max_article_chars: int


@lru_cache(maxsize=1)
def soft404_rules() -> Soft404Rules:
    data = yaml.safe_load(SOFT404_RULES.read_text(encoding="utf-8"))
    phrases = tuple(re.sub(r"\s+", "", str(p)) for p in data["phrases"] if str(p).strip())
    return Soft404Rules(phrases, int(data["max_page_chars"]), int(data["max_article_chars"]))


def soft404_phrase(text: str | None) -> str | None:
    """The first soft-404 phrase found in `text` (whitespace ignored, Latin case ignored, Traditional
    characters read as simplified: the phrases are written once, in simplified Chinese)."""
    if not text:
        return None
    squeezed = simplified_line(re.sub(r"\s+", "", text).lower())
    for phrase in soft404_rules().phrases:
        if phrase.lower() in squeezed:
            return phrase
    return None


def soft404_article(title: str | None, text: str | None) -> str | None:
    """A soft-404 phrase when an extracted 'article' is only a short deletion notice."""
    whole = f"{title or ''}\n{text or ''}"
    if len(re.sub(r"\s+", "", whole)) > soft404_rules().max_article_chars:
        return None
    return soft404_phrase(whole)


# Anti-bot challenge pages. Each marker names a cookie or script variable that only challenge pages
# carry in their *body* (the same vendors also set cookies on normal pages, so headers are not used).
_CHALLENGE_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jiasule", re.compile(r"__jsl_clearance|__jsluid", re.I)),  # 加速乐 (Knownsec): 521 + script
    ("aliyun-waf", re.compile(r"acw_sc__v\d|\barg1\s*=\s*['\"][0-9A-F]{20,}", re.I)),  # Aliyun: 200 + script
    ("ruishu", re.compile(r"\$_ts\s*=|\$_ts\[|FSSBBIl1UgzbN7N", re.I)),  # 瑞数 (River Security): 412/202
    ("waf", re.compile(r"_waf_|waf[_-]?verify|wzws_cid|wzwschallenge", re.I)),  # generic WAFs, 网站卫士
    ("yunsuo", re.compile(r"yunsuo_session_verify|security_session_verify|security_verify_", re.I)),  # 云锁
    ("cloudflare", re.compile(r"cf-chl|challenge-platform|jschl", re.I)),
    ("captcha", re.compile(r"滑动验证|拖动滑块|请完成安全验证|人机验证|访问验证|安全检测中|正在进行安全检测|"
                           r"请开启\s*JavaScript|请启用\s*JavaScript|请打开浏览器的\s*JavaScript", re.I)),
)
# A script that sets a cookie and then reloads or re-navigates: the generic cookie challenge.
_SETS_COOKIE = re.compile(r"document\s*\.\s*cookie\s*=", re.I)
_RELOADS = re.compile(r"location\s*\.\s*(reload|replace|assign)\s*\(|location(\s*\.\s*href)?\s*=(?!=)", re.I)

# Statuses anti-bot products answer with: 412 (瑞数), 521 (加速乐), 403 (WAF block), 202 (瑞数's
# first hop), and rate limiting / overload (429, 503). None of them ever means "deleted".
_CHALLENGE_STATUSES = frozenset({202, 403, 412, 418, 429, 503, 521})
_RATE_LIMIT_STATUSES = frozenset({429, 503})
_GONE_STATUSES = frozenset({404, 410})
# Visible text this short is not a page a person reads: a challenge, a blank template, an error stub.
_TINY_PAGE_CHARS = 200
# Challenge markers only count on pages with little to read (an article could mention a marker).
_CHALLENGE_PAGE_CHARS = 1000

_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.I | re.S)
_INVISIBLE = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)

# Where a deleted article's URL gets sent. Paths, matched on the redirect target.
_HOME_PATH = re.compile(r"^/*((index|default|home|main|portal)\.(s?html?|jsp|php|aspx?|do))?$", re.I)
# a path segment (its name before any extension) that only error pages use: /404.html, /error/, …
_ERROR_SEGMENTS = frozenset({"404", "40x", "410", "error", "errors", "err", "error404", "404error", "errorpage",
                             "notfound", "not_found", "not-found", "nofound", "nopage", "pagenotfound",
                             "page404", "deleted"})
_CHALLENGE_PATH = re.compile(r"waf|verify|captcha|challenge|wzws", re.I)


def page_text(body: bytes | str, content_type: str | None = None) -> tuple[str, str]:
    """(title, visible text) of a page, scripts and styles removed, whitespace collapsed."""
    source = body if isinstance(body, str) else decode_html(body, content_type)[0]
    title_match = _TITLE.search(source)
    title = html.unescape(_TAG.sub(" ", title_match.group(1))) if title_match else ""
    text = html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", source)))
    return re.sub(r"\s+", " ", title).strip(), re.sub(r"\s+", " ", text).strip()


def _script_share(source: str) -> float:
    scripts = sum(len(m.group(0)) for m in _SCRIPT.finditer(source))
    return scripts / max(len(source), 1)


def challenge_marker(source: str, visible: str) -> str | None:
    """The name of the anti-bot challenge this page is, if it is one."""
    if len(visible) > _CHALLENGE_PAGE_CHARS:
        return None
    for name, pattern in _CHALLENGE_MARKERS:
        if pattern.search(source):
            return name
    scripts = " ".join(m.group(1) for m in _SCRIPT.finditer(source))
    # only on near-empty pages: a short notice with a visitor-counter cookie script is an article
    if len(visible) < _TINY_PAGE_CHARS and _SETS_COOKIE.search(scripts) and _RELOADS.search(scripts):
        return "cookie-script"
    return None


def redirect_kind(target: str, article_url: str) -> str | None:
    """What a redirect target says about the article: self, challenge, error, home, list, or None."""
    here, there = urlsplit(article_url), urlsplit(target)
    if (there.netloc.lower(), there.path, there.query) == (here.netloc.lower(), here.path, here.query):
        # back to itself (usually with a Set-Cookie): a cookie check, unless only the scheme changed
        return "self" if there.scheme == here.scheme else None
    if _CHALLENGE_PATH.search(there.path + "?" + there.query):
        return "challenge"
    if any(segment.split(".")[0].lower() in _ERROR_SEGMENTS for segment in there.path.split("/")):
        return "error"
    if _HOME_PATH.match(there.path) and not there.query:
        return "home"
    if looks_like_list_url(target) and not looks_like_article_url(target):
        return "list"
    return None


def _redirect_verdict(status: int, target: str, article_url: str) -> Verdict:
    kind = redirect_kind(target, article_url)
    if kind in ("self", "challenge"):
        return Verdict(CHALLENGE, f"redirect_{kind}", target)
    if kind in ("error", "home", "list"):
        return Verdict(GONE, f"redirect_{kind}", target)
    return Verdict(MOVED, f"http_{status}" if status != 200 else "meta_refresh", target)


def classify_response(status: int, headers: dict[str, str] | None, body: bytes | str, *, url: str,
                      final_url: str | None = None) -> Verdict:
    """What a re-check response says about the article at `url`. Pure: no database, no network.

    Order matters: a challenge can come with any status (Aliyun answers 200, 加速乐 521, 瑞数 412)
    and must never be read as a deletion, so it is recognised before 404/410 and soft-404 notices.
    """
    if status == 304:
        return Verdict(NOT_MODIFIED, "http_304")
    content_type = _header(headers, "Content-Type")
    source = body if isinstance(body, str) else decode_html(body or b"", content_type)[0]
    title, visible = page_text(source)
    marker = challenge_marker(source, visible)
    if marker:
        return Verdict(CHALLENGE, "js_challenge", marker)
    if status in _RATE_LIMIT_STATUSES:
        return Verdict(CHALLENGE, "rate_limited", f"HTTP {status}")
    if status in _CHALLENGE_STATUSES:
        if len(visible) < _TINY_PAGE_CHARS or _script_share(source) > 0.5:
            return Verdict(CHALLENGE, "blocked", f"HTTP {status}")
        return Verdict(ERROR, f"http_{status}")
    if status in _GONE_STATUSES:
        return Verdict(GONE, f"http_{status}")
    if 300 <= status < 400:
        location = _header(headers, "Location")
        if not location:
            return Verdict(ERROR, f"http_{status}", "redirect without Location")
        return _redirect_verdict(status, urljoin(url, location.strip()), url)
    if not 200 <= status < 300:
        return Verdict(ERROR, f"http_{status}")
    if final_url and final_url != url:  # a followed meta refresh (HTTP redirects are not followed)
        verdict = _redirect_verdict(200, final_url, url)
        if verdict.state != CHALLENGE or verdict.reason != "redirect_self":
            return verdict
    phrase = soft404_phrase(title)
    if phrase is None and len(re.sub(r"\s+", "", visible)) <= soft404_rules().max_page_chars:
        phrase = soft404_phrase(visible)
    if phrase:
        return Verdict(GONE, "soft404", phrase)
    return Verdict(OK, f"http_{status}")


# ---------------------------------------------------------------- text comparison and diffs


def normalize_text(text: str | None) -> str:
    """Lines with runs of whitespace (also NBSP, U+3000) collapsed, empty lines dropped."""
    lines = (re.sub(r"\s+", " ", line).strip() for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def same_content(a_title: str | None, a_text: str | None, b_title: str | None, b_text: str | None) -> bool:
    return (normalize_text(a_title), normalize_text(a_text)) == (normalize_text(b_title), normalize_text(b_text))


def _document(title: str | None, text: str | None) -> list[str]:
    # the title is diffed as the first line, so a changed headline shows like a changed paragraph
    return [f"【标题】{normalize_text(title)}", *normalize_text(text).splitlines()]


def text_diff(old_title: str | None, old_text: str | None, new_title: str | None, new_text: str | None, *,
              old_label: str = "before", new_label: str = "after") -> str:
    """A unified diff by paragraph (one line each), the title as the first line."""
    lines = difflib.unified_diff(_document(old_title, old_text), _document(new_title, new_text),
                                 fromfile=old_label, tofile=new_label, lineterm="", n=1)
    return "\n".join(lines)


def _inline(old: str, new: str, context: int = 12) -> str:
    """One changed paragraph as '…context[-removed-]{+added+}context…' (wdiff style)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    parts = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before = old[max(0, i1 - context):i1]
        after = old[i2:i2 + context]
        change = (f"[-{old[i1:i2]}-]" if i2 > i1 else "") + (f"{{+{new[j1:j2]}+}}" if j2 > j1 else "")
        parts.append(f"…{before}{change}{after}…")
    return " ".join(parts)


def change_summary(old_title: str | None, old_text: str | None, new_title: str | None,
                   new_text: str | None, *, max_chars: int = 600) -> str:
    """A one-cell account of a change: what kind, how many paragraphs, and the edited words."""
    notes = []
    if normalize_text(old_title) != normalize_text(new_title):
        notes.append(f"title: [-{normalize_text(old_title)}-]{{+{normalize_text(new_title)}+}}")
    old, new = normalize_text(old_text).splitlines(), normalize_text(new_text).splitlines()
    counts = {"changed": 0, "added": 0, "removed": 0}
    inline = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "replace":
            paired = min(i2 - i1, j2 - j1)
            counts["changed"] += paired
            counts["removed"] += (i2 - i1) - paired
            counts["added"] += (j2 - j1) - paired
            inline.extend(_inline(old[i1 + k], new[j1 + k]) for k in range(paired))
        elif tag == "delete":
            counts["removed"] += i2 - i1
        elif tag == "insert":
            counts["added"] += j2 - j1
    if any(counts.values()):
        notes.append(", ".join(f"{n} paragraph{'s' if n != 1 else ''} {k}" for k, n in counts.items() if n))
    summary = "; ".join(notes + inline)
    return summary if len(summary) <= max_chars else summary[: max_chars - 1] + "…"


# ---------------------------------------------------------------- schema

_ARTICLE_COLUMNS: dict[str, type] = {
    "last_checked": str,  # when the re-check last got an answer (any outcome)
    "last_check_outcome": str,  # that answer: one of the outcomes above
    "failed_checks": int,  # consecutive challenge/error answers: the retry interval doubles with each
    "last_seen": str,  # the last time the page answered with the article (200 unchanged/changed, 304)
    "seen_capture_id": int,  # the latest capture that showed the article: evidence and validators
    "gone_since": str,  # first check that found it deleted; NULL while it is online
    "gone_reason": str,  # http_404, http_410, redirect_home, redirect_list, redirect_error, soft404
    "gone_status": int,  # the HTTP status of that answer
    "gone_detail": str,  # the evidence: redirect target or the soft-404 phrase
    "version_count": int,  # NULL = 1: the text never changed
    "last_changed": str,  # when the latest version was detected
}

CHANGED_ARTICLES_SQL = """select
  v.article_id, a.url, a.title, a.source_id, a.region, a.published,
  v.version, coalesce(a.version_count, 1) as versions, v.detected_at as changed_at,
  p.detected_at as previous_at, p.title as previous_title, v.title as version_title,
  v.summary, v.diff, p.capture_id as previous_capture_id, v.capture_id, a.gone_since
from article_versions v
join articles a on a.id = v.article_id
left join article_versions p on p.article_id = v.article_id and p.version = v.version - 1
where v.version > 1
order by v.detected_at desc, v.article_id, v.version"""

DELETED_ARTICLES_SQL = """select
  a.id as article_id, a.url, a.title, a.source_id, a.region, a.published,
  a.gone_since, a.gone_reason, a.gone_status, a.gone_detail,
  coalesce(a.last_seen, a.fetched_at) as last_seen, a.last_checked, a.last_check_outcome,
  coalesce(a.seen_capture_id, a.capture_id) as last_good_capture_id,
  coalesce(a.version_count, 1) as versions, a.text_length
from articles a
where a.gone_since is not null
order by a.gone_since desc, a.id"""


def ensure_recheck_schema(db: sqlite_utils.Database) -> None:
    """Add the re-check columns, tables, indexes and views. Idempotent (migrations.ensure_schema calls it)."""
    if "articles" not in db.table_names():
        return
    existing = db["articles"].columns_dict
    for name, kind in _ARTICLE_COLUMNS.items():
        if name not in existing:
            db["articles"].add_column(name, kind)
    db["article_versions"].create(
        {"id": int, "article_id": int, "version": int, "capture_id": int, "title": str, "text": str,
         "published": str, "text_length": int, "diff": str, "summary": str, "detected_at": str},
        pk="id", if_not_exists=True,
    )
    db["article_events"].create(
        {"id": int, "article_id": int, "url": str, "event": str, "at": str, "status": int, "reason": str,
         "detail": str, "capture_id": int, "run_id": int},
        pk="id", if_not_exists=True,
    )
    db["article_versions"].create_index(["article_id", "version"], unique=True, if_not_exists=True)
    db["article_versions"].create_index(["detected_at"], if_not_exists=True)
    db["article_events"].create_index(["article_id", "at"], if_not_exists=True)
    db["article_events"].create_index(["event", "at"], if_not_exists=True)
    db["articles"].create_index(["gone_since"], if_not_exists=True)
    # replace=True recreates a view only when its SQL changed, so upgrades reach old archives
    db.create_view("changed_articles", CHANGED_ARTICLES_SQL, replace=True)
    db.create_view("deleted_articles", DELETED_ARTICLES_SQL, replace=True)


# ---------------------------------------------------------------- applying one re-check


def _extract(db: sqlite_utils.Database, capture: Capture) -> Article | None:
    """Extract exactly as the crawl does (a function of the capture alone), so an unchanged page
    never reads as an edit."""
    from pipelines.extract.article import extract_article

    del db
    url = capture.final_url or capture.url
    return extract_article(capture.body, url, capture.content_type)


def _load_capture(db: sqlite_utils.Database, capture_id: int | None) -> Capture | None:
    if capture_id is None:
        return None
    row = next(db.query("select * from captures where id = ?", [capture_id]), None)
    return storage.load_capture(row) if row else None


def _event(db: sqlite_utils.Database, article: dict, event: str, at: str, *, status: int | None,
           reason: str | None, detail: Any = None, capture_id: int | None, run_id: int | None) -> None:
    if detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail, ensure_ascii=False)
    db["article_events"].insert({
        "article_id": article["id"], "url": article["url"], "event": event, "at": at, "status": status,
        "reason": reason, "detail": detail, "capture_id": capture_id, "run_id": run_id,
    })


def _record_version(db: sqlite_utils.Database, article: dict, new: Article, *, capture_id: int, at: str,
                    reference: tuple[str | None, str | None, str | None]) -> int:
    """Store the new text as the next version (writing version 1 first, lazily). Returns its number."""
    last = db.execute("select max(version) from article_versions where article_id = ?",
                      [article["id"]]).fetchone()[0]
    if not last:
        db["article_versions"].insert({
            "article_id": article["id"], "version": 1, "capture_id": article["capture_id"],
            "title": article["title"], "text": article["text"], "published": article["published"],
            "text_length": len(article["text"] or ""), "diff": None, "summary": "first archived version",
            "detected_at": article["first_fetched"] or article["fetched_at"],
        })
        last = 1
    ref_title, ref_text, ref_at = reference
    version = last + 1
    db["article_versions"].insert({
        "article_id": article["id"], "version": version, "capture_id": capture_id, "title": new.title,
        "text": new.text, "published": new.published, "text_length": len(new.text or ""),
        "diff": text_diff(ref_title, ref_text, new.title, new.text,
                          old_label=f"v{last} {ref_at or ''}".strip(), new_label=f"v{version} {at}"),
        "summary": change_summary(ref_title, ref_text, new.title, new.text),
        "detected_at": at,
    })
    return version


def _compare(db: sqlite_utils.Database, article: dict, previous: Capture | None,
             new: Article) -> tuple[bool, str | None, str | None, str | None]:
    """(changed?, reference title, reference text, reference time) for a 200 page with article text.

    The reference is the previous good capture extracted again *now*, with the same extractor and
    the same boilerplate as the new page: an improved extractor or newly learned site chrome must
    not look like an edit of the page. The stored text is the fallback when that capture is lost.
    """
    stored = (article["title"], article["text"], article["fetched_at"])
    if previous is None:
        return not same_content(article["title"], article["text"], new.title, new.text), *stored
    try:
        old = _extract(db, previous)
    except Exception:  # the old capture is evidence, not code: a failure here falls back to the row
        logger.exception("could not re-extract capture of %s", article["url"])
        old = None
    if old is None:
        return not same_content(article["title"], article["text"], new.title, new.text), *stored
    if same_content(old.title, old.text, new.title, new.text):
        return False, old.title, old.text, previous.fetched_at
    # also unchanged when the new page reads exactly as the archived row (the old capture may have
    # been extracted by a different boilerplate state)
    changed = not same_content(article["title"], article["text"], new.title, new.text)
    return changed, old.title, old.text, previous.fetched_at


def apply_recheck(db: sqlite_utils.Database, capture: Capture, *, region: str | None = None,
                  run_id: int | None = None, now: datetime | None = None) -> str:
    """Record what one re-check response says about its article; returns the outcome."""
    article = next(db.query("select * from articles where url = ?", [capture.url]), None)
    if article is None:
        logger.warning("re-check response for a URL that is not archived: %s", capture.url)
        return UNKNOWN
    at = stamp(now or env_now() or parse_time(capture.fetched_at) or datetime.now(UTC))
    verdict = classify_response(capture.status, capture.headers, capture.body, url=capture.url,
                                final_url=capture.final_url)
    # Every answer but a 304 is kept: a deletion notice or a challenge page is evidence too.
    capture_id = storage.insert_capture(db, capture, run_id=run_id) if verdict.state != NOT_MODIFIED else None
    was_gone = bool(article["gone_since"])
    updates: dict[str, Any] = {"last_checked": at}

    new: Article | None = None
    previous = _load_capture(db, article["seen_capture_id"] or article["capture_id"]) if verdict.state == OK else None
    if verdict.state == OK:
        if previous is not None and previous.sha256 == capture.sha256:
            verdict = Verdict(OK, "same_bytes")  # byte-identical: no need to extract anything
        else:
            try:
                new = _extract(db, capture)
            except Exception as exc:  # one odd page must not stop the run; retried next run
                logger.exception("could not extract re-checked %s", capture.url)
                verdict = Verdict(ERROR, "extraction_failed", repr(exc)[:300])
            else:
                if new is None:
                    verdict = Verdict(ERROR, "no_article_text")
                elif phrase := soft404_article(new.title, new.text):
                    verdict = Verdict(GONE, "soft404", phrase)

    if verdict.state in (OK, NOT_MODIFIED):
        outcome = NOT_MODIFIED if verdict.state == NOT_MODIFIED else UNCHANGED
        updates["last_seen"] = at
        if capture_id is not None:
            updates["seen_capture_id"] = capture_id
        if new is not None:
            changed, ref_title, ref_text, ref_at = _compare(db, article, previous, new)
            if changed:
                version = _record_version(db, article, new, capture_id=capture_id, at=at,
                                          reference=(ref_title, ref_text, ref_at))
                new.url = capture.url
                row = storage.article_row(new, source_id=article["source_id"], region=region or article["region"],
                                          capture_id=capture_id, fetched_at=capture.fetched_at)
                # through upsert_article: it keeps the full-text index in step with the new text
                article_id, _new = storage.upsert_article(db, {**row, "version_count": version, "last_changed": at})
                # issue 15: the new text's facts replace the old ones
                from pipelines.facts import extract_facts

                store_facts(db, article_id, extract_facts(row["text"], row["published"], row["region"],
                                                          posted_near=new.posted_near))
                outcome = CHANGED
        if was_gone:
            gone_for = (parse_time(at) - parse_time(article["gone_since"])).days
            _event(db, article, BACK, at, status=capture.status, reason=verdict.reason,
                   detail={"gone_since": article["gone_since"], "gone_reason": article["gone_reason"],
                           "days_gone": gone_for, "changed": outcome == CHANGED},
                   capture_id=capture_id, run_id=run_id)
            updates.update(gone_since=None, gone_reason=None, gone_status=None, gone_detail=None)
            outcome = BACK
    elif verdict.state == GONE:
        outcome = STILL_GONE if was_gone else GONE
        if not was_gone:  # gone_since is the first sighting of the deletion: never moved later
            updates.update(gone_since=at, gone_reason=verdict.reason, gone_status=capture.status,
                           gone_detail=verdict.detail)
            _event(db, article, GONE, at, status=capture.status, reason=verdict.reason, detail=verdict.detail,
                   capture_id=capture_id, run_id=run_id)
    else:  # challenge, moved, error: nothing learned about the article itself; gone_since untouched
        outcome = verdict.state
        _event(db, article, outcome, at, status=capture.status, reason=verdict.reason, detail=verdict.detail,
               capture_id=capture_id, run_id=run_id)

    updates["last_check_outcome"] = outcome
    updates["failed_checks"] = (article["failed_checks"] or 0) + 1 if outcome in RETRY_OUTCOMES else 0
    # bookkeeping columns only: the search index triggers watch title/text, so a plain update is safe
    db["articles"].update(article["id"], updates)
    return outcome
