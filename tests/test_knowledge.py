"""The knowledge base: schema, cross-references, coverage, and every entry's own samples."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from bot.detect import scan
from bot.knowledge import PROTOCOL_DIRS, KnowledgeError, build, knowledge_dir, load
from bot.models import Entry

KB = load()
ROOT = knowledge_dir()
CORPUS = Path(__file__).parent / "corpus"
ENTRY_FILES = sorted(p for d in PROTOCOL_DIRS for p in (ROOT / d).glob("*.toml"))


def _samples(kind: str) -> list[tuple[str, str | None, str]]:
    found: list[tuple[str, str | None, str]] = []
    for entry in KB.entries.values():
        if kind == "match":
            found += [(entry.id, None, s) for s in entry.samples_match]
            for variant in entry.variants:
                found += [(entry.id, variant.key, s) for s in variant.match]
        else:
            found += [(entry.id, None, s) for s in entry.samples_no_match]
    return found


def test_every_file_satisfies_the_schema() -> None:
    """Each entry file validates against knowledge/schema.json."""
    schema = json.loads((ROOT / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in ENTRY_FILES:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], f"{path.relative_to(ROOT)}: {errors}"


def test_the_base_builds_strictly() -> None:
    """Ids match paths, every cited source and related id exists, names are unique."""
    kb = build(ROOT, strict=True)
    assert len(kb.entries) == len(ENTRY_FILES)


def test_a_broken_entry_is_reported_with_its_file(tmp_path: Path) -> None:
    """A schema violation names the file and the field instead of loading silently."""
    for name in ("schema.json", "sources.toml"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "ftp").mkdir()
    (tmp_path / "ftp" / "553.toml").write_text('id = "ftp/553"\ntitle = "x"\n', encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        build(tmp_path)
    assert any(p.startswith("ftp/553.toml") for p in caught.value.problems)


def test_every_seed_code_has_an_entry() -> None:
    """Every code listed by the five seed pages is in the knowledge base."""
    wanted = [
        line.strip()
        for line in (CORPUS / "seed_codes.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = [w for w in wanted if w not in KB.entries]
    assert missing == []


def test_every_digit_of_a_reply_code_is_explained() -> None:
    """series.toml explains 1xx..6xx and x0x..x5x."""
    keys = {f"{d}xx" for d in "123456"} | {f"x{d}x" for d in "012345"}
    assert keys <= set(KB.series)


@pytest.mark.parametrize(
    "required",
    [
        *(f"sftp/{n}" for n in range(-1, 32)),
        "ssh/auth",
        "ssh/hostkey",
        "ssh/protocol-mismatch",
        "ssh/kex",
        "tls/certificate-verify-failed",
        "tls/handshake",
        "tls/protocol-version",
        "ftp/522",
        "ftp/534",
        "ftp/229",
        "winsock/11001",
        "winsock/11002",
        "curl/28",
        "curl/67",
        "http/413",
    ],
)
def test_required_coverage(required: str) -> None:
    """The issue's minimum coverage is present."""
    assert required in KB.entries


def test_every_fix_names_who_acts_and_a_known_source() -> None:
    """Fixes are attributed: a role and a source that sources.toml defines."""
    for entry in KB.entries.values():
        fixes = [*entry.fixes, *(f for v in entry.variants for f in v.fixes)]
        assert fixes, entry.id
        for fix in fixes:
            assert fix.source in KB.sources, (entry.id, fix.source)


def test_seed_advice_is_carried_over() -> None:
    """The vendors' advice from the seeds is kept, attributed to them."""
    seeds = {s.id for s in KB.sources.values() if s.kind == "seed"}
    attributed = {
        f.source
        for e in KB.entries.values()
        for f in [*e.fixes, *(f for v in e.variants for f in v.fixes)]
    }
    assert {"globalscape", "cuteftp"} <= attributed & seeds


@pytest.mark.parametrize(
    ("entry_id", "seed"),
    [
        ("ftp/150", "globalscape"),
        ("winsock/10065", "wikipedia-list"),
        ("winsock/10068", "smartfile"),
        ("ftp/234", "smartfile"),
        ("ftp/232", "smartfile"),
        ("sftp/6", "globalscape"),
        ("sftp/8", "globalscape"),
    ],
)
def test_seed_mistakes_are_shown_labelled_beside_the_standard(entry_id: str, seed: str) -> None:
    """Where a seed contradicts a standard, the entry shows the seed's claim and the correction."""
    claims = KB.entries[entry_id].claims
    assert any(c.source == seed and c.correction_source != seed for c in claims)


@pytest.mark.parametrize("code", ["430", "434"])
def test_codes_in_no_rfc_say_so(code: str) -> None:
    """430 and 434 are not presented as standard codes."""
    entry = KB.entries[f"ftp/{code}"]
    assert not any(s.startswith("rfc") for s in entry.defined_in)
    assert re.search(
        r"\bno (?:ftp )?rfc\b|not (?:\w+ )?(?:in|by) any (?:ftp )?rfc", entry.meaning, re.I
    )


def test_550_not_found_and_permission_denied_get_different_answers() -> None:
    """The same code gets different verdicts from its reply text."""
    entry: Entry = KB.entries["ftp/550"]
    verdicts = {v.key: v.retry for v in entry.variants}
    assert verdicts["not-found"] == "after-fix"
    assert verdicts["permission-denied"] == "no"


def test_names_are_unique_and_resolve() -> None:
    """Every symbolic name resolves to the one entry that lists it."""
    for entry in KB.entries.values():
        for name in entry.names:
            assert KB.by_name[name] == entry.id


MATCH_SAMPLES = _samples("match")
NO_MATCH_SAMPLES = _samples("no_match")


@pytest.mark.parametrize(("entry_id", "variant", "message"), MATCH_SAMPLES)
def test_sample_maps_to_its_entry(entry_id: str, variant: str | None, message: str) -> None:
    """An entry's own sample message is answered with that entry first (and variant)."""
    matches = scan(message)
    assert matches, f"nothing found in {message!r}"
    assert matches[0].id == entry_id, [m.id for m in matches]
    if variant is not None:
        assert matches[0].variant == variant


@pytest.mark.parametrize(("entry_id", "variant", "message"), NO_MATCH_SAMPLES)
def test_near_miss_does_not_map_to_its_entry(
    entry_id: str, variant: str | None, message: str
) -> None:
    """An entry's near-miss sample never produces that entry."""
    del variant
    assert entry_id not in [m.id for m in scan(message)]
