"""Slack Block Kit payloads (bot/blocks.py): within Slack's limits, safe, and readable at a glance.

Every payload here comes from the real knowledge base and the real engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot import render
from bot.blocks import (
    ACTION_HELPFUL,
    ACTION_MUTE_THREAD,
    ACTION_SHARE,
    ACTION_WRONG,
    SLACK_MAX_ACTION_VALUE,
    SLACK_MAX_BLOCKS,
    SLACK_MAX_BUTTON_TEXT,
    SLACK_MAX_FALLBACK_TEXT,
    SLACK_MAX_HEADER_TEXT,
    SLACK_MAX_SECTION_TEXT,
    Block,
    escape_mrkdwn,
    followup_block,
    home_view,
    log_blocks,
    lookup_blocks,
    reply_blocks,
    with_block_on_top,
    with_secret_warning,
)
from bot.detect import scan
from bot.knowledge import KnowledgeBase, load
from bot.logs.analyse import analyse_file, analyse_text
from bot.logs.model import LogReport
from bot.lookup import lookup, suggestions
from bot.models import VERDICTS, Verdict
from tests.helpers import ROOT

Payload = tuple[list[Block], str]

FIXTURES = ROOT / "tests" / "fixtures"
WRONG_PASSWORD = FIXTURES / "curl" / "vsftpd-wrong-password.txt"
DOWNLOAD_OK = FIXTURES / "curl" / "vsftpd-download-ok.txt"
INJECTION = "<!channel> 553 <@U123> <https://evil.example|click>"
# What must never reach Slack from a user: a mention, a broadcast, a channel link, a link.
FORBIDDEN = re.compile(r"<[!@#]|<https?:|<mailto:|@(?:channel|here|everyone)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load()


@cache
def huge_report() -> LogReport:
    """The wrong-password transcript 2,100 times: 10,000 events kept, 500 sessions kept."""
    report = analyse_text(WRONG_PASSWORD.read_bytes().decode("utf-8") * 2100, "huge.log")
    assert len(report.events) == 10_000
    assert len(report.sessions) == 500
    return report


def ask(kb: KnowledgeBase, query: str) -> Payload:
    """What `/ftpcode QUERY` posts."""
    found = lookup(query)
    return lookup_blocks(
        kb, query, found, suggestions(query) if query.strip() and not found else []
    )


def strings(node: Any) -> Iterator[str]:
    """Every string anywhere in a payload."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from strings(item)


