"""The worker processes' side of processing: their fork server (`fork_server_context`,
`start_fork_server`, `stop_fork_server`), their start (`start_worker`, `follow_parent`), the warm-up check
(`loaded`) and their task (`process_captures`, each capture within a CPU budget).

A worker unpickles these functions by module name, so it imports this module: it must stay light
(the standard library and the task dataclasses). When they lived in pipelines.process.runner, every
worker imported the writer's side at its start (sqlite-utils, numpy, the storage code): ~0.2 s of CPU
a worker, at every crawl's start, where a worker forked from the warmed-up fork server otherwise
starts in ~5 ms. The extraction stack is imported inside process_captures: in a worker it is loaded
already (the fork server's preload), and `Processor(workers=0)` runs it in the caller's thread.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time

from pipelines.process.tasks import CaptureTask, ProcessedCapture

# What the fork server imports once, before it forks any worker: the extraction stack, warmed up.
FORK_SERVER_PRELOAD = ["pipelines.process.preload"]

# CPU seconds one capture may take in a worker before its processing is stopped and the page recorded as
# too costly (steps.over_budget). The pages we know how to make slow are bounded already (MAX_ELEMENTS,
# linear steps: the worst ~20 s at the element limit, pipelines/extract/article.py); this is the bound for
# what nobody has found yet (a hostile PDF, a pattern gone quadratic), so that one page cannot hold a
# worker, and the crawl's drain behind it, for hours. An article page takes ~10 ms.
PAGE_CPU_SECONDS = 60.0
_REPEAT_SECONDS = 1.0  # the stop is raised again every second until it is out (a library may catch it once)


class OverBudget(BaseException):  # noqa: N818  (a stop signal, like KeyboardInterrupt, not an error)
    """Raised in a worker when the capture it processes has used its CPU budget. A BaseException: the
    steps' `except Exception`, which turns a bug into "processing failed", must not swallow it."""


_budget: float | None = None  # this worker's per-capture CPU budget (start_worker); None: no limit


def start_worker(parent_pid: int, page_cpu_seconds: float | None = PAGE_CPU_SECONDS) -> None:
    """A pool worker's initializer: follow the parent (follow_parent) and bound each capture's CPU."""
    global _budget
    follow_parent(parent_pid)
    _budget = page_cpu_seconds or None
    if _budget is not None:
        signal.signal(signal.SIGPROF, _stop_capture)


def _stop_capture(signum: int, frame: object) -> None:
    raise OverBudget


def fork_server_context() -> multiprocessing.context.ForkServerContext:
    """The multiprocessing context workers are made in: forked from one fork server (a fresh
    interpreter, which holds no SQLite connection) that has imported FORK_SERVER_PRELOAD."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return ctx


def start_fork_server() -> None:
    """Start the fork server now rather than with the first pool: its preload (~0.6 s of CPU) then runs
    while the calling process imports the rest of processing (sqlite-utils, the writer: ~0.25 s), on
    the core a crawl's start-up leaves idle, and the workers are ready that much sooner."""
    from multiprocessing import forkserver

    fork_server_context()  # sets the preload of this process's (global) fork server
    forkserver.ensure_running()


def stop_fork_server() -> None:
    """Stop this process's fork server, if it started one, and reap it. Left alone, it exits once this
    process does, but as nobody's child: a zombie where PID 1 does not reap, and its workers' CPU time
    missing from this process's accounting (RUSAGE_CHILDREN, what the throughput bench reads).
    multiprocessing has no public call for this; ForkServer._stop (3.8+) is the one its tests use.
    Killed first: asked to stop, it exits through the interpreter's teardown, which frees the whole
    extraction stack object by object (~0.1 s of CPU at every crawl's end); it holds nothing to flush
    (no file, no connection), and the workers it forked are gone by now."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None) if server is not None else None
    if pid and hasattr(server, "_stop"):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ChildProcessError):
            server._stop()  # closes its pipe, reaps it, removes its socket


def follow_parent(parent_pid: int) -> None:
    """In each worker (and in a crawl's processing process): leave Ctrl-C to the parent, and exit when
    the parent is gone.

    parent_pid: the process that owns the pool. A worker forked by the fork server has that server
    as its OS parent, which exits when the owner does; so the worker watches both: its OS parent
    (a change means it was orphaned) and the owner."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    started_under = os.getppid()

    def watch() -> None:
        while os.getppid() == started_under and _alive(parent_pid):
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid was reused by someone else's process
        return False
    return True


def loaded() -> int:
    """A worker's first task: the extraction stack loaded and run once, before the first capture reaches
    it. Forked from the warmed-up fork server, a worker has both already; this only makes the pool
    start its workers now (and loads the stack if the server's preload failed). Returns the pid of the
    process that loaded it."""
    from pipelines.process import preload

    return preload.LOADED_IN


def process_captures(tasks: list[CaptureTask]) -> list[ProcessedCapture]:
    """One worker task: a few captures (per-task IPC costs more than one small page), each within this
    worker's CPU budget (ITIMER_PROF counts the process's user + system time; signals reach only the
    main thread, where a pool worker runs its tasks; `Processor(workers=0)` runs without a budget)."""
    from pipelines.process.steps import over_budget, process_capture

    if _budget is None:
        return [process_capture(task) for task in tasks]
    results = []
    for task in tasks:
        result = None
        try:
            try:
                signal.setitimer(signal.ITIMER_PROF, _budget, _REPEAT_SECONDS)
                result = process_capture(task)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except OverBudget:  # a stop that arrives as the capture finishes (up to the disarm) keeps its result
            pass
        results.append(result if result is not None else over_budget(task, _budget))
    return results
