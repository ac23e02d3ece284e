"""Benchmark: scan throughput, accuracy and cold start, beside a naive baseline in the same run.

    .venv/bin/python -m bench.scan            # full run: >= 20,000 messages
    .venv/bin/python -m bench.scan --quick    # a smoke run for the test suite

The baseline is fixed by the issue: rapidfuzz `process.extractOne(message, phrases,
scorer=fuzz.partial_ratio)` where `phrases` are the code descriptions of the seed pages. It
answers the code of the best phrase when the score reaches a cut-off; the cut-off reported is
the one that gives the baseline its best accuracy on this very set, so the comparison favours
the baseline. The engine and the baseline take turns, a batch of 1,000 messages each, so that
load on a noisy machine weighs on both alike. Read the ratios, not the absolute figures.

The engine measured is the one the bot runs: compiled with mypyc when scripts/setup built it
(bot/native.py); `FTPCODE_NATIVE=0` measures the plain Python engine instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
# The seed pages that list codes with descriptions, most complete first.
SEED_LISTS = ["003_832a1b9627ba0ab8.txt", "002_5d8cb5c5d9143e0d.txt"]
SEED_EFT = "001_a4f5511e8df33057.txt"  # Globalscape EFT: the HTTP/S and SFTP tables
PREFIXES = ["", "hey team, ", "fyi ", "prod: ", "@here ", "morning all. ", "ok so ", "(cc @ana) "]
SUFFIXES = ["", " thanks", " cc @ana", " (customer ACME)", " :(", " - ops", " again", " pls"]


def seeds_dir() -> Path:
    """Where the seed pages are: $FTPCODE_SEEDS or ../shared/seeds beside the repository."""
    override = os.environ.get("FTPCODE_SEEDS")
    return Path(override) if override else ROOT.parent / "shared" / "seeds"


def seed_phrases() -> list[tuple[str, str]]:
    """(id, description), one per code the seed pages describe: the baseline's phrases.

    FTP and Winsock codes come from the list pages (003, then 002, then 000/004), the HTTP and
    SFTP codes from the EFT page's tables (001).
    """
    folder = seeds_dir()
    found: dict[str, str] = {}
    for name in SEED_LISTS:
        text = (folder / name).read_text(encoding="utf-8")
        for match in re.finditer(r"^(\d{3}|1\d{4}) (?!Series)(\S.+)$", text, re.MULTILINE):
            code, description = match.group(1), match.group(2).strip()
            found.setdefault(f"winsock/{code}" if len(code) == 5 else f"ftp/{code}", description)
    eft = (folder / SEED_EFT).read_text(encoding="utf-8")
    http_part, sftp_part = eft.split("\nHTTP/S\n", 1)[1].split("\nSFTP\n", 1)
    for match in re.finditer(r"^([45]\d\d) ([A-Z][^|\n]+?)\s*\|?\s*$", http_part, re.MULTILINE):
        found.setdefault(f"http/{match.group(1)}", match.group(2))
    for match in re.finditer(r"^(-1|\d)(?: \||\n\|)\n([^|\n]+)", sftp_part, re.MULTILINE):
        found.setdefault(f"sftp/{match.group(1)}", match.group(2).strip())
    return list(found.items())


def labelled_messages(target: int) -> list[tuple[str, str]]:
    """At least `target` distinct (message, expected id or "none") pairs, varied."""
    base: list[tuple[str, str]] = []
    for line in (CORPUS / "labelled.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            base.append((item["text"], item["expect"]))
    base += [
        (line, "none")
        for line in (CORPUS / "negative.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for prefix in PREFIXES:
        for suffix in SUFFIXES:
            for text, expect in base:
                message = prefix + text + suffix
                if message not in seen:
                    seen.add(message)
                    out.append((message, expect))
                if len(out) >= target:
                    return out
    return out


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


BATCH = 1000  # messages per engine call, as `scan --jsonl` reads them


def measure_both(
    messages: list[str], phrases: list[tuple[str, str]]
) -> tuple[float, list[str], float, list[tuple[str, float]]]:
    """Seconds for the engine and for the naive baseline over every message, and what each
    answered. The two take turns, a batch of BATCH messages each, so that a burst of load
    on a noisy machine falls on both sides alike instead of on whichever ran then."""
    from rapidfuzz import fuzz, process

    from bot.detect import detector

    engine = detector()
    engine.scan_many(messages[:100])  # build outside the timing, like a running bot
    texts = [p for _, p in phrases]
    answers: list[str] = []
    best: list[tuple[str, float]] = []
    ours_s = base_s = 0.0
    for start in range(0, len(messages), BATCH):
        batch = messages[start : start + BATCH]
        began = time.perf_counter()
        found = engine.scan_many(batch)
        ours_s += time.perf_counter() - began
        answers += [f[0].id if f else "none" for f in found]
        began = time.perf_counter()
        results = [process.extractOne(m, texts, scorer=fuzz.partial_ratio) for m in batch]
        base_s += time.perf_counter() - began
        best += [(phrases[r[2]][0], r[1]) if r else ("none", 0.0) for r in results]
    return ours_s, answers, base_s, best


def baseline_accuracy(best: list[tuple[str, float]], expected: list[str]) -> tuple[float, int]:
    """The baseline's accuracy at its most favourable cut-off, and that cut-off."""
    scored = []
    for cutoff in range(40, 101, 2):
        right = sum(
            (code if score >= cutoff else "none") == want
            for (code, score), want in zip(best, expected, strict=True)
        )
        scored.append((right / len(expected), cutoff))
    return max(scored)


