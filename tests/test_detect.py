"""Recognition of codes and error texts in chat messages (the auto-reply engine)."""

from __future__ import annotations

import pytest

from bot.detect import MAX_MATCHES, scan, scan_many


def _ids(message: str) -> list[str]:
    return [m.id for m in scan(message)]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("got 553 on upload", "ftp/553"),
        ("error 10060", "winsock/10060"),
        ("sftp put fails, status code=3", "sftp/3"),
        ("SSH_FX_PERMISSION_DENIED when writing to /inbound", "sftp/3"),
        ("WSAECONNRESET", "winsock/10054"),
        ("errno 111 from the nightly job", "winsock/10061"),
        (
            "curl: (28) Operation timed out after 30000 milliseconds with 0 bytes received",
            "curl/28",
        ),
        ("< 530 Login incorrect.", "ftp/530"),
        ("Response: 550 Failed to open file.", "ftp/550"),
        ("getaddrinfo ENOTFOUND sftp.example.com", "winsock/11001"),
        ("socket.gaierror: [Errno -3] Temporary failure in name resolution", "winsock/11002"),
        ("ConnectionRefusedError: [Errno 111] Connection refused", "winsock/10061"),
        ("[Errno 110] Connection timed out", "winsock/10060"),
        ("read ECONNRESET", "winsock/10054"),
        ("EHOSTUNREACH", "winsock/10065"),
        ("ENETUNREACH", "winsock/10051"),
        ("ECONNABORTED", "winsock/10053"),
    ],
)
def test_explicit_codes_in_context(message: str, expected: str) -> None:
    """A code written in an error context is recognised as that code."""
    assert _ids(message)[:1] == [expected]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("cant open data conection", "ftp/425"),
        ("it says file name not allowed", "ftp/553"),
        ("connection reset by peer", "winsock/10054"),
        ("An existing connection was forcibly closed by the remote host", "winsock/10054"),
        ("java.net.SocketException: Connection reset", "winsock/10054"),
        (
            "No connection could be made because the target machine actively refused it",
            "winsock/10061",
        ),
        ("Permission denied (publickey,password).", "ssh/auth"),
        ("WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!", "ssh/hostkey"),
        ("WinSCP: Host key does not match the one cached", "ssh/hostkey"),
        (
            "Unable to negotiate with 192.0.2.4 port 22: no matching key exchange method found",
            "ssh/kex",
        ),
        ("kex_exchange_identification: Connection closed by remote host", "ssh/protocol-mismatch"),
        ("SSL certificate problem: self signed certificate", "tls/certificate-verify-failed"),
        ("Network error: Connection timed out", "winsock/10060"),
        ("Error: Failed to retrieve directory listing", "ftp/425"),
    ],
)
def test_error_text_without_a_code(message: str, expected: str) -> None:
    """Clients' error wordings, typos included, map to the code they stand for."""
    assert _ids(message)[:1] == [expected]


@pytest.mark.parametrize(
    "message",
    [
        "meeting at 4:25",
        "PR #425 is ready for review",
        "530 users on the tenant",
        "we have 550 users now",
        "the invoice was $530",
        "ftp server listens on port 2121, passive range 50000-50100",
        "vsftpd 3.0.5 is on ftp02 now",
        "JIRA-553 is done",
        "moved 421 files overnight, all good",
        "the marketing site shows a 404 page",
        "grafana returns 502 during deploy",
        "chmod 550 on the script",
        "load was 99.550% of capacity",
        "INC0010054 closed",
    ],
)
def test_silence_on_numbers_that_are_not_codes(message: str) -> None:
    """Times, counts, money, ports, versions, tickets and web-app errors get no answer."""
    assert scan(message) == []


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("550 No such file or directory", ("not-found", "after-fix")),
        ("550 Permission denied.", ("permission-denied", "no")),
    ],
)
def test_verdict_follows_the_reply_text(message: str, expected: tuple[str, str]) -> None:
    """550 "No such file" and 550 "Permission denied" get different verdicts."""
    match = scan(message)[0]
    assert (match.variant, match.retry) == expected


def test_informational_codes_only_when_asked() -> None:
    """A 226 in passing is silence; a question about 226 is answered."""
    assert scan("226 Transfer complete") == []
    assert _ids("what does 226 mean?") == ["ftp/226"]


def test_reply_code_comes_before_the_wrapper_error() -> None:
    """When curl's exit code and the server's reply report one failure, the reply is first."""
    assert _ids("curl: (67) Access denied: 530")[:2] == ["ftp/530", "curl/67"]


def test_several_codes_in_one_message() -> None:
    """Every code in a message is answered, in the order they appear."""
    ids = _ids("first got 421 Too many connections, then later 530 Login incorrect")
    assert ids[:2] == ["ftp/421", "ftp/530"]


def test_the_same_code_twice_is_one_match() -> None:
    """A code repeated in one message is answered once."""
    assert _ids("550 Failed to open file.\n550 Failed to open file.") == ["ftp/550"]


def test_matches_are_capped() -> None:
    """A message full of codes gets at most MAX_MATCHES answers."""
    message = "\n".join(
        f"< {code} failed" for code in (421, 425, 426, 450, 451, 452, 530, 550, 553)
    )
    assert len(scan(message)) <= MAX_MATCHES


def test_slack_escaping_is_undone_before_matching() -> None:
    """curl's `< 550` arrives from Slack as `&lt; 550` and is still recognised."""
    assert _ids("&lt; 550 Failed to open file.") == ["ftp/550"]


def test_evidence_quotes_the_input() -> None:
    """The evidence is the words of the input that triggered the match."""
    match = scan("upload died: 553 Could not create file.")[0]
    assert "553 Could not create file." in match.evidence


def test_batch_and_single_scans_agree() -> None:
    """scan_many gives each message the same answer as scan does alone."""
    messages = ["got 553 on upload", "hello team", "connection reset by peer", "PR #425"]
    assert [[m.id for m in ms] for ms in scan_many(messages)] == [_ids(m) for m in messages]


def test_control_characters_split_words_like_spaces() -> None:
    """Control characters pasted from a terminal (a bell, a shift) split words."""
    assert _ids("ssh: connect to host\x07sftp.example.com port 22: Connection\x0frefused") == [
        "winsock/10061"
    ]
    assert _ids("Connection\x1freset by peer while uploading") == _ids(
        "Connection reset by peer while uploading"
    )


def test_huge_and_binary_messages_get_a_clean_answer() -> None:
    """Megabytes of noise or binary bytes neither crash nor hang the scanner."""
    assert isinstance(scan("x" * 5_000_000), list)
    assert isinstance(scan(bytes(range(256)).decode("latin-1") * 100), list)


def test_variant_patterns_ignore_case() -> None:
    """A reply in capitals still selects its variant."""
    match = scan("550 PERMISSION DENIED.")[0]
    assert (match.id, match.variant) == ("ftp/550", "permission-denied")


def test_http_code_needs_file_transfer_context() -> None:
    """An HTTP code is answered for an MFT web front end, not for an unrelated web app."""
    assert _ids("EFT web client gives 413 when I upload a 2 GB file") == ["http/413"]
    assert scan("our react app shows a 413 on the avatar endpoint") == []
