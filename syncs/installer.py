"""The Synchronizer as one download: a zipapp of the reference agent (syncs/agent) with its pure-Python
dependencies (PyMySQL for MariaDB/MySQL, tzdata because Windows has no time zone database).

The build is deterministic (sorted entries, fixed timestamps), so every web process serves the same bytes and
the SHA-256 the portal shows is the one IT gets. It is built once per process, on the first request that needs it.
"""

import functools
import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from syncs.agent import AGENT_VERSION

AGENT_DIR = Path(__file__).resolve().parent / "agent"
BUNDLED = ("pymysql", "tzdata")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the oldest a zip can say: timestamps must not change the hash
ENTRY = 'import sys\n\nfrom syncs.agent.__main__ import main\n\nsys.exit(main())\n'


@dataclass(frozen=True)
class Installer:
    filename: str
    content: bytes
    sha256: str

    @property
    def size_kb(self) -> int:
        return round(len(self.content) / 1024)


def _package_files(root: Path, arcroot: str) -> list[tuple[str, Path]]:
    return [(f"{arcroot}/{path.relative_to(root).as_posix()}", path) for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]


def installer_build() -> Installer:
    files = _package_files(AGENT_DIR, "syncs/agent")
    for name in BUNDLED:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{name} must be installed to build the Synchronizer download (requirements/base.txt).")
        files += _package_files(Path(next(iter(spec.submodule_search_locations))), name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in [("__main__.py", ENTRY.encode()), ("syncs/__init__.py", b"")] + sorted(
                (arcname, path.read_bytes()) for arcname, path in files):
            info = zipfile.ZipInfo(arcname, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    content = b"#!/usr/bin/env python3\n" + buffer.getvalue()  # a zip may start with a line: `./file.pyz` on Unix
    return Installer(f"chairside-synchronizer-{AGENT_VERSION}.pyz", content, hashlib.sha256(content).hexdigest())


@functools.cache
def installer() -> Installer:
    return installer_build()


def run_command(*, filename: str, server: str, product_key: str, ehr: str) -> str:
    """The exact command IT runs on the practice's server (`py` is the Windows launcher for Python)."""
    database = "opendental" if ehr == "opendental" else "DATABASE"
    return (f'py {filename} --server {server} --product-key {product_key} '
            f'--database "mysql://USER:PASSWORD@localhost:3306/{database}"')
