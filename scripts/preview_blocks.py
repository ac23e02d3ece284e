"""Print Block Kit payloads of three typical answers, to paste into Slack's Block Kit Builder.

    .venv/bin/python scripts/preview_blocks.py            # all three
    .venv/bin/python scripts/preview_blocks.py lookup     # or: reply, log

Each payload is a JSON object {"blocks": [...], "text": "..."}; the Builder
(https://app.slack.com/block-kit-builder) takes it as a message.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.blocks import Block, log_blocks, lookup_blocks, reply_blocks  # noqa: E402
from bot.detect import scan  # noqa: E402
from bot.knowledge import load  # noqa: E402
from bot.logs.analyse import analyse_file  # noqa: E402
from bot.lookup import lookup, suggestions  # noqa: E402

LOG_FIXTURE = ROOT / "tests" / "fixtures" / "curl" / "vsftpd-wrong-password.txt"


def preview_lookup() -> tuple[str, tuple[list[Block], str]]:
    query = "553"
    found = lookup(query)
    hints = suggestions(query) if not found else []
    return f"/ftpcode {query}", lookup_blocks(load(), query, found, hints)


def preview_reply() -> tuple[str, tuple[list[Block], str]]:
    message = "got 421 then 530 Login incorrect"
    return f"auto-reply to {message!r}", reply_blocks(load(), scan(message))


def preview_log() -> tuple[str, tuple[list[Block], str]]:
    report = analyse_file(LOG_FIXTURE)
    report.file = LOG_FIXTURE.name
    return f"log diagnosis of {LOG_FIXTURE.relative_to(ROOT)}", log_blocks(report)


PREVIEWS: dict[str, Callable[[], tuple[str, tuple[list[Block], str]]]] = {
    "lookup": preview_lookup,
    "reply": preview_reply,
    "log": preview_log,
}


def main(argv: list[str]) -> int:
    names = argv or list(PREVIEWS)
    unknown = [name for name in names if name not in PREVIEWS]
    if unknown:
        print(f"preview_blocks: unknown preview {unknown[0]!r}; use {', '.join(PREVIEWS)}")
        return 2
    for name in names:
        title, (blocks, fallback) = PREVIEWS[name]()
        print(f"# {title}")
        print(json.dumps({"blocks": blocks, "text": fallback}, indent=2, ensure_ascii=False))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
