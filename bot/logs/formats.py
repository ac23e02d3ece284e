"""Load the log formats of knowledge/logs/*.toml and compile them for fast scanning."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cache import cache_path, read_cache, write_cache
from bot.knowledge import KnowledgeError, knowledge_dir


@dataclass(frozen=True, slots=True)
class MessageRule:
    pattern: re.Pattern[str]
    id: str
    outcome: str
    variant: str | None


@dataclass(frozen=True, slots=True)
class LogFormat:
    """One tool's way of writing replies, commands, messages and session starts."""

    tool: str
    kind: str
    description: str
    detect: re.Pattern[str]
    replies: tuple[re.Pattern[str], ...]
    commands: tuple[re.Pattern[str], ...]
    messages: tuple[MessageRule, ...]
    session_starts: tuple[re.Pattern[str], ...]
    ignores: tuple[re.Pattern[str], ...]
    fixtures: tuple[str, ...]


def logs_dir() -> Path:
    return knowledge_dir() / "logs"


# A pattern that opens with an unanchored repeated class ("\\S+...", ".*...") is tried from
# every position of a line and goes quadratic on long lines: it must start with ^ or a literal.
_SLOW_START = re.compile(r"^(?:\(\?:)*(?:\\[SsWwDd.]|\.|\[[^\]]*\])[+*{]")


def _compile(pattern: str, where: str, problems: list[str]) -> re.Pattern[str]:
    if _SLOW_START.match(pattern):
        problems.append(
            f"{where}: pattern {pattern[:40]!r} starts with a repeated class; "
            "anchor it with ^ or start with literal text"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        problems.append(f"{where}: bad regex {pattern!r}: {exc}")
        return re.compile(r"(?!)")


def _load_one(path: Path, validator: Any, problems: list[str]) -> LogFormat | None:
    where = f"logs/{path.name}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{where}: {exc}")
        return None
    errors = [f"{where}: {e.message}" for e in validator.iter_errors(data)]
    if errors:
        problems.extend(errors)
        return None
    if data["tool"] != path.stem:
        problems.append(f"{where}: tool {data['tool']!r} must equal the file name")

    def rules(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(_compile(r["pattern"], where, problems) for r in data.get(key, []))

    for rule in data.get("reply", []):
        if "(?P<code>" not in rule["pattern"]:
            problems.append(f"{where}: reply pattern needs a (?P<code>...) group")
    for rule in data.get("command", []):
        if "(?P<command>" not in rule["pattern"]:
            problems.append(f"{where}: command pattern needs a (?P<command>...) group")
    return LogFormat(
        tool=data["tool"],
        kind=data["kind"],
        description=data["description"],
        detect=_compile(data["detect"], where, problems),
        replies=rules("reply"),
        commands=rules("command"),
        messages=tuple(
            MessageRule(
                _compile(m["pattern"], where, problems), m["id"], m["outcome"], m.get("variant")
            )
            for m in data.get("message", [])
        ),
        session_starts=rules("session_start"),
        ignores=rules("ignore"),
        fixtures=tuple(data["tests"]["fixtures"]),
    )


_FORMATS: list[LogFormat] | None = None
# Bump when what the loader makes of the files changes.
_CACHE_FORMAT = 1


def load_formats() -> list[LogFormat]:
    """Every log format, validated; raises KnowledgeError listing the problems.

    Validation imports jsonschema and reads every file, a tenth of a second that each run
    of `ftpcode log` would pay: formats that passed are cached until a file changes.
    """
    global _FORMATS
    if _FORMATS is not None:
        return _FORMATS
    folder = logs_dir()
    files = [*sorted(folder.glob("*.toml")), folder / "schema.json"]
    # This loader's own source is part of the key: what it makes of the files may change.
    cache = cache_path("logs", str(_CACHE_FORMAT), folder, [Path(__file__), *files])
    loaded = read_cache(cache)
    if isinstance(loaded, list) and all(isinstance(f, LogFormat) for f in loaded):
        _FORMATS = loaded
        return loaded
    formats = _build(folder)
    write_cache(cache, formats)
    _FORMATS = formats
    return formats


def _build(folder: Path) -> list[LogFormat]:
    import jsonschema

    schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[str] = []
    formats = [
        fmt
        for path in sorted(folder.glob("*.toml"))
        if (fmt := _load_one(path, validator, problems)) is not None
    ]
    if problems:
        raise KnowledgeError(problems)
    return formats
