"""The benchmark still runs and prints its comparison (a smoke run, not a timing test)."""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from io import StringIO

from bench.scan import labelled_messages, main, seed_phrases


def test_baseline_uses_the_seed_pages_code_descriptions() -> None:
    """The naive baseline matches against about a hundred seed descriptions."""
    phrases = seed_phrases()
    assert 70 <= len(phrases) <= 130
    assert ("ftp/553", "Requested action not taken. File name not allowed.") in phrases


def test_benchmark_messages_are_distinct_and_labelled() -> None:
    """The benchmark set holds the requested number of distinct labelled messages."""
    pairs = labelled_messages(20_000)
    assert len(pairs) == 20_000
    assert len({m for m, _ in pairs}) == 20_000
    assert {e for _, e in pairs} >= {"none", "ftp/553", "winsock/10060"}


def test_quick_benchmark_prints_figures_beside_the_baseline() -> None:
    """A quick run reports throughput, accuracy and cold start for both sides."""
    out = StringIO()
    with redirect_stdout(out):
        assert main(["--quick", "--json"]) == 0
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["messages"] == 1_000
    assert figures["ours_msgs_per_s"] > 0
    assert figures["baseline_msgs_per_s"] > 0
    assert 0 <= figures["baseline_accuracy"] <= 1
    assert figures["ours_accuracy"] > figures["baseline_accuracy"]
    assert figures["cold_start_ms"] > 0
