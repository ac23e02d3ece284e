"""The compiled scan engine: built by set-up, used when current, and the same as plain Python."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import native
from bot.detect import detector

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
HOLDOUT = ROOT / "tests" / "holdout"

# Prints every match of every message on stdin (one JSON list per line), with all the fields
# that the engine works out, so that two engines can be compared field by field.
_SCAN_ALL = """
import dataclasses, json, sys
from bot import native
from bot.detect import detector
messages = json.load(sys.stdin)
found = detector().scan_many(messages) + detector().scan_many(messages, informational=True)
print(json.dumps([native.active(), [[dataclasses.astuple(m) for m in ms] for ms in found]]))
"""


def _messages() -> list[str]:
    texts = []
    for labelled in (CORPUS / "labelled.jsonl", HOLDOUT / "labelled.jsonl"):
        texts += [json.loads(line)["text"] for line in labelled.read_text("utf-8").splitlines()]
    texts += (CORPUS / "negative.txt").read_text("utf-8").splitlines()
    texts += (HOLDOUT / "chatter.txt").read_text("utf-8").splitlines()
    # Real transcripts and server logs, line by line: odd characters, long lines, many codes.
    for recording in sorted((ROOT / "tests" / "fixtures").rglob("*.txt")):
        texts += recording.read_text("utf-8", errors="replace").splitlines()[:200]
    return texts


def _scan_in(environment: dict[str, str], messages: list[str]) -> tuple[bool, list[list[object]]]:
    """Whether the engine was compiled, and its matches (as lists), in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _SCAN_ALL],
        input=json.dumps(messages),
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        check=True,
        cwd=ROOT,
    )
    ran, found = json.loads(done.stdout)
    return ran, found


def test_the_set_up_built_the_engine_that_scans() -> None:
    """After scripts/setup the engine in use is the compiled build of the current source."""
    assert native.active(), "the compiled engine is missing or out of date: run scripts/setup"
    detect_file = str(sys.modules["bot.detect"].__file__)
    assert detect_file.startswith(str(native.builds_dir() / native.build_id()))


def test_compiled_and_plain_python_engines_answer_alike() -> None:
    """Every field of every match is the same from the compiled engine and from Python."""
    messages = _messages()
    assert len(messages) > 1000
    compiled_ran, compiled = _scan_in({}, messages)
    plain_ran, plain = _scan_in({"FTPCODE_NATIVE": "0"}, messages)
    assert (compiled_ran, plain_ran) == (True, False)
    assert compiled == plain
    assert sum(map(len, compiled)) > 500


def test_ftpcode_native_0_runs_the_python_engine() -> None:
    """FTPCODE_NATIVE=0 turns the compiled engine off."""
    done = subprocess.run(
        [sys.executable, "-c", "from bot import native; print(native.active())"],
        capture_output=True,
        text=True,
        env={**os.environ, "FTPCODE_NATIVE": "0"},
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == "False"


def test_an_edited_source_needs_a_new_build(tmp_path: Path) -> None:
    """A change to the engine or to a module it imports changes the build it asks for."""
    for module in native.ENGINE + native.DEPENDS:
        copy = native.source(module, tmp_path)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(native.source(module), copy)
    assert native.build_id(tmp_path) == native.build_id()
    for module in ("bot.detect", "bot.text"):
        edited = native.source(module, tmp_path)
        original = edited.read_text("utf-8")
        edited.write_text(original + "\n# edited\n", "utf-8")
        assert native.build_id(tmp_path) != native.build_id()
        edited.write_text(original, "utf-8")


def test_an_unfinished_build_is_not_loaded(tmp_path: Path) -> None:
    """A build folder without its completion mark (a build cut short) is left alone."""
    folder = tmp_path / native.build_id()
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "from bot import native; print(native.active())"],
        capture_output=True,
        text=True,
        env={**os.environ, "FTPCODE_NATIVE_DIR": str(tmp_path)},
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("module", native.ENGINE)
def test_the_build_id_covers_every_project_module_the_engine_imports(module: str) -> None:
    """DEPENDS lists each `bot` module that a compiled module imports."""
    tree = ast.parse(native.source(module).read_text("utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "bot":
            imported.update(f"bot.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot."):
            imported.add(str(node.module))
    assert imported <= set(native.ENGINE + native.DEPENDS)
    if module == "bot.detect":
        assert {"bot.text", "bot.context", "bot.knowledge", "bot.models"} <= imported


def test_the_compiled_engine_scans_like_the_contract_says() -> None:
    """A smoke check through the compiled engine: a code in context, and chat left alone."""
    found = detector().scan("got 553 on upload")
    assert [m.id for m in found] == ["ftp/553"]
    assert detector().scan("meeting at 4:25, PR #425") == []
