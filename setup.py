"""Build step: the installed package carries a copy of the top-level metadata.yml.

metadata.yml stays at the repository root (the design: titles, facets and canned queries are
project data people edit next to sources.yml), and a checkout serves it from there. A wheel has
no repository root, so build_py copies it to pipelines/publish/metadata.yml inside the build,
where pipelines.publish.serve.metadata_path() finds it. A copy, not a symlink: symlinks do not
survive sdists, wheels on every platform, or read-only installs. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithMetadata(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads the checkout's file directly
            target = Path(self.build_lib) / "pipelines" / "publish" / "metadata.yml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "metadata.yml", target)


setup(cmdclass={"build_py": BuildPyWithMetadata})
