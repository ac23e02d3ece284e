"""The `ftpcode` command as CONTRACT.md defines it, driven as a user drives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest

from bot.cli import main
from tests.helpers import ROOT, run_ftpcode

run = run_ftpcode


def call(*args: str) -> tuple[int, str]:
    """Run the command in-process and capture its output."""
    out = StringIO()
    status = main(list(args), out=out)
    return status, out.getvalue()


def lookup_json(query: str) -> dict[str, object]:
    status, out = call("lookup", "--json", query)
    assert status == 0
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def first_id(query: str) -> str:
    matches = lookup_json(query)["matches"]
    assert isinstance(matches, list)
    assert matches
    return str(matches[0]["id"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("553", "ftp/553"),
        ("sftp/4", "sftp/4"),
        ("winsock/10060", "winsock/10060"),
        ("ssh/hostkey", "ssh/hostkey"),
        ("sftp 4", "sftp/4"),
        ("http 404", "http/404"),
        ("WSAECONNRESET", "winsock/10054"),
        ("SSH_FX_PERMISSION_DENIED", "sftp/3"),
        ("ECONNREFUSED", "winsock/10061"),
        ("10060", "winsock/10060"),
        ("4", "sftp/4"),
        ("-1", "sftp/-1"),
        ("404", "http/404"),
    ],
)
def test_lookup_exact_forms(query: str, expected: str) -> None:
    """Ids, protocol-and-code, names and bare numbers resolve per the contract."""
    assert first_id(query) == expected


@pytest.mark.parametrize("query", ["sftp/4", "sftp 4", "WSAECONNRESET", "553"])
def test_exact_lookup_has_full_confidence(query: str) -> None:
    """A known id, protocol and code, name or bare code is matches[0] with confidence 1.0."""
    matches = lookup_json(query)["matches"]
    assert isinstance(matches, list)
    assert matches[0]["confidence"] == 1.0


def test_three_digits_are_ftp_first_then_http() -> None:
    """A bare 3-digit number reads as FTP first, with the HTTP reading after it."""
    matches = lookup_json("500")["matches"]
    assert isinstance(matches, list)
    assert [m["id"] for m in matches][:2] == ["ftp/500", "http/500"]


def test_lookup_error_text_in_any_wording() -> None:
    """Free text finds the entry it describes."""
    assert first_id("can't open data connection") == "ftp/425"
    assert first_id("connection reset by peer") == "winsock/10054"


def test_lookup_of_the_unknown_is_empty_and_succeeds() -> None:
    """Nothing known: an empty list and exit 0."""
    assert lookup_json("banana bread recipe") == {"query": "banana bread recipe", "matches": []}


def test_match_objects_carry_every_contract_field() -> None:
    """Each match has protocol, code, id, title, retry, confidence and evidence."""
    matches = lookup_json("553")["matches"]
    assert isinstance(matches, list)
    assert {"protocol", "code", "id", "title", "retry", "confidence", "evidence"} <= set(matches[0])
    assert matches[0]["retry"] in {"yes", "after-fix", "no", "n/a"}


def test_human_answer_reads_like_an_answer() -> None:
    """`ftpcode 553` prints the meaning, the verdict, fixes by who acts, and sources."""
    status, out = call("553")
    assert status == 0
    assert out.startswith("ftp/553")
    assert "Retry:" in out
    assert "What to do:" in out
    assert "Sources:" in out


def test_human_answer_for_unknown_text_suggests() -> None:
    """Unplaceable input says so, in one clean message, with exit 0."""
    status, out = call("qwertyuiop")
    assert status == 0
    assert "No FTP" in out


def test_scan_json_of_a_message(tmp_path: Path) -> None:
    """scan --json returns what the bot would answer for one message."""
    message = tmp_path / "m.txt"
    message.write_text("got 553 on upload, any idea?", encoding="utf-8")
    status, out = call("scan", "--json", str(message))
    assert status == 0
    assert [m["id"] for m in json.loads(out)["matches"]] == ["ftp/553"]


def test_scan_json_is_silent_on_chat(tmp_path: Path) -> None:
    """scan --json of ordinary chat is an empty match list."""
    message = tmp_path / "m.txt"
    message.write_text("meeting at 4:25, PR #425 first", encoding="utf-8")
    assert json.loads(call("scan", "--json", str(message))[1]) == {"matches": []}


def test_scan_jsonl_keeps_order_echoes_ids_and_survives_bad_lines(tmp_path: Path) -> None:
    """One output line per input line, in order; bad lines get an error and the run goes on."""
    lines = [
        json.dumps({"id": 7, "text": "got 553 on upload"}),
        "this is not json",
        "",
        json.dumps({"text": 42}),
        json.dumps({"text": "hello team"}),
        json.dumps({"text": "connection reset by peer", "user": "U1"}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, out = call("scan", "--jsonl", str(source))
    assert status == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 5
    assert results[0]["id"] == 7
    assert results[0]["matches"][0]["id"] == "ftp/553"
    assert results[1]["matches"] == []
    assert "line 2" in results[1]["error"]
    assert results[2]["matches"] == []
    assert "line 4" in results[2]["error"]
    assert results[3] == {"matches": []}
    assert results[4]["matches"][0]["id"] == "winsock/10054"


def test_scan_jsonl_streams_from_a_pipe() -> None:
    """Piped input is answered line by line on standard output."""
    stdin = b"".join(json.dumps({"text": t}).encode() + b"\n" for t in ["error 10060", "hi"])
    result = run("scan", "--jsonl", "-", stdin=stdin)
    assert result.returncode == 0
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [len(o["matches"]) for o in out] == [1, 0]


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 1000, b"550 " * (10 * 1024 * 1024 // 4)],
    ids=["empty", "binary", "10MB"],
)
def test_bad_input_gets_a_clean_answer(payload: bytes) -> None:
    """Empty, binary and huge input exit 0 with JSON and no traceback."""
    result = run("scan", "--json", "-", stdin=payload)
    assert result.returncode == 0, result.stderr
    assert "matches" in json.loads(result.stdout)
    assert b"Traceback" not in result.stderr


def test_unreadable_file_is_a_one_line_error() -> None:
    """A missing file exits 2 with one line on stderr."""
    result = run("scan", "--json", "/nonexistent/file.txt")
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert b"Traceback" not in result.stderr


def test_bad_usage_is_a_one_line_error() -> None:
    """An unknown option exits 2 with one line on stderr, no traceback."""
    result = run("scan", "--yaml")
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1


def serve(*args: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[bytes]:
    """`ftpcode serve ARGS` with no Slack variables but `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
        env={**clean, **env},
    )


def test_serve_without_tokens_is_the_offline_console() -> None:
    """With no Slack tokens, serve answers piped messages like the bot, then exits."""
    result = serve(stdin=b"got 553 on upload\n\nmeeting at 4:25\n\n/ftpcode 10060\n")
    assert result.returncode == 0, result.stderr
    answers = result.stdout.decode().strip().split("\n\n")
    assert answers[0].startswith("ftp/553")
    assert any("stays silent" in a for a in answers)
    assert "winsock/10060" in result.stdout.decode()


def test_a_code_inside_free_text_comes_before_guesses() -> None:
    """`/ftpcode @channel 553 click` answers 553 first, not a fuzzy guess at the words."""
    assert first_id("@channel 553 @U123 click") == "ftp/553"


def test_serve_http_without_signing_secret_is_a_one_line_error() -> None:
    """`serve --http` with a bot token but no signing secret exits 2 with one line."""
    result = serve("--http", SLACK_BOT_TOKEN="xoxb-fake-token-for-tests")
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "SLACK_SIGNING_SECRET" in lines[0]


def test_serve_with_a_bad_setting_is_a_one_line_error() -> None:
    """A malformed FTPCODE_* setting is named in a one-line error, exit 2."""
    result = serve(FTPCODE_COOLDOWN_SECONDS="soon")
    assert result.returncode == 2
    assert b"FTPCODE_COOLDOWN_SECONDS" in result.stderr
    assert b"Traceback" not in result.stderr
