"""Print Block Kit payloads of typical answers, to paste into Slack's Block Kit Builder.

    .venv/bin/python scripts/preview_blocks.py            # all of them
    .venv/bin/python scripts/preview_blocks.py lookup     # or: reply, log, followup, home

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

from bot import render  # noqa: E402
from bot.blocks import (  # noqa: E402
    Block,
    followup_block,
    home_view,
    log_blocks,
    lookup_blocks,
    reply_blocks,
    with_block_on_top,
    with_secret_warning,
)
from bot.detect import scan  # noqa: E402
from bot.knowledge import load  # noqa: E402
from bot.logs.analyse import analyse_file  # noqa: E402
from bot.lookup import lookup, suggestions  # noqa: E402

LOG_FIXTURE = ROOT / "tests" / "fixtures" / "curl" / "vsftpd-wrong-password.txt"
FOLLOWUP_FIXTURE = ROOT / "tests" / "fixtures" / "lftp" / "pureftpd-rename-disabled.txt"


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


def preview_followup() -> tuple[str, tuple[list[Block], str]]:
    report = analyse_file(FOLLOWUP_FIXTURE)
    report.file = FOLLOWUP_FIXTURE.name
    payload = with_block_on_top(log_blocks(report), followup_block(["ftp/550"], report))
    kinds = [secret.kind for secret in report.secrets]
    return "a log pasted in a bot thread that answered 550", with_secret_warning(payload, kinds)


def preview_home() -> tuple[str, tuple[list[Block], str]]:
    view = home_view(load(), [("ftp/530", 41), ("winsock/10060", 17)], [("ftp/421", 3, 1)])
    title = "the App Home tab (a view, published with views.publish)"
    return title, (view["blocks"], render.HOME_FALLBACK)


PREVIEWS: dict[str, Callable[[], tuple[str, tuple[list[Block], str]]]] = {
    "lookup": preview_lookup,
    "reply": preview_reply,
    "log": preview_log,
    "followup": preview_followup,
    "home": preview_home,
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