def holdout_accuracy(phrases: list[tuple[str, str]], cutoff: int) -> tuple[float, float]:
    """First-match accuracy of ftpcode and of the baseline on the held-out corpora."""
    from rapidfuzz import fuzz, process

    from bot.detect import detector

    folder = ROOT / "tests" / "holdout"
    pairs = [
        (item["text"], item["expect"])
        for item in map(json.loads, (folder / "labelled.jsonl").read_text("utf-8").splitlines())
    ]
    pairs += [(line, "none") for line in (folder / "chatter.txt").read_text("utf-8").splitlines()]
    found = detector().scan_many([text for text, _ in pairs])
    ours = sum(
        (f[0].id if f else "none") == want for f, (_, want) in zip(found, pairs, strict=True)
    )
    texts = [p for _, p in phrases]
    base = 0
    for text, want in pairs:
        best = process.extractOne(text, texts, scorer=fuzz.partial_ratio)
        guess = phrases[best[2]][0] if best and best[1] >= cutoff else "none"
        base += guess == want
    return ours / len(pairs), base / len(pairs)


def cli_throughput(messages: list[str]) -> float:
    """Messages per second through `ftpcode scan --jsonl FILE`, start-up included."""
    with tempfile.NamedTemporaryFile(
        "w", suffix=".jsonl", delete=False, encoding="utf-8"
    ) as handle:
        for message in messages:
            handle.write(json.dumps({"text": message}) + "\n")
        path = handle.name
    try:
        command = [str(ROOT / ".venv" / "bin" / "ftpcode"), "scan", "--jsonl", path]
        seconds = _timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
    finally:
        os.unlink(path)
    return len(messages) / seconds


def cold_start(runs: int) -> tuple[float, float]:
    """Median seconds of `ftpcode 553` and of `python -c "import rapidfuzz"`, same run."""
    ftpcode = [str(ROOT / ".venv" / "bin" / "ftpcode"), "553"]
    importer = [sys.executable, "-c", "import rapidfuzz"]
    subprocess.run(ftpcode, check=True, stdout=subprocess.DEVNULL)  # warm the knowledge cache
    ours, theirs = [], []
    for _ in range(runs):  # interleaved so that machine noise hits both alike
        ours.append(_timed(lambda: subprocess.run(ftpcode, check=True, stdout=subprocess.DEVNULL)))
        theirs.append(_timed(lambda: subprocess.run(importer, check=True)))
    return statistics.median(ours), statistics.median(theirs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    count = 1_000 if args.quick else args.messages
    pairs = labelled_messages(count)
    messages = [m for m, _ in pairs]
    expected = [e for _, e in pairs]
    phrases = seed_phrases()
    ours_s, answers, base_s, best = measure_both(messages, phrases)
    ours_acc = sum(a == e for a, e in zip(answers, expected, strict=True)) / len(expected)
    base_acc, cutoff = baseline_accuracy(best, expected)
    silent = [i for i, e in enumerate(expected) if e == "none"]
    ours_false = sum(answers[i] != "none" for i in silent) / max(1, len(silent))
    base_false = sum(best[i][1] >= cutoff for i in silent) / max(1, len(silent))
    holdout_ours, holdout_base = holdout_accuracy(phrases, cutoff)
    cli_rate = cli_throughput(messages)
    cold_ours, cold_import = cold_start(3 if args.quick else 15)
    from bot import native

    engine = "compiled with mypyc" if native.active() else "Python"
    figures = {
        "engine": engine,
        "messages": len(messages),
        "positive_share": round(1 - len(silent) / len(messages), 3),
        "baseline_phrases": len(phrases),
        "ours_msgs_per_s": round(len(messages) / ours_s),
        "baseline_msgs_per_s": round(len(messages) / base_s),
        "throughput_ratio": round(base_s / ours_s, 1),
        "cli_msgs_per_s": round(cli_rate),
        "ours_accuracy": round(ours_acc, 4),
        "baseline_accuracy": round(base_acc, 4),
        "baseline_best_cutoff": cutoff,
        "ours_false_alarm_rate": round(ours_false, 4),
        "baseline_false_alarm_rate": round(base_false, 4),
        "holdout_accuracy": round(holdout_ours, 4),
        "holdout_baseline_accuracy": round(holdout_base, 4),
        "cold_start_ms": round(cold_ours * 1000, 1),
        "import_rapidfuzz_ms": round(cold_import * 1000, 1),
        "cold_start_ratio": round(cold_ours / cold_import, 2),
    }
    print(
        f"scan benchmark: {len(messages)} messages "
        f"({figures['positive_share']:.0%} expect an answer), "
        f"baseline over {len(phrases)} seed phrases"
    )
    print(f"engine: {engine} (FTPCODE_NATIVE=0 measures the Python engine)")
    print(f"  {'':28}{'ftpcode':>14}{'baseline':>14}{'ratio':>10}")
    print(
        f"  {'messages per second':28}{figures['ours_msgs_per_s']:>14,}"
        f"{figures['baseline_msgs_per_s']:>14,}{figures['throughput_ratio']:>9}x"
    )
    print(
        f"  {'accuracy (first match)':28}{ours_acc:>14.1%}{base_acc:>14.1%}"
        f"{'':>10}  (baseline cut-off {cutoff})"
    )
    print(f"  {'answers to chatter':28}{ours_false:>14.1%}{base_false:>14.1%}")
    print(
        f"  {'held-out accuracy':28}{holdout_ours:>14.1%}{holdout_base:>14.1%}"
        f"{'':>10}  (tests/holdout, never tuned on)"
    )
    print(f"  {'CLI scan --jsonl (msgs/s)':28}{figures['cli_msgs_per_s']:>14,}")
    print(
        f"cold start: ftpcode 553 {figures['cold_start_ms']} ms, python -c 'import rapidfuzz' "
        f"{figures['import_rapidfuzz_ms']} ms, ratio {figures['cold_start_ratio']}x (target <= 3x)"
    )
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
