"""The capture queue: workers without an archive push what they fetched; `govbrief process` drains it.

Reliable in the usual Redis way: a consumer BLMOVEs an item from {p}:captures to its own processing
list and removes it from there only after the archive committed it (ack). A consumer that dies
(kill -9: its heartbeat key expires) has its processing list put back at the head of the queue by
the next consumer that looks. So an item is lost never and delivered twice at worst; processing is
idempotent (pipelines/process/redis_queue.py), so twice is stored once.

Items are JSON (never pickle: a shared Redis must not be a way to run code in the archive process);
capture bodies are gzip + base64, so the raw bytes (GBK stays GBK) survive the trip unchanged.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

import redis

from pipelines.scaleout.state import PREFIX
from pipelines.store.storage import Capture, gzip_body

# The frontier functions (pipelines/store/frontier.py) a worker may ask the archive to run: nothing else.
ARCHIVE_WRITES = ("queue", "list_processed", "sitemap_processed", "queue_attachment", "mark_failed", "mark_done")


def _plain(value: Any) -> Any:
    """JSON form of a frontier write's arguments (QueuedList -> tagged dict, sets/tuples -> lists)."""
    from pipelines.store.frontier import QueuedList

    if isinstance(value, QueuedList):
        return {"__queued_list__": value.as_list()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _restored(value: Any) -> Any:
    from pipelines.store.frontier import QueuedList

    if isinstance(value, dict):
        if set(value) == {"__queued_list__"}:
            return QueuedList(*value["__queued_list__"])
        return {k: _restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


def write_message(function: str, args: Any, kwargs: dict) -> dict:
    if function not in ARCHIVE_WRITES:
        raise ValueError(f"{function!r} is not a frontier write a worker may send")
    return {"type": "write", "function": function, "args": _plain(list(args)), "kwargs": _plain(kwargs)}


def write_call(message: dict) -> tuple[str, list, dict]:
    """(function name, args, kwargs) of a write message, checked against ARCHIVE_WRITES."""
    if message.get("function") not in ARCHIVE_WRITES:
        raise ValueError(f"a worker asked for {message.get('function')!r}, not an archive write it may ask for")
    return message["function"], _restored(message.get("args") or []), _restored(message.get("kwargs") or {})


def queue_key(prefix: str = PREFIX) -> str:
    return f"{prefix}:captures"


def bad_key(prefix: str = PREFIX) -> str:
    """Items `process` could not read (foreign, truncated, a body not matching its sha256): set aside, not lost."""
    return f"{prefix}:captures:bad"


def _response_fields(item: dict) -> dict:
    body: bytes = item["body"]
    return {"url": item["url"], "final_url": item["final_url"], "status": item["status"], "headers": item["headers"],
            "fetched_at": item["fetched_at"], "sha256": hashlib.sha256(body).hexdigest(),
            "body": base64.b64encode(gzip_body(body)).decode("ascii")}


def capture_message(item: dict, *, worker: str, run: str) -> dict:
    """A spider capture item (url, final_url, status, headers, body, fetched_at, source_id, kind; an
    attachment's article_url and link_text; a multi-page article's later pages as `parts`)."""
    message = {"type": "capture", "worker": worker, "run": run, "kind": item.get("kind", "article"),
               "source_id": item["source_id"], **_response_fields(item)}
    if item.get("kind") == "attachment":
        message.update(article_url=item["article_url"], link_text=item["link_text"])
    if item.get("parts"):
        message["parts"] = [_response_fields(part) for part in item["parts"]]
    return message


def encode(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(raw: bytes) -> dict:
    """The message, or ValueError naming what is wrong (a foreign or truncated item)."""
    try:
        message = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a govbrief queue item ({exc})") from None
    if not isinstance(message, dict) or "type" not in message:
        raise ValueError("not a govbrief queue item (no type)")
    return message


def part_captures(message: dict) -> list[Capture]:
    """The later pages of a multi-page article a capture message carries, in order."""
    return [to_capture({**part, "source_id": message["source_id"]}) for part in message.get("parts") or []]


def to_capture(message: dict) -> Capture:
    """The capture a message carries; ValueError if the body does not match its sha256."""
    body = gzip.decompress(base64.b64decode(message["body"]))
    if hashlib.sha256(body).hexdigest() != message["sha256"]:
        raise ValueError(f"{message['url']}: capture body does not match its sha256 (corrupt item)")
    return Capture(url=message["url"], final_url=message["final_url"], status=int(message["status"]),
                   headers=dict(message["headers"]), body=body, fetched_at=message["fetched_at"],
                   source_id=message["source_id"])


def push(client: redis.Redis, message: dict, prefix: str = PREFIX) -> None:
    client.lpush(queue_key(prefix), encode(message))


_REQUEUE_DEAD = """
local prefix = ARGV[1]
local n = 0
for _, c in ipairs(redis.call('SMEMBERS', prefix .. ':consumers')) do
  if redis.call('EXISTS', prefix .. ':consumer:' .. c) == 0 then
    local processing = prefix .. ':captures:processing:' .. c
    while true do
      local item = redis.call('LMOVE', processing, prefix .. ':captures', 'LEFT', 'RIGHT')
      if not item then break end
      n = n + 1
    end
    redis.call('SREM', prefix .. ':consumers', c)
  end
end
return n
"""

_IN_PROCESSING = """
local n = 0
for _, c in ipairs(redis.call('SMEMBERS', ARGV[1] .. ':consumers')) do
  n = n + redis.call('LLEN', ARGV[1] .. ':captures:processing:' .. c)
end
return n
"""


class CaptureConsumer:
    """One consumer of the capture queue (a `govbrief process`)."""

    def __init__(self, client: redis.Redis, consumer_id: str, *, heartbeat_ttl: int = 60, prefix: str = PREFIX):
        self.redis = client
        self.id = consumer_id
        self.ttl = heartbeat_ttl
        self.prefix = prefix
        self.queue = queue_key(prefix)
        self.processing = f"{prefix}:captures:processing:{consumer_id}"
        self._requeue_dead = client.register_script(_REQUEUE_DEAD)
        self._in_processing = client.register_script(_IN_PROCESSING)

    def register(self) -> None:
        self.redis.sadd(f"{self.prefix}:consumers", self.id)
        self.heartbeat()

    def heartbeat(self) -> None:
        self.redis.set(f"{self.prefix}:consumer:{self.id}", "1", ex=self.ttl)

    def requeue_dead(self) -> int:
        """Put back what dead consumers took and never acked; returns how many items."""
        return int(self._requeue_dead(args=[self.prefix]))

    def take(self, timeout: float) -> bytes | None:
        """The oldest item, moved to this consumer's processing list (None after timeout seconds)."""
        return self.redis.blmove(self.queue, self.processing, timeout, "RIGHT", "LEFT")

    def ack(self, raw: bytes) -> None:
        self.redis.lrem(self.processing, 1, raw)

    def backlog(self) -> int:
        """Items queued or taken by a consumer and not yet acked."""
        return int(self.redis.llen(self.queue)) + int(self._in_processing(args=[self.prefix]))

    def leave(self) -> None:
        """A clean stop: anything taken and not acked goes back to the head of the queue."""
        while self.redis.lmove(self.processing, self.queue, "LEFT", "RIGHT"):
            pass
        self.redis.srem(f"{self.prefix}:consumers", self.id)
        self.redis.delete(f"{self.prefix}:consumer:{self.id}")


def message_summary(message: dict[str, Any]) -> str:
    """For error messages: what an item was about."""
    return f"{message.get('type')} {message.get('url') or message.get('function') or ''} from {message.get('worker')}"
