"""A pickle cache for data that is slow to validate (the knowledge base, the log formats).

The key covers every source file's name, size and modification time, so a changed file
is never served stale; a cache that cannot be read or written only costs a rebuild.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable
from pathlib import Path


def cache_path(kind: str, salt: str, folder: Path, files: Iterable[Path]) -> Path:
    """`$XDG_CACHE_HOME/ftpcode/KIND-DIGEST.pickle`, DIGEST keyed by `salt` and the files."""
    digest = hashlib.sha1(f"{salt}|{folder.resolve()}".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"|{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ftpcode" / f"{kind}-{digest.hexdigest()[:20]}.pickle"


def read_cache(cache: Path) -> object | None:
    """What was cached at `cache`, or None when there is nothing usable."""
    try:
        with cache.open("rb") as handle:
            loaded: object = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        return None
    return loaded


def write_cache(cache: Path, value: object) -> None:
    """Store `value` at `cache` atomically; a read-only home only costs the next start."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
