"""What a crawl and the demo leave open or need: no listeners in a cron run, the demo from a checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.extensions.remote_control import RemoteControl
from scrapy.utils.test import get_crawler
from support import consecutive_free_ports

import crawler.settings as project_settings
from sampleweb import SITE_IDS

REPO = Path(__file__).resolve().parent.parent


def test_crawl_opens_no_control_listener() -> None:
    """Scrapy >= 2.19 enables a remote-control HTTP server (runs posted Python code) by default,
    and the telnet console is on by default: with govbrief's settings neither starts."""
    settings = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    crawler = get_crawler(settings_dict=settings)
    with pytest.raises(NotConfigured):
        RemoteControl.from_crawler(crawler)
    # (TelnetConsole refuses to start without a running reactor, so the setting itself is checked)
    assert crawler.settings.getbool("TELNETCONSOLE_ENABLED", True) is False


def test_control_listeners_are_not_even_loaded_and_cannot_be_switched_on() -> None:
    """Neither extension is among a crawl's extensions, nor imported (aiohttp's server is 0.11 s of CPU
    at every start), even with their settings turned on from the command line; Scrapy's other base
    extensions are all kept."""
    import json

    from support import fresh_interpreter

    words = fresh_interpreter(
        "import json, os, sys\n"
        "os.environ['SCRAPY_SETTINGS_MODULE'] = 'crawler.settings'\n"
        "from scrapy.crawler import CrawlerProcess\n"
        "from scrapy.settings.default_settings import EXTENSIONS_BASE\n"
        "from scrapy.utils.project import get_project_settings\n"
        "settings = get_project_settings()\n"
        "settings.set('REMOTE_CONTROL_ENABLED', True, priority='cmdline')\n"
        "settings.set('TELNETCONSOLE_ENABLED', True, priority='cmdline')\n"
        "crawler = CrawlerProcess(settings).create_crawler('govbrief')\n"
        "crawler._apply_settings()\n"
        "print(json.dumps({'loaded': [type(e).__name__ for e in crawler.extensions.middlewares],\n"
        "                  'imported': [m for m in ('aiohttp', 'scrapy.extensions.remote_control',\n"
        "                                           'scrapy.extensions.telnet') if m in sys.modules],\n"
        "                  'left_out': sorted(set(EXTENSIONS_BASE) - set(settings.getdict('EXTENSIONS_BASE')))}))\n")
    report = json.loads(" ".join(words))
    assert "ArchiveRun" in report["loaded"] and "CoreStats" in report["loaded"], report
    assert not {"RemoteControl", "TelnetConsole"} & set(report["loaded"]), report
    assert report["imported"] == []
    assert report["left_out"] == ["scrapy.extensions.remote_control.RemoteControl",
                                  "scrapy.extensions.telnet.TelnetConsole"]


def test_sample_web_is_not_runtime_code_but_the_demo_runs_from_a_checkout(tmp_path: Path) -> None:
    """The sample web lives in the checkout (sampleweb/), outside the installed packages; `govbrief
    demo` (what `make demo` runs) still finds it, from any working directory."""
    import govbrief

    assert not (Path(govbrief.__file__).parent / "sampleweb").exists()
    db = tmp_path / "archive.db"
    # ports of its own: the default ones may be serving a demo someone runs on this machine
    web_port = str(consecutive_free_ports(len(SITE_IDS)))
    result = subprocess.run([sys.executable, "-m", "govbrief", "demo", "--no-serve", "--db", str(db),
                             "--web-port", web_port], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "new articles" in result.stdout and db.exists()


def test_version_names_the_release_and_the_schema_an_archive_gets(tmp_path: Path) -> None:
    """`govbrief --version` (stdout, exit 0): the release of pyproject.toml and the schema version an
    archive it writes has (what a bug report needs; an archive of a higher schema is refused)."""
    import tomllib

    shown = subprocess.run([sys.executable, "-m", "govbrief", "--version"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert shown.returncode == 0, shown.stderr
    release = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    words = shown.stdout.split()
    assert words[:2] == ["govbrief", release] and words[2:4] == ["(archive", "schema"], shown.stdout
    from govbrief.runs import open_archive

    db = open_archive(str(tmp_path / "a.db"))  # a new archive, as a first crawl makes it
    try:
        assert f"{db.execute('PRAGMA user_version').fetchone()[0]})" == words[4]
    finally:
        db.close()
