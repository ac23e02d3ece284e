"""Every recorded transcript and server log gets the diagnosis its scenario calls for.

The recordings (tests/fixtures/, see its README) come from real servers and clients; the
manifest says what each run provoked. A recording the engine cannot yet read correctly is
listed, with the reason, in known_gaps.toml and runs as a strict expected failure: when it
starts passing, the test fails until it is taken off the list.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from bot.logs.analyse import analyse_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MANIFEST = [
    json.loads(line)
    for line in (FIXTURES / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
GAPS: dict[str, str] = tomllib.loads((FIXTURES / "known_gaps.toml").read_text("utf-8"))["gaps"]


def _cases() -> list[object]:
    cases: list[object] = []
    for row in MANIFEST:
        name = row["file"].removeprefix("tests/fixtures/")
        marks = [pytest.mark.xfail(reason=GAPS[name], strict=True)] if name in GAPS else []
        cases.append(pytest.param(row, id=name, marks=marks))
    return cases


def test_manifest_lists_at_least_sixty_real_recordings() -> None:
    """The issue asks for 60 or more recordings; each file in the manifest exists."""
    assert len(MANIFEST) >= 60
    assert all((ROOT / row["file"]).is_file() for row in MANIFEST)


def test_known_gaps_name_real_recordings() -> None:
    """Every known gap refers to a recording in the manifest."""
    names = {row["file"].removeprefix("tests/fixtures/") for row in MANIFEST}
    assert set(GAPS) <= names


@pytest.mark.parametrize("row", _cases())
def test_recording_gets_its_diagnosis(row: dict[str, object]) -> None:
    """The diagnosis id and ok flag are those the recorded scenario calls for."""
    expect = row["expect"]
    assert isinstance(expect, dict)
    report = analyse_file(ROOT / str(row["file"]))
    diagnosis = report.diagnosis
    got = (diagnosis.id, diagnosis.ok) if diagnosis else (None, None)
    assert got == (expect["id"], expect.get("ok")), diagnosis.explanation if diagnosis else ""
    if "retry" in expect and diagnosis is not None:
        assert diagnosis.retry == expect["retry"]


def _outcome(path: Path, event_cap: int) -> tuple[object, ...]:
    from bot.logs import reader
    from bot.logs.analyse import analyse_chunks

    with path.open("rb") as handle:
        report = analyse_chunks(
            reader.chunks(reader.open_stream(handle)), path.name, event_cap=event_cap
        )
    diagnosis = report.diagnosis
    summary = (diagnosis.id, diagnosis.ok, diagnosis.retry, diagnosis.line) if diagnosis else None
    spans = [
        (s.first_line, s.last_line, s.diagnosis.id if s.diagnosis else None)
        for s in report.sessions
    ]
    return summary, spans, [(s.line, s.kind) for s in report.secrets]


@pytest.mark.parametrize("row", MANIFEST, ids=lambda row: str(row["file"]))
def test_bulk_mode_reaches_the_same_diagnosis(row: dict[str, object]) -> None:
    """Handling lines in bulk (as past the event cap of a big log) changes no diagnosis."""
    path = ROOT / str(row["file"])
    assert _outcome(path, event_cap=0) == _outcome(path, event_cap=10_000)