def sections(blocks: list[Block]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def buttons(blocks: list[Block]) -> list[Block]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def assert_within_limits(payload: Payload) -> None:
    blocks, fallback = payload
    assert 0 < len(blocks) <= SLACK_MAX_BLOCKS
    assert 0 < len(fallback) <= SLACK_MAX_FALLBACK_TEXT
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= SLACK_MAX_HEADER_TEXT
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= SLACK_MAX_SECTION_TEXT
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(len(e["text"]) <= SLACK_MAX_SECTION_TEXT for e in block["elements"])
        elif block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for button in block["elements"]:
                assert len(button["text"]["text"]) <= SLACK_MAX_BUTTON_TEXT
                assert len(button["value"]) <= SLACK_MAX_ACTION_VALUE
    assert json.loads(json.dumps({"blocks": blocks, "text": fallback})) == {
        "blocks": blocks,
        "text": fallback,
    }


def assert_safe(payload: Payload) -> None:
    for text in strings(payload):
        assert not FORBIDDEN.search(text), text


def first_id_with(kb: KnowledgeBase, verdict: Verdict) -> str:
    return next(e.id for e in kb.entries.values() if e.retry == verdict and not e.variants)


# -- /ftpcode -------------------------------------------------------------------------


def test_lookup_answer_reads_like_the_issue_asks(kb: KnowledgeBase) -> None:
    """`/ftpcode 553` has a header with id and title, fixes by who acts with sources, and more."""
    blocks, fallback = ask(kb, "553")
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"].startswith("ftp/553")
    texts = "\n".join(sections(blocks))
    assert render.BLOCK_WHO_HEADING["user"] in texts
    assert render.BLOCK_WHO_HEADING["server-admin"] in texts
    assert "_CuteFTP_" in texts
    assert "ftp/550" in texts  # related codes
    context = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any(t.startswith("Sources: RFC 959") for t in context)
    assert fallback.startswith("ftp/553")


def test_lookup_buttons_share_the_query_and_rate_the_entry(kb: KnowledgeBase) -> None:
    """The answer's buttons are share_answer (value: the query) and feedback (value: the id)."""
    blocks, _ = ask(kb, "553")
    values = {b["action_id"]: b["value"] for b in buttons(blocks)}
    assert values == {ACTION_SHARE: "553", ACTION_HELPFUL: "ftp/553", ACTION_WRONG: "ftp/553"}
    assert blocks[-1]["type"] == "actions"


def test_lookup_names_other_readings_of_a_bare_number(kb: KnowledgeBase) -> None:
    """A number with several readings lists the others in one line."""
    found = lookup("2")
    assert len(found) > 1
    blocks, _ = lookup_blocks(kb, "2", found, [])
    assert any(render.BLOCK_OTHER_READINGS.split("{")[0] in t for t in sections(blocks))
    assert any(found[1].id in t for t in sections(blocks))


@pytest.mark.parametrize("verdict", VERDICTS)
def test_lookup_verdict_is_the_first_section(kb: KnowledgeBase, verdict: Verdict) -> None:
    """Every verdict kind shows its emoji and words in the answer's first section."""
    entry_id = first_id_with(kb, verdict)
    blocks, _ = ask(kb, entry_id)
    assert sections(blocks)[0].startswith(f"*{render.BLOCK_VERDICT[verdict]}*")


def test_unknown_query_gets_did_you_mean(kb: KnowledgeBase) -> None:
    """Input the bot cannot place gets "did you mean" with the suggested ids, and no buttons."""
    query = "zzqx"
    assert lookup(query) == []
    hints = suggestions(query)
    blocks, fallback = lookup_blocks(kb, query, [], hints)
    texts = "\n".join(sections(blocks))
    assert "Did you mean" in texts
    assert all(f"`{hint}`" in texts for hint in hints)
    assert buttons(blocks) == []
    assert "zzqx" in fallback


@pytest.mark.parametrize("query", ["", "   \n"])
def test_empty_query_gets_usage(kb: KnowledgeBase, query: str) -> None:
    """An empty `/ftpcode` explains how to ask."""
    blocks, fallback = lookup_blocks(kb, query, [], [])
    assert blocks[0]["text"]["text"] == render.BLOCK_USAGE_HEADER
    assert "/ftpcode 553" in sections(blocks)[0]
    assert "/ftpcode 553" in fallback


# -- auto-reply -----------------------------------------------------------------------


def test_reply_covers_every_code_with_feedback_and_mute(kb: KnowledgeBase) -> None:
    """A reply explains each code found, rates each one, and offers to stop in this thread."""
    blocks, fallback = reply_blocks(kb, scan("got 421 then 530 Login incorrect"))
    texts = sections(blocks)
    assert [t.split("*")[1] for t in texts] == ["ftp/421", "ftp/530"]
    assert render.BLOCK_VERDICT["yes"] in texts[0]
    assert render.BLOCK_VERDICT["after-fix"] in texts[1]
    feedback = [(b["action_id"], b["value"]) for b in buttons(blocks)]
    assert (ACTION_HELPFUL, "ftp/421") in feedback
    assert (ACTION_WRONG, "ftp/530") in feedback
    assert [b["action_id"] for b in buttons(blocks)].count(ACTION_MUTE_THREAD) == 1
    assert "ftp/421" in fallback
    assert "ftp/530" in fallback


def test_reply_to_one_code_keeps_its_buttons_on_one_row(kb: KnowledgeBase) -> None:
    """A one-code reply has one row: Helpful, Wrong, Stop replying in this thread."""
    blocks, _ = reply_blocks(kb, scan("upload fails with 553 Could not create file."))
    rows = [b for b in blocks if b["type"] == "actions"]
    assert len(rows) == 1
    assert [e["action_id"] for e in rows[0]["elements"]] == [
        ACTION_HELPFUL,
        ACTION_WRONG,
        ACTION_MUTE_THREAD,
    ]


@pytest.mark.parametrize("verdict", VERDICTS)
def test_reply_verdict_is_in_the_first_section(kb: KnowledgeBase, verdict: Verdict) -> None:
    """Every verdict kind is visible in the reply's first section."""
    blocks, _ = reply_blocks(kb, lookup(first_id_with(kb, verdict)))
    assert f"*{render.BLOCK_VERDICT[verdict]}*" in sections(blocks)[0]


def test_reply_to_nothing_is_silence(kb: KnowledgeBase) -> None:
    """No match, no blocks and no text: the bot stays silent."""
    assert reply_blocks(kb, scan("lunch at 12:30?")) == ([], "")


def test_reply_shows_at_most_three_fixes_per_code(kb: KnowledgeBase) -> None:
    """The reply is compact: the first sentence of the meaning and up to three fixes."""
    blocks, _ = reply_blocks(kb, scan("got 421 then 530 Login incorrect"))
    assert all(text.count("\n\u2022 ") <= 3 for text in sections(blocks))


# -- log diagnosis --------------------------------------------------------------------


def test_log_diagnosis_shows_verdict_line_and_events() -> None:
    """A failed login shows the verdict and line first, then the explanation and events."""
    report = analyse_file(WRONG_PASSWORD)
    blocks, fallback = log_blocks(report)
    assert blocks[0]["text"]["text"] == "Failed: ftp/530 Not logged in"
    texts = sections(blocks)
    assert texts[0].startswith(f"*{render.BLOCK_VERDICT['after-fix']}*")
    assert "line 10" in texts[0]
    assert "Login incorrect" in texts[1]
    assert any("line 14: `curl: (67) Access denied: 530`" in t for t in texts)
    assert [(b["action_id"], b["value"]) for b in buttons(blocks)] == [
        (ACTION_HELPFUL, "ftp/530"),
        (ACTION_WRONG, "ftp/530"),
    ]
    assert "FAILED: ftp/530" in fallback


def test_log_secrets_get_a_warning_with_line_numbers_only() -> None:
    """A pasted password draws "rotate these credentials" with its lines, never the password."""
    payload = log_blocks(analyse_text(WRONG_PASSWORD.read_bytes().decode("utf-8"), "paste.txt"))
    assert any("Rotate these credentials" in t and "1, 9" in t for t in sections(payload[0]))
    assert not any("wrong-pass" in text for text in strings(payload))


def test_log_success_shows_ok_and_not_an_error() -> None:
    """A session that ended well is OK, with the "not an error" verdict."""
    blocks, _ = log_blocks(analyse_file(DOWNLOAD_OK))
    assert blocks[0]["text"]["text"].startswith("OK: ")
    assert sections(blocks)[0].startswith(f"*{render.BLOCK_VERDICT['n/a']}*")


def test_log_with_nothing_recognised_says_so() -> None:
    """Input with no events gets a plain "nothing recognised" answer without feedback buttons."""
    payload = log_blocks(analyse_text("hello\nworld\n"))
    assert payload[0][0]["text"]["text"] == render.BLOCK_LOG_HEADER_NOTHING
    assert buttons(payload[0]) == []
    assert_within_limits(payload)


def test_log_sessions_are_summarised_failed_first() -> None:
    """A log of many sessions lists a few of them, failed ones first, and counts the rest."""
    blocks, _ = log_blocks(huge_report())
    summary = next(t for t in sections(blocks) if "sessions*" in t)
    assert summary.startswith("*2,100 sessions*; 500 of the first 500 failed:")
    assert summary.count(render.BLOCK_LOG_SESSION_FAILED) == 20
    assert summary.endswith("and 2,080 more sessions")


# -- limits ---------------------------------------------------------------------------


def test_limits_hold_for_a_reply_to_every_code_at_once(kb: KnowledgeBase) -> None:
    """Even a reply to every code in the knowledge base fits one Slack message."""
    matches = [lookup(entry_id)[0] for entry_id in kb.entries]
    payload = reply_blocks(kb, matches)
    assert_within_limits(payload)
    assert payload[0][-1]["elements"][0]["action_id"] == ACTION_MUTE_THREAD
    assert f"and {len(matches) - 10} more" in payload[1]


def test_limits_hold_for_a_message_with_many_codes(kb: KnowledgeBase) -> None:
    """A message full of codes gets a reply within Slack's limits."""
    message = "\n".join(f"< {code} failed" for code in range(421, 560)) * 50
    matches = scan(message)
    assert matches
    assert_within_limits(reply_blocks(kb, matches))


def test_limits_hold_for_a_log_of_10000_events_and_500_sessions() -> None:
    """A huge log is summarised within Slack's limits."""
    payload = log_blocks(huge_report())
    assert_within_limits(payload)
    assert_safe(payload)
    assert not any("wrong-pass" in text for text in strings(payload))


@pytest.mark.parametrize(
    "query",
    [
        "553 " + "x" * 100_000,
        "&<>" * 34_000,
        (INJECTION + " ") * 2_000,
        "can't open data connection " * 4_000,
    ],
    ids=["code-then-padding", "entities", "injections", "phrase-repeated"],
)
def test_limits_hold_for_a_100_kb_query(kb: KnowledgeBase, query: str) -> None:
    """A 100 KB query gets an answer within Slack's limits, its echo cut with an ellipsis."""
    payload = ask(kb, query)
    assert_within_limits(payload)
    assert_safe(payload)
    for button in buttons(payload[0]):
        assert not re.search(r"&[a-z]{0,3}$", button["value"])  # no entity cut in half


def test_long_query_echo_ends_in_an_ellipsis(kb: KnowledgeBase) -> None:
    """The "nothing recognised" echo of a long query is cut and ends in an ellipsis."""
    blocks, _ = lookup_blocks(kb, "zq" * 50_000, [], [])
    assert "zq\u2026\u201d" in sections(blocks)[0] or "z\u2026\u201d" in sections(blocks)[0]
    assert len(sections(blocks)[0]) < 400


# -- safety ---------------------------------------------------------------------------


def test_lookup_never_echoes_mentions_or_links(kb: KnowledgeBase) -> None:
    """A query full of mentions and a disguised link comes back without any of them."""
    payload = ask(kb, INJECTION)
    assert payload[0][0]["text"]["text"].startswith("ftp/553")
    every = "\n".join(strings(payload))
    for bad in ("<!channel>", "<@U123>", "<https", "evil.example"):
        assert bad not in every
    assert_safe(payload)


def test_unknown_query_echo_never_mentions(kb: KnowledgeBase) -> None:
    """The "nothing recognised" echo of a query neutralises mentions, raw or Slack-escaped."""
    for query in ("<!here> <@U123> <#C123|ops> zzz", "&lt;!everyone&gt; &lt;@U9&gt; zzz"):
        payload = lookup_blocks(kb, query, [], [])
        assert_safe(payload)
        assert "<!" not in "\n".join(strings(payload))


def test_reply_never_echoes_mentions_or_links(kb: KnowledgeBase) -> None:
    """An auto-reply to a message with mentions and links repeats none of them."""
    message = (
        "<@U123> said: got 553 <https://evil.example|click> on upload <!channel>, "
        "then 530 Login incorrect"
    )
    matches = scan(message)
    assert len(matches) == 2
    assert_safe(reply_blocks(kb, matches))


def test_log_never_echoes_mentions_or_links() -> None:
    """Log lines that carry mentions and links are quoted back without them."""
    log = (
        "< 220 <!channel> welcome <https://evil.example|click here>\n"
        "> USER <@U123>\n"
        "< 530 Login incorrect for <@U123> &lt;!here&gt;\n"
    )
    report = analyse_text(log, "<!channel>.txt")
    assert report.events
    payload = log_blocks(report)
    assert_safe(payload)
    assert "evil.example" not in "\n".join(strings(payload))


def test_escape_mrkdwn_escapes_and_unwraps() -> None:
    """escape_mrkdwn escapes & < >, keeps a link's label only and turns mentions into words."""
    assert escape_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape_mrkdwn("<https://evil.example|click>") == "click"
    assert escape_mrkdwn("<#C123|ops> <@U123>") == "#ops @U123"
    assert not FORBIDDEN.search(escape_mrkdwn("<!channel> @here &lt;!everyone&gt;"))
    assert not FORBIDDEN.search(escape_mrkdwn("<<!channel>> <<@U1>|x>"))


# -- fallback -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lookup", "reply", "log"])
def test_fallback_text_is_present_and_plain(kb: KnowledgeBase, kind: str) -> None:
    """Every payload has a plain-text fallback: the answer's words without Block Kit markup."""
    if kind == "lookup":
        blocks, fallback = ask(kb, "553")
    elif kind == "reply":
        blocks, fallback = reply_blocks(kb, scan("got 421 then 530 Login incorrect"))
    else:
        blocks, fallback = log_blocks(analyse_file(WRONG_PASSWORD))
    assert blocks
    assert fallback.strip()
    assert not re.search(r":[a-z_]+:", fallback)  # no emoji short codes
    assert "*" not in fallback
    assert "<" not in fallback


def test_preview_script_prints_every_payload() -> None:
    """scripts/preview_blocks.py prints one JSON payload per preview, for a reviewer."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(Path(ROOT, "scripts", "preview_blocks.py"))],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    payloads = [
        json.loads(chunk.split("\n", 1)[1]) for chunk in done.stdout.strip().split("\n\n# ")
    ]
    assert len(payloads) == 5
    assert all(p["blocks"] and p["text"] for p in payloads)


def test_home_tab_fits_and_lists_codes_and_wrong_answers(kb: KnowledgeBase) -> None:
    """The App Home view lists the top codes and the wrongly answered ones, within limits."""
    ids = sorted(kb.entries)[:10]
    view = home_view(kb, [(i, 100 - n) for n, i in enumerate(ids)], [(ids[0], 2, 5)])
    payload = (view["blocks"], render.HOME_FALLBACK)
    assert_within_limits(payload)
    text = "\n".join(sections(view["blocks"]))
    assert all(i in text for i in ids)
    assert "5 wrong, 2 helpful" in text


def test_secret_warning_and_follow_up_sit_on_top_within_limits() -> None:
    """A log with a password in a bot thread: the warning first, then how it relates."""
    report = analyse_text("USER bob\nPASS hunter2x\n530 Login incorrect.\n", "paste")
    payload = with_secret_warning(
        with_block_on_top(log_blocks(report), followup_block(["ftp/530"], report)),
        ["password"],
    )
    assert_within_limits(payload)
    assert_safe(payload)
    blocks, fallback = payload
    assert "Rotate it now" in sections(blocks)[0]
    assert "hunter2x" not in json.dumps(blocks) + fallback
