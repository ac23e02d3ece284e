"""The load benchmark runs and its bookkeeping holds (a smoke run, not a timing test)."""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from io import StringIO

from bench.slack import main


def test_quick_load_run_loses_nothing_and_answers_once() -> None:
    """At a steady rate with Slack retries mixed in, every event is answered exactly once."""
    out = StringIO()
    with redirect_stdout(out):
        assert main(["--quick", "--json"]) == 0
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["deliveries"] > figures["events"] > 0
    assert figures["answered_once"] == figures["events"]
    assert figures["lost"] == 0
    assert figures["answered_twice"] == 0
    assert figures["ours_non_200"] == 0
    assert figures["bare_p99_ms"] > 0 and figures["ours_p99_ms"] > 0
