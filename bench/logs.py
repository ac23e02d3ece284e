"""Benchmark: `ftpcode log` on a big server log, beside `grep -cE` of reply lines, same run.

    .venv/bin/python -m bench.logs              # 200 MB
    .venv/bin/python -m bench.logs --mb 20      # a smaller run
    .venv/bin/python -m bench.logs --runs 5     # five rounds on the same file: each, the median

The log is built from the recorded vsftpd logs in tests/fixtures/vsftpd/ (not the separate
xferlog files), repeated
(with their timestamps and PIDs advanced) until it reaches the size asked for: real lines in
the proportions a busy server writes them. Both programs read the same file from the page
cache; peak memory is the child process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# vsftpd's own log (log_ftp_protocol): every recording of it; the *.xferlog.txt recordings
# are the separate transfer log and would not be in this file.
SOURCES = sorted(
    p for p in (ROOT / "tests" / "fixtures" / "vsftpd").glob("*.txt") if "xferlog" not in p.name
)
GREP_PATTERN = r'FTP response: Client "[^"]*", "[1-6][0-9]{2}[ -]'


def build_log(path: Path, megabytes: int) -> int:
    """Write the benchmark log; the number of bytes written."""
    pieces = [p.read_text(encoding="utf-8") for p in SOURCES]
    block = "".join(piece if piece.endswith("\n") else piece + "\n" for piece in pieces)
    target = megabytes * 1024 * 1024
    written = 0
    round_number = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            round_number += 1
            chunk = block.replace("[pid ", f"[pid {round_number}")
            handle.write(chunk)
            written += len(chunk.encode("utf-8"))
    return written


def _run(command: list[str]) -> tuple[float, int, bytes]:
    """Seconds, peak memory (bytes) and standard output of a child process."""
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if child.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed with status {child.returncode}")
    return elapsed, usage.ru_maxrss * 1024, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="log diagnosis throughput beside grep")
    parser.add_argument("--mb", type=int, default=200, help="size of the log in MB")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="rounds of grep then ftpcode on the same file; the median round is reported",
    )
    args = parser.parse_args(argv)
    rounds: list[tuple[float, int, bytes, float, int, bytes]] = []
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "vsftpd-big.log"
        size = build_log(log, args.mb)
        megabytes = size / (1024 * 1024)
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # page cache
        ftpcode = [str(ROOT / ".venv" / "bin" / "ftpcode"), "log", "--json", str(log)]
        for _ in range(max(1, args.runs)):
            rounds.append(
                _run(["grep", "-cE", GREP_PATTERN, str(log)]) + _run(ftpcode)  # same round
            )
    if len(rounds) > 1:
        print(f"{len(rounds)} rounds (grep, then ftpcode log, on the same file):")
        for grep_s, _, _, ours_s, ours_mem, _ in rounds:
            print(
                f"  grep {megabytes / grep_s:6.1f} MB/s  ftpcode log {megabytes / ours_s:5.1f} MB/s"
                f"  = {grep_s / ours_s:6.1%} of grep's, peak {ours_mem / 1024 / 1024:.1f} MB"
            )
        print(f"  lowest {min(r[0] / r[3] for r in rounds):.1%}; the median round follows")
    rounds.sort(key=lambda r: r[0] / r[3])
    grep_s, grep_mem, grep_out, ours_s, ours_mem, ours_out = rounds[len(rounds) // 2]
    report = json.loads(ours_out)
    figures = {
        "megabytes": round(megabytes, 1),
        "grep_reply_lines": int(grep_out.strip() or 0),
        "grep_mb_per_s": round(megabytes / grep_s, 1),
        "ours_mb_per_s": round(megabytes / ours_s, 1),
        "ratio_to_grep": round(grep_s / ours_s, 3),
        "ours_peak_mb": round(ours_mem / 1024 / 1024, 1),
        "grep_peak_mb": round(grep_mem / 1024 / 1024, 1),
        "events_total": report.get("events_total", len(report.get("events", []))),
        "diagnosis": (report.get("diagnosis") or {}).get("id"),
    }
    print(f"log benchmark: {figures['megabytes']} MB of vsftpd protocol log")
    print(f"  {'':24}{'ftpcode log':>14}{'grep -cE':>12}")
    print(f"  {'MB per second':24}{figures['ours_mb_per_s']:>14}{figures['grep_mb_per_s']:>12}")
    print(f"  {'peak memory (MB)':24}{figures['ours_peak_mb']:>14}{figures['grep_peak_mb']:>12}")
    print(
        f"  throughput is {figures['ratio_to_grep']:.1%} of grep's (target >= 10%); "
        f"{figures['events_total']} events, {figures['grep_reply_lines']} reply lines by grep"
    )
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
