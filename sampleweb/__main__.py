"""`python -m sampleweb`: serve the sample web in the foreground until Ctrl-C.

Prints each site's base URL and writes the sources registry with those URLs filled in, so a
crawl can be pointed at it from another terminal:  govbrief crawl --sources <printed path>
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from sampleweb.server import start_sample_web


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sampleweb",
                                     description="Serve the govbrief sample web on local ports.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--base-port", type=int, default=0,
                        help="first port; sites use consecutive ports (default: ephemeral ports)")
    parser.add_argument("--sources", type=Path, default=None,
                        help="where to write the rendered sources.yml (default: a temporary directory)")
    args = parser.parse_args(argv)

    try:
        web = start_sample_web(args.host, base_port=args.base_port)
    except OSError as exc:
        print(f"cannot start the sample web: {exc}", file=sys.stderr)
        return 1
    sources = args.sources or Path(tempfile.mkdtemp(prefix="govbrief-sampleweb-")) / "sources.yml"
    web.write_sources(sources)
    for site, base in web.base_urls.items():
        print(f"{site:16} {base}/")
    print(f"sources: {sources}")
    print("serving; press Ctrl-C to stop", flush=True)

    stopped = threading.Event()
    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
