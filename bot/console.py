"""The offline console: with no Slack tokens, `ftpcode serve` answers pasted messages locally.

A message is everything up to an empty line (or the end of input); it is answered exactly as
the bot would answer it in a support channel, or as the slash command when it starts with
/ftpcode.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from bot import render

SLASH = "/ftpcode"


def messages(stream: TextIO) -> Iterator[str]:
    """Messages from a stream: blocks of lines separated by empty lines."""
    block: list[str] = []
    for line in stream:
        if line.strip():
            block.append(line.rstrip("\r\n"))
        elif block:
            yield "\n".join(block)
            block = []
    if block:
        yield "\n".join(block)


def answer(message: str) -> str:
    """What the bot would post for one message."""
    from bot.knowledge import load

    kb = load()
    stripped = message.strip()
    if stripped.lower().startswith(SLASH):
        from bot.lookup import lookup, suggestions

        query = stripped[len(SLASH) :].strip()
        if not query:
            return render.EMPTY_QUERY
        found = lookup(query)
        return render.lookup_text(kb, query, found, suggestions(query) if not found else [])
    from bot.detect import scan

    return render.scan_text(kb, scan(message))


def run_console(stream: TextIO, out: TextIO, *, interactive: bool) -> int:
    """Answer every message until the end of input."""
    if interactive:
        out.write(render.CONSOLE_BANNER + "\n" + render.CONSOLE_PROMPT)
        out.flush()
    for message in messages(stream):
        out.write(answer(message) + "\n\n")
        if interactive:
            out.write(render.CONSOLE_PROMPT)
        out.flush()
    return 0
