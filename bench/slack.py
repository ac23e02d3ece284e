"""Load benchmark: signed events at a steady rate against the bot and a bare Bolt app.

    .venv/bin/python -m bench.slack                      # 100 events/s for 30 s each
    .venv/bin/python -m bench.slack --rate 50 --seconds 5

Both apps run as subprocesses in HTTP mode on the same server (waitress) with their Web API
pointed at one local fake Slack. Every event is a channel message with an error code, each
in its own channel, so the bot must answer each exactly once; a tenth are delivered again
as Slack retries (same event_id). The bare app acks and posts a fixed text; it runs for half the
time before the bot and half after, so that both meet the machine's load alike. Figures: the
ack latency seen by the sender (p50/p95/p99), and for the bot, events lost or answered twice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fake_slack import FakeSlack
from tests.slack_app import SlackApp

ROOT = Path(__file__).resolve().parent.parent
SENDERS = 16
RETRY_EVERY = 10  # every tenth event is delivered twice
SETTLE_SECONDS = 15.0


@dataclass
class Run:
    name: str
    prefix: str  # starts every channel and event id of this run, so runs never mix
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    events: int = 0
    deliveries: int = 0
    answered_once: int = 0
    lost: int = 0
    answered_twice: int = 0
    problems: list[str] = field(default_factory=list)  # warnings and errors the app logged

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def messages() -> list[str]:
    """Chat messages the bot answers, from the labelled corpus (what is measured here is
    delivery, not recognition, so the few the engine misses are left out)."""
    from bot.detect import scan

    lines = (ROOT / "tests" / "corpus" / "labelled.jsonl").read_text("utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    texts = [item["text"] for item in items if item["expect"] != "none"]
    return [text for text in texts if scan(text)][:300]


def drive(app: SlackApp, slack: FakeSlack, run: Run, rate: float, seconds: float) -> None:
    """Send `rate` events a second for `seconds`, open loop, and count the replies."""
    texts = messages()
    total = int(rate * seconds)
    plan: list[tuple[float, dict[str, Any], str, int]] = []
    for index in range(total):
        channel = f"C{run.prefix}{index:07d}"
        event = {
            "type": "message",
            "channel": channel,
            "channel_type": "channel",
            "user": "ULOAD0001",
            "text": texts[index % len(texts)],
            "ts": f"{1_800_000_000 + index}.000300",
        }
        event_id = f"Ev{run.prefix}{index:08d}"
        plan.append((index / rate, event, event_id, 0))
        if index % RETRY_EVERY == 0:
            plan.append((index / rate + 0.5 / rate, event, event_id, 1))
    plan.sort(key=lambda item: item[0])
    run.events, run.deliveries = total, len(plan)
    cursor = iter(plan)
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def sender() -> None:
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            at, event, event_id, retry = item
            delay = start + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            response = app.event(event, event_id=event_id, retry=retry)
            with lock:
                run.latencies.append(response.seconds)
                run.statuses[response.status] += 1

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    prefix = f"C{run.prefix}"
    slack.wait_for(
        lambda c: c.method == "chat.postMessage" and str(c.args.get("channel")).startswith(prefix),
        count=total,
        timeout=SETTLE_SECONDS,
    )
    time.sleep(1.0)  # late duplicates, if any, land now
    posts = Counter(
        c.args.get("channel")
        for c in slack.calls_to("chat.postMessage")
        if str(c.args.get("channel")).startswith(prefix)
    )
    run.answered_once = sum(1 for n in posts.values() if n == 1)
    run.answered_twice = sum(1 for n in posts.values() if n > 1)
    run.lost = total - len(posts)


def measure(
    module: str, name: str, prefix: str, rate: float, seconds: float, slack: FakeSlack
) -> Run:
    run = Run(name, prefix)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "state.sqlite3"
        with SlackApp(slack.api_url, db, module=module) as app:
            for index in range(20):  # warm both alike: imports, caches, connections
                app.event(
                    {
                        "type": "message",
                        "channel": f"W{prefix}{index}",
                        "user": "U1",
                        "text": "got 553 on upload",
                        "ts": f"1.{index}",
                    }
                )
            time.sleep(1.0)
            drive(app, slack, run, rate, seconds)
        run.problems = [line for line in app.log if " ERROR " in line or " WARNING " in line]
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    rate, seconds = (50.0, 2.0) if args.quick else (args.rate, args.seconds)
    with FakeSlack() as slack:
        # The bare app runs before and after the bot, half the time each, so that a change
        # in the machine's load during the run weighs on both sides alike.
        before = measure("bench.bare_app", "bare", "A", rate, seconds / 2, slack)
        ours = measure("bot", "ftpcode", "F", rate, seconds, slack)
        after = measure("bench.bare_app", "bare", "B", rate, seconds / 2, slack)
    bare = Run("bare", "AB", latencies=before.latencies + after.latencies)
    bare.statuses = before.statuses + after.statuses
    ratio = ours.percentile(0.99) / max(bare.percentile(0.99), 1e-9)
    print(
        f"load benchmark: {rate:g} events/s for {seconds:g} s per app, "
        f"1 in {RETRY_EVERY} delivered twice as a Slack retry"
    )
    print(f"  {'':26}{'ftpcode':>12}{'bare Bolt':>12}")
    for label, share in (("ack p50 (ms)", 0.5), ("ack p95 (ms)", 0.95), ("ack p99 (ms)", 0.99)):
        print(f"  {label:26}{ours.percentile(share):>12.1f}{bare.percentile(share):>12.1f}")
    print(
        f"  {'ack max (ms)':26}{max(ours.latencies) * 1000:>12.1f}"
        f"{max(bare.latencies) * 1000:>12.1f}"
    )
    print(
        f"  {'non-200 acks':26}{sum(n for s, n in ours.statuses.items() if s != 200):>12}"
        f"{sum(n for s, n in bare.statuses.items() if s != 200):>12}"
    )
    print(
        f"  ftpcode: {ours.events} events ({ours.deliveries} deliveries): "
        f"{ours.answered_once} answered once, {ours.lost} lost, "
        f"{ours.answered_twice} answered twice"
    )
    print(f"  ack p99 ratio ftpcode / bare: {ratio:.2f}x (target <= 1.5x)")
    for line in ours.problems[:10]:
        print(f"  ftpcode logged: {line}")
    if args.json:
        print(
            json.dumps(
                {
                    "rate": rate,
                    "seconds": seconds,
                    "events": ours.events,
                    "deliveries": ours.deliveries,
                    "answered_once": ours.answered_once,
                    "lost": ours.lost,
                    "answered_twice": ours.answered_twice,
                    "ours_p50_ms": round(ours.percentile(0.5), 2),
                    "ours_p99_ms": round(ours.percentile(0.99), 2),
                    "bare_p50_ms": round(bare.percentile(0.5), 2),
                    "bare_p99_ms": round(bare.percentile(0.99), 2),
                    "p99_ratio": round(ratio, 2),
                    "ours_non_200": sum(n for s, n in ours.statuses.items() if s != 200),
                    "median_ms": round(statistics.median(ours.latencies) * 1000, 2),
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
