"""Log diagnosis (`ftpcode log`): what CONTRACT.md promises for any pasted or uploaded log."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs.analyse import analyse_bytes, analyse_chunks, analyse_text
from bot.logs.model import LogReport
from tests.helpers import ROOT, run_ftpcode

CURL_WRONG_PASSWORD = """\
$ curl -v -u alice:hunter2-test ftp://ftp.example.com/
*   Trying 192.0.2.10:21...
* Connected to ftp.example.com (192.0.2.10) port 21 (#0)
< 220 (vsFTPd 3.0.3)
> USER alice
< 331 Please specify the password.
> PASS hunter2-test
< 530 Login incorrect.
* Access denied: 530
* Closing connection 0
curl: (67) Access denied: 530
"""

CURL_DOWNLOAD_OK = """\
$ curl -v -u alice:s3cret-test ftp://ftp.example.com/readme.txt
* Connected to ftp.example.com (192.0.2.10) port 21 (#0)
< 220 (vsFTPd 3.0.3)
> USER alice
< 331 Please specify the password.
> PASS s3cret-test
< 230 Login successful.
> EPSV
< 229 Entering Extended Passive Mode (|||40001|)
> TYPE I
< 200 Switching to Binary mode.
> SIZE readme.txt
< 213 30
> RETR readme.txt
< 150 Opening BINARY mode data connection for readme.txt (30 bytes).
< 226 Transfer complete.
> QUIT
< 221 Goodbye.
"""


def report_of(text: str) -> LogReport:
    return analyse_text(text, "paste.txt")


def test_failed_login_is_diagnosed_on_its_line() -> None:
    """A rejected login is the diagnosis, on the reply's line, with its retry verdict."""
    diagnosis = report_of(CURL_WRONG_PASSWORD).diagnosis
    assert diagnosis is not None
    assert (diagnosis.id, diagnosis.line, diagnosis.ok) == ("ftp/530", 8, False)
    assert diagnosis.retry == "after-fix"
    assert "Line 8" in diagnosis.explanation


def test_reply_code_beats_curls_exit_code() -> None:
    """curl's (67) is an event, but the diagnosis names the server's 530."""
    report = report_of(CURL_WRONG_PASSWORD)
    assert [e.id for e in report.events][-1] == "curl/67"
    assert report.diagnosis is not None and report.diagnosis.id == "ftp/530"


def test_successful_run_is_its_last_transfer_success() -> None:
    """A clean run is diagnosed by 226, not by the closing 221, with ok true and n/a."""
    diagnosis = report_of(CURL_DOWNLOAD_OK).diagnosis
    assert diagnosis is not None
    assert (diagnosis.id, diagnosis.ok, diagnosis.retry) == ("ftp/226", True, "n/a")


def test_events_are_the_replies_in_order_and_nothing_else() -> None:
    """Every reply is one event with its line; ports, sizes and byte counts are not events."""
    report = report_of(CURL_DOWNLOAD_OK)
    assert [(e.line, e.code) for e in report.events] == [
        (3, "220"),
        (5, "331"),
        (7, "230"),
        (9, "229"),
        (11, "200"),
        (13, "213"),
        (15, "150"),
        (16, "226"),
        (18, "221"),
    ]


def test_multi_line_reply_is_one_event() -> None:
    """A FEAT listing (211- ... 211 End) counts once."""
    text = "< 220 hi\n> FEAT\n< 211-Features:\n<  EPSV\n<  MDTM\n< 211 End\n> QUIT\n< 221 bye\n"
    assert [e.code for e in report_of(text).events] == ["220", "211", "221"]


def test_site_chmod_and_numbers_in_commands_are_not_events() -> None:
    """`SITE CHMOD 664` and other numbers in commands are not reply codes."""
    text = "< 220 hi\n> SITE CHMOD 664 report.csv\n< 200 SITE CHMOD command ok.\n"
    assert [e.code for e in report_of(text).events] == ["220", "200"]


def test_line_numbers_count_newlines_only() -> None:
    """A bare carriage return (a progress meter) does not start a line."""
    text = "< 220 hi\n  0     0    0\r  0     0    0\r< 530 Login incorrect.\n"
    diagnosis = report_of(text).diagnosis
    assert diagnosis is not None and (diagnosis.id, diagnosis.line) == ("ftp/530", 2)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("> PASS hunter2-test", "password"),
        ("$ curl -u alice:hunter2-test ftp://ftp.example.com/", "password"),
        ("$ sshpass -p hunter2-test sftp alice@sftp.example.com", "password"),
        ("lftp ftp://alice:hunter2-test@ftp.example.com", "password"),
        ("$ psftp -pw hunter2-test sftp.example.com", "password"),
        ("winscp.com /command open -password=hunter2-test", "password"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"),
        ("Authorization: Basic YWxpY2U6aHVudGVyMg==", "authorization"),
    ],
)
def test_clear_text_credentials_are_flagged(line: str, kind: str) -> None:
    """Each way a password reaches a paste is flagged, with its line and kind."""
    report = report_of("< 220 hi\n" + line + "\n")
    assert [(s.line, s.kind) for s in report.secrets] == [(2, kind)]


@pytest.mark.parametrize(
    "line",
    [
        "> PASS ****",
        "*cmd* 'PASS (hidden)'",
        "PASS <password>",
        "> PASS ftp@example.com",
        "can you pass me the salt",
        "the ppw field is empty",
    ],
)
def test_masked_and_anonymous_passwords_are_not_secrets(line: str) -> None:
    """Masked values and the anonymous-FTP convention are not flagged."""
    assert report_of("< 220 hi\n" + line + "\n").secrets == []


def test_no_output_repeats_a_secret() -> None:
    """Neither the JSON nor the human report contains the pasted password."""
    from bot import render

    report = report_of(CURL_WRONG_PASSWORD.replace("Login incorrect.", "hunter2-test rejected"))
    assert "hunter2-test" not in json.dumps(report.to_json())
    assert "hunter2-test" not in render.log_text(report)
    assert report.secrets


def test_slack_mangled_paste_is_read_like_the_original() -> None:
    """Code fences, &lt;/&gt; escapes, link wrapping and smart quotes are undone."""
    mangled = (
        "```\n&lt; 220 (vsFTPd 3.0.3)\n&gt; USER alice\n&lt; 331 Please specify the password.\n"
        "&gt; PASS hunter2-test\n&lt; 530 Login incorrect.\n"
        "curl: (67) Access denied: 530 for <ftp://ftp.example.com|ftp.example.com>\n```\n"
    )
    report = report_of(mangled)
    assert report.diagnosis is not None
    assert (report.diagnosis.id, report.diagnosis.line) == ("ftp/530", 6)
    assert [s.line for s in report.secrets] == [5]


def test_gzip_utf16_and_crlf_uploads() -> None:
    """Compressed, UTF-16 (Windows) and CRLF uploads give the same diagnosis."""
    crlf = CURL_WRONG_PASSWORD.replace("\n", "\r\n")
    for data in (
        gzip.compress(CURL_WRONG_PASSWORD.encode()),
        crlf.encode("utf-16"),
        crlf.encode("utf-8"),
    ):
        diagnosis = analyse_bytes(data, "upload").diagnosis
        assert diagnosis is not None and (diagnosis.id, diagnosis.line) == ("ftp/530", 8)


def test_several_sessions_get_a_diagnosis_each() -> None:
    """Two runs in one paste: two sessions; the top diagnosis is the last that failed."""
    report = report_of(CURL_WRONG_PASSWORD + CURL_DOWNLOAD_OK)
    assert [s.diagnosis.id if s.diagnosis else None for s in report.sessions] == [
        "ftp/530",
        "ftp/226",
    ]
    assert report.sessions[1].first_line == 12
    assert report.diagnosis is not None and report.diagnosis.id == "ftp/530"
    assert "sessions" in report.to_json()


def test_automatic_auth_tls_probe_is_not_the_diagnosis() -> None:
    """lftp's AUTH TLS probe drawing 530 is harmless when the login then works."""
    text = (
        "---- Connecting to ftp.example.com (192.0.2.10) port 21\n<--- 220 hi\n"
        "---> AUTH TLS\n<--- 530 Please login with USER and PASS.\n---> USER alice\n"
        "<--- 331 Please specify the password.\n---> PASS hunter2-test\n"
        "<--- 230 Login successful.\n---> PASV\n"
        "<--- 227 Entering Passive Mode (192,0,2,10,156,65).\n"
        "---> LIST\n<--- 150 Here comes the directory listing.\n<--- 226 Directory send OK.\n"
    )
    diagnosis = report_of(text).diagnosis
    assert diagnosis is not None and (diagnosis.id, diagnosis.ok) == ("ftp/226", True)


def test_recovered_error_is_the_diagnosis_with_ok_true() -> None:
    """EPSV refused, PASV works: the refusal is the diagnosis, ok true."""
    text = (
        "< 220 hi\n> USER alice\n< 331 pw\n> PASS hunter2-test\n< 230 ok\n> EPSV\n"
        "< 500 'EPSV': command not understood.\n> PASV\n"
        "< 227 Entering Passive Mode (192,0,2,10,156,65).\n> RETR a.txt\n"
        "< 150 Opening data connection.\n< 226 Transfer complete.\n"
    )
    diagnosis = report_of(text).diagnosis
    assert diagnosis is not None and (diagnosis.id, diagnosis.ok) == ("ftp/500", True)


def test_private_passive_address_explains_the_failed_data_connection() -> None:
    """A 227 pointing at a private address is the cause when the data connection fails."""
    text = (
        "< 220 hi\n> USER alice\n< 331 pw\n> PASS hunter2-test\n< 230 ok\n> PASV\n"
        "< 227 Entering Passive Mode (10,0,0,5,156,65).\n"
        "* Connecting to 10.0.0.5 (10.0.0.5) port 40001\n"
        "* connect to 10.0.0.5 port 40001 failed: Connection timed out\n"
        "curl: (28) Connection timed out after 30001 milliseconds\n"
    )
    diagnosis = report_of(text).diagnosis
    assert diagnosis is not None
    assert (diagnosis.id, diagnosis.variant, diagnosis.ok) == ("ftp/227", "private-address", False)


IIS_HEADER = (
    "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
    "#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status "
    "sc-win32-status sc-substatus x-session x-fullpath\n"
)


def iis_log(*requests: str) -> str:
    """An IIS FTP log of one session (from line 4); each request is 'METHOD URI STATUS
    WIN32-STATUS SUB-STATUS', on lines 5, 6, ..."""
    where, session = "2024-05-01 10:00:01 192.0.2.7 alice 192.0.2.10 21", "a1b2c3d4 -"
    lines = [f"{where} ControlChannelOpened - - 0 0 {session}"]
    lines += [f"{where} {request} {session}" for request in requests]
    return IIS_HEADER + "\n".join(lines) + "\n"


@pytest.mark.parametrize("event_cap", [10_000, 0], ids=["listed", "bulk"])
@pytest.mark.parametrize(
    ("request_line", "entry_id", "variant"),
    [
        ("PASS *** 530 1326 42", "ftp/530", "anonymous-refused"),
        ("RETR /tool.exe 550 0 11", "ftp/550", "name-filtered"),
        ("NOOP - 421 0 14", "ftp/421", "timeout"),
        ("PASS *** 530 1326 35", "ftp/530", None),  # a sub-status no rule names
    ],
)
def test_iis_sub_status_is_the_variant_of_the_reply_on_its_line(
    request_line: str, entry_id: str, variant: str | None, event_cap: int
) -> None:
    """An IIS line whose status and sub-status a rule knows is one reply event in that variant."""
    text = iis_log("USER alice 331 0 0", request_line)
    report = analyse_chunks([text], "u_ex240501.log", event_cap=event_cap)
    assert report.formats == ["iis"]
    on_line = [(e.id, e.variant) for e in report.events if e.line == 6]
    assert on_line == ([(entry_id, variant)] if event_cap else [])
    assert report.diagnosis is not None
    assert (report.diagnosis.id, report.diagnosis.variant, report.diagnosis.line) == (
        entry_id,
        variant,
        6,
    )
    if variant is None and event_cap:
        assert report.events[-1].text == entry_id.removeprefix("ftp/")  # the plain reply


def test_iis_sub_status_after_the_same_code_is_its_own_event() -> None:
    """A 550 in a known sub-status right after a plain 550 is still an event with its variant."""
    text = iis_log("RETR /missing.txt 550 2 0", "RETR /tool.exe 550 0 11")
    report = analyse_text(text, "u_ex240501.log")
    assert [(e.line, e.id, e.variant) for e in report.events] == [
        (5, "ftp/550", None),
        (6, "ftp/550", "name-filtered"),
    ]


def test_nothing_recognisable_has_a_null_diagnosis() -> None:
    """Ordinary text gives diagnosis null and no events."""
    report = report_of("hello team\nthe meeting is at 4:25\n")
    assert (report.diagnosis, report.events) == (None, [])


run = run_ftpcode


def test_log_json_prints_one_line_per_file_and_fails_after_all(tmp_path: Path) -> None:
    """One compact JSON line per file in argument order; unreadable ones exit 2 at the end."""
    good = tmp_path / "session.txt"
    good.write_text(CURL_WRONG_PASSWORD, encoding="utf-8")
    result = run("log", "--json", str(good), str(tmp_path / "missing.log"), str(good))
    assert result.returncode == 2
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(tmp_path / "missing.log"), str(good)]
    assert "error" in lines[1] and lines[0]["diagnosis"]["id"] == "ftp/530"
    assert b"Traceback" not in result.stderr


