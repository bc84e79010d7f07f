"""Who the archive says it is: the crawler's User-Agent, also written into WARC request records, and
the release (`govbrief --version`, the WARC's software field)."""

from __future__ import annotations

from pathlib import Path

USER_AGENT = "govbrief/0.1 (+https://github.com/govbrief/govbrief; archive of public government news)"


def release() -> str | None:
    """The installed distribution's version; from a checkout that was never installed, its
    pyproject.toml's; None when neither says."""
    from importlib import metadata

    try:
        return metadata.version("govbrief")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return None
