"""Load, validate and cache the knowledge base (knowledge/*.toml).

The TOML files are the source of truth. Parsing and validating them takes a noticeable
fraction of a second, so the validated result is pickled into a cache keyed by every
file's path, size and modification time; a warm start only unpickles.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cache import cache_path, read_cache, write_cache
from bot.models import Claim, Entry, Fix, ServerText, Source, Variant

CACHE_FORMAT = 3
PROTOCOL_DIRS = ("ftp", "sftp", "winsock", "http", "curl", "ssh", "tls")


class KnowledgeError(Exception):
    """The knowledge base has files that break its schema or its cross-references."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge base: " + problems[0])
        self.problems = problems


@dataclass(slots=True)
class Series:
    """The meaning of one digit position of FTP reply codes (1xx, x2x, ...)."""

    key: str
    title: str
    meaning: str
    source: str


@dataclass(slots=True)
class KnowledgeBase:
    entries: dict[str, Entry]
    sources: dict[str, Source]
    series: dict[str, Series] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return self.entries.get(entry_id)

    def has(self, protocol: str, code: str) -> bool:
        """Whether PROTOCOL/CODE is an entry."""
        return f"{protocol}/{code}" in self.entries


def knowledge_dir() -> Path:
    """Where the knowledge files are: $FTPCODE_KNOWLEDGE, the installed copy, or the repo."""
    override = os.environ.get("FTPCODE_KNOWLEDGE")
    if override:
        return Path(override)
    installed = Path(__file__).with_name("_knowledge")
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "knowledge"


def _data_files(root: Path) -> list[Path]:
    files = [root / "sources.toml", root / "series.toml", root / "schema.json"]
    for name in PROTOCOL_DIRS:
        folder = root / name
        if folder.is_dir():
            files.extend(sorted(p for p in folder.iterdir() if p.suffix == ".toml"))
    return [p for p in files if p.exists()]


_LOADED: KnowledgeBase | None = None


def load() -> KnowledgeBase:
    """The knowledge base, from the warm cache when the files have not changed."""
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    root = knowledge_dir()
    files = _data_files(root)
    cache = cache_path("kb", str(CACHE_FORMAT), root, files)
    loaded = read_cache(cache)
    if isinstance(loaded, KnowledgeBase):
        _LOADED = loaded
        return loaded
    kb = build(root)
    write_cache(cache, kb)
    _LOADED = kb
    return kb


def build(root: Path, *, strict: bool = True) -> KnowledgeBase:
    """Parse and validate every knowledge file; raise KnowledgeError listing all problems.

    `strict=False` skips the cross-reference check, for a base that is half written.
    """
    raw_entries, sources, series, problems = read_raw(root)
    entries: dict[str, Entry] = {}
    for path, data in raw_entries:
        problems.extend(_check_entry(root, path, data, sources))
        if not problems:
            entry = _to_entry(data)
            entries[entry.id] = entry
    if not problems and strict:
        problems.extend(_check_cross_references(entries))
    if problems:
        raise KnowledgeError(problems)
    by_name: dict[str, str] = {}
    for entry in entries.values():
        for name in entry.names:
            by_name[name] = entry.id
    return KnowledgeBase(entries=entries, sources=sources, series=series, by_name=by_name)


