"""Where the sample web lives on disk and which sites it has (no imports of the generator, so
`python -m sampleweb.build_sites` runs without the package importing it first)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SITES_DIR = PACKAGE_DIR / "sites"
EXPECTED_PATH = PACKAGE_DIR / "expected.json"
SOURCES_TEMPLATE = PACKAGE_DIR / "sources.yml"
SITE_IDS: tuple[str, ...] = ("city-trs", "district-hanweb", "farm-repost", "county-gbk")
