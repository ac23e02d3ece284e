"""What several test modules share: running the command as a shell user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_ftpcode(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run `ftpcode ARGS` in a child process from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONUTF8": "1"},
    )