def read_raw(
    root: Path,
) -> tuple[list[tuple[Path, dict[str, Any]]], dict[str, Source], dict[str, Series], list[str]]:
    """The parsed TOML of every entry file, the sources, the series, and parse problems."""
    import tomllib

    problems: list[str] = []
    sources: dict[str, Source] = {}
    series: dict[str, Series] = {}
    try:
        source_data = tomllib.loads((root / "sources.toml").read_text(encoding="utf-8"))
        for key, value in source_data.items():
            sources[key] = Source(id=key, **value)
    except (OSError, tomllib.TOMLDecodeError, TypeError) as exc:
        problems.append(f"sources.toml: {exc}")
    series_path = root / "series.toml"
    if series_path.exists():
        try:
            for key, value in tomllib.loads(series_path.read_text(encoding="utf-8")).items():
                series[key] = Series(key=key, **value)
                if series[key].source not in sources:
                    problems.append(f"series.toml [{key}]: unknown source {series[key].source!r}")
        except (OSError, tomllib.TOMLDecodeError, TypeError) as exc:
            problems.append(f"series.toml: {exc}")
    raw: list[tuple[Path, dict[str, Any]]] = []
    for path in _entry_files(root):
        try:
            raw.append((path, tomllib.loads(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path.relative_to(root)}: {exc}")
    return raw, sources, series, problems


def _entry_files(root: Path) -> Iterator[Path]:
    for name in PROTOCOL_DIRS:
        folder = root / name
        if folder.is_dir():
            yield from sorted(p for p in folder.iterdir() if p.suffix == ".toml")


_VALIDATOR: Any = None


def _schema_validator(root: Path) -> Any:
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema

        schema = json.loads((root / "schema.json").read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _VALIDATOR = jsonschema.Draft202012Validator(schema)
    return _VALIDATOR


def _check_entry(
    root: Path, path: Path, data: dict[str, Any], sources: dict[str, Source]
) -> list[str]:
    where = str(path.relative_to(root))
    problems = [
        f"{where}: {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in _schema_validator(root).iter_errors(data)
    ]
    if problems:
        return problems
    expected_id = f"{path.parent.name}/{path.stem}"
    if data["id"] != expected_id:
        problems.append(f"{where}: id {data['id']!r} must be {expected_id!r}")
    for source in _cited_sources(data):
        if source not in sources:
            problems.append(f"{where}: unknown source {source!r} (add it to sources.toml)")
    keys = [v["key"] for v in data.get("variants", [])]
    if len(keys) != len(set(keys)):
        problems.append(f"{where}: variant keys repeat")
    for variant in data.get("variants", []):
        try:
            re.compile(variant["when"], re.IGNORECASE)
        except re.error as exc:
            problems.append(f"{where}: variant {variant['key']!r}: bad regex: {exc}")
    for text in data.get("server_texts", []):
        if "variant" in text and text["variant"] not in keys:
            problems.append(f"{where}: server text names unknown variant {text['variant']!r}")
    return problems


def _cited_sources(data: dict[str, Any]) -> Iterable[str]:
    yield from data.get("defined_in", [])
    for fix in data.get("fixes", []):
        yield fix["source"]
    for variant in data.get("variants", []):
        for fix in variant.get("fixes", []):
            yield fix["source"]
    for text in data.get("server_texts", []):
        yield text["source"]
    for claim in data.get("claims", []):
        yield claim["source"]
        yield claim["correction_source"]


def _check_cross_references(entries: dict[str, Entry]) -> list[str]:
    problems: list[str] = []
    owner: dict[str, str] = {}
    for entry in entries.values():
        for related in entry.related:
            if related not in entries:
                problems.append(f"{entry.id}: related id {related!r} is not in the knowledge base")
            if related == entry.id:
                problems.append(f"{entry.id}: lists itself as related")
        for name in entry.names:
            if name in owner:
                problems.append(f"{entry.id}: name {name!r} already belongs to {owner[name]}")
            owner[name] = entry.id
    return problems


def _fixes(items: list[dict[str, Any]]) -> tuple[Fix, ...]:
    return tuple(Fix(who=f["who"], text=_clean(f["text"]), source=f["source"]) for f in items)


def _clean(text: str) -> str:
    """Collapse the whitespace of multi-line TOML strings into single spaces."""
    return " ".join(text.split())


def _to_entry(data: dict[str, Any]) -> Entry:
    protocol, code = data["id"].split("/", 1)
    tests = data["tests"]
    return Entry(
        id=data["id"],
        protocol=protocol,
        code=code,
        title=data["title"],
        meaning=_clean(data["meaning"]),
        retry=data["retry"],
        retry_note=_clean(data.get("retry_note", "")),
        defined_in=tuple(data["defined_in"]),
        fixes=_fixes(data["fixes"]),
        names=tuple(data.get("names", ())),
        related=tuple(data.get("related", ())),
        phrases=tuple(data.get("phrases", ())),
        context_phrases=tuple(data.get("context_phrases", ())),
        variants=tuple(
            Variant(
                key=v["key"],
                title=v["title"],
                when=v["when"],
                retry=v["retry"],
                meaning=_clean(v["meaning"]),
                fixes=_fixes(v.get("fixes", [])),
                phrases=tuple(v.get("phrases", ())),
                context_phrases=tuple(v.get("context_phrases", ())),
                match=tuple(v.get("match", ())),
            )
            for v in data.get("variants", [])
        ),
        server_texts=tuple(ServerText(**t) for t in data.get("server_texts", [])),
        claims=tuple(
            Claim(
                source=c["source"],
                claim=_clean(c["claim"]),
                correction=_clean(c["correction"]),
                correction_source=c["correction_source"],
            )
            for c in data.get("claims", [])
        ),
        samples_match=tuple(tests["match"]),
        samples_no_match=tuple(tests["no_match"]),
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.knowledge`: validate every file and print each problem on its own line."""
    del argv
    root = knowledge_dir()
    try:
        kb = build(root)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    counts: dict[str, int] = {}
    for entry in kb.entries.values():
        counts[entry.protocol] = counts.get(entry.protocol, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"knowledge base OK: {len(kb.entries)} entries ({summary}), {len(kb.sources)} sources")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