def test_log_reads_standard_input_as_dash() -> None:
    """`ftpcode log --json -` reports on standard input as file "-"."""
    result = run("log", "--json", "-", stdin=CURL_WRONG_PASSWORD.encode())
    assert result.returncode == 0
    assert json.loads(result.stdout)["file"] == "-"


@pytest.mark.parametrize(
    "payload",
    [b"", bytes(range(256)) * 200, b"x" * 5_000_000 + b"\n< 530 Login incorrect.\n"],
    ids=["empty", "binary", "5MB"],
)
def test_bad_input_gets_a_clean_report(payload: bytes) -> None:
    """Empty, binary or big input is a clean answer, never a traceback."""
    result = run("log", "--json", "-", stdin=payload)
    assert result.returncode == 0, result.stderr
    assert "diagnosis" in json.loads(result.stdout)


def test_human_report_names_the_line_and_the_verdict() -> None:
    """`ftpcode log` without --json reads as a diagnosis."""
    result = run("log", "-", stdin=CURL_WRONG_PASSWORD.encode())
    text = result.stdout.decode()
    assert "FAILED: ftp/530" in text and "Line 8" in text and "hunter2-test" not in text


def test_live_pyftpdlib_wrong_password_end_to_end(tmp_path: Path) -> None:
    """A real pyftpdlib server, a real ftplib client with a wrong password, a real diagnosis."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "live_ftp.py"), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "live_client.py"), str(port), "wrong-pass"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    transcript = client.stdout + client.stderr
    assert "530" in transcript
    report = analyse_text(transcript, "live.txt")
    assert report.diagnosis is not None
    assert (report.diagnosis.id, report.diagnosis.ok) == ("ftp/530", False)
    assert report.secrets == []  # ftplib masks PASS in its own debug output
    assert "wrong-pass" not in json.dumps(report.to_json())


def test_options_on_the_command_line_are_not_errors() -> None:
    """`--connect-timeout 5` on the shell prompt line is neither an event nor a session."""
    text = "$ curl -v --connect-timeout 5 ftp://ftp.example.com/\n" + CURL_DOWNLOAD_OK
    report = report_of(text)
    assert "winsock/10060" not in [e.id for e in report.events]
    assert len(report.sessions) == 1


def test_long_logs_keep_the_last_failure_past_the_session_cap() -> None:
    """With more sessions than the report lists, the top diagnosis is still the last failure."""
    runs = [CURL_DOWNLOAD_OK] * 300 + [CURL_WRONG_PASSWORD] + [CURL_DOWNLOAD_OK] * 300
    report = report_of("".join(runs))
    assert report.diagnosis is not None and report.diagnosis.id == "ftp/530"
    assert len(report.sessions) == 500
    assert report.to_json()["sessions_total"] == 601


def test_long_clean_logs_end_with_the_last_sessions_success() -> None:
    """Past the session cap, a clean log is still diagnosed by its last success."""
    report = report_of(CURL_DOWNLOAD_OK * 600)
    assert report.diagnosis is not None
    assert (report.diagnosis.id, report.diagnosis.ok, report.diagnosis.line) == (
        "ftp/226",
        True,
        599 * 18 + 16,
    )
