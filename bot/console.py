"""The offline console: with no Slack tokens, `ftpcode serve` answers pasted messages locally.

A message is everything up to an empty line (or the end of input); it is answered exactly as
the bot would answer it in a support channel (a pasted log gets the diagnosis it would get
in a DM), or as the slash command when it starts with /ftpcode.
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
    """What the bot would post for one message (bot.answers decides, as in Slack)."""
    from bot import answers
    from bot.knowledge import load

    kb = load()
    stripped = message.strip()
    warning = _secret_warning(answers.secret_kinds(stripped))
    if stripped.lower().startswith(SLASH):
        command = answers.parse_command(stripped[len(SLASH) :])
        if command.kind == "usage":
            return warning + render.EMPTY_QUERY
        if command.kind in ("mute", "unmute"):
            return warning + render.CONSOLE_MUTE
        report = answers.read_log(command.query)
        if report is not None:
            return warning + render.log_text(report)
        asked = answers.ask(command.query)
        return warning + render.lookup_text(kb, asked.query, asked.matches, asked.hints)
    report = answers.read_log(message)
    if report is not None:
        return render.log_text(report)
    return warning + render.scan_text(kb, answers.scan(message))


def _secret_warning(kinds: list[str]) -> str:
    if not kinds:
        return ""
    return render.SECRET_WARNING_FALLBACK.format(kinds=render.secret_kinds_text(kinds)) + "\n\n"


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
