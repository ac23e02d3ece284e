"""The `ftpcode` command (CONTRACT.md): lookup, scan, log and serve.

Exit status: 0 on success (including "nothing recognised"), 2 on bad usage or unreadable
input, with a one-line error on stderr. No traceback reaches a user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn, TextIO

from bot import render

SUBCOMMANDS = ("lookup", "scan", "log", "serve")
MAX_INPUT_BYTES = 64 * 1024 * 1024
READ_CHUNK = 1 << 16


class UsageError(Exception):
    """Bad usage or unreadable input: exit 2 with this one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _write_json(out: TextIO, payload: object) -> None:
    out.write(json.dumps(payload, ensure_ascii=False, separators=(", ", ": ")) + "\n")


def cmd_lookup(args: argparse.Namespace, out: TextIO) -> int:
    from bot.knowledge import load
    from bot.lookup import lookup, suggestions

    query = " ".join(args.query)
    matches = lookup(query)
    if args.json:
        _write_json(out, {"query": query, "matches": [m.to_json() for m in matches]})
        return 0
    if not query.strip():
        out.write(render.EMPTY_QUERY + "\n")
        return 0
    hints = suggestions(query) if not matches else []
    out.write(render.lookup_text(load(), query, matches, hints) + "\n")
    return 0


def _read_input(path: str | None) -> bytes:
    try:
        if path is None or path == "-":
            return sys.stdin.buffer.read(MAX_INPUT_BYTES)
        with open(path, "rb") as handle:
            return handle.read(MAX_INPUT_BYTES)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    from bot.detect import scan_many

    if args.jsonl:
        return _scan_jsonl(args.file, out)
    text = _decode(_read_input(args.file))
    matches = scan_many([text])[0]
    if args.json:
        _write_json(out, {"matches": [m.to_json() for m in matches]})
    else:
        from bot.knowledge import load

        out.write(render.scan_text(load(), matches) + "\n")
    return 0


def _batches(path: str | None) -> Iterator[list[bytes]]:
    """Complete input lines, in batches of whatever has arrived (streams from a pipe)."""
    if path is None or path == "-":
        fd, close = sys.stdin.fileno(), False
    else:
        try:
            fd, close = os.open(path, os.O_RDONLY), True
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    pending = b""
    try:
        while True:
            chunk = os.read(fd, READ_CHUNK if not close else READ_CHUNK * 16)
            if not chunk:
                break
            pending += chunk
            cut = pending.rfind(b"\n")
            if cut >= 0:
                yield pending[:cut].split(b"\n")
                pending = pending[cut + 1 :]
        if pending:
            yield [pending]
    finally:
        if close:
            os.close(fd)


_EMPTY_RESULT = '{"matches": []}\n'
_BAD_LINE = 'line {n}: not a JSON object with a string "text"'


def _parse_lines(
    lines: list[bytes], first_number: int
) -> list[tuple[int, dict[str, object] | None]]:
    """(line number, object or None when invalid) for each non-blank line."""
    kept = [(first_number + i, line) for i, line in enumerate(lines) if line.strip()]
    try:  # the whole batch as one JSON array: one C call for the common, valid case
        objects = json.loads(b"[" + b",".join(line for _, line in kept) + b"]")
        if len(objects) == len(kept):
            return [(n, o if _valid(o) else None) for (n, _), o in zip(kept, objects, strict=True)]
    except (ValueError, UnicodeDecodeError):
        pass
    parsed: list[tuple[int, dict[str, object] | None]] = []
    for number, line in kept:
        try:
            value = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            value = None
        parsed.append((number, value if _valid(value) else None))
    return parsed


def _valid(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("text"), str)


def _scan_jsonl(path: str | None, out: TextIO) -> int:
    from bot.detect import scan_many

    line_number = 1
    for lines in _batches(path):
        parsed = _parse_lines(lines, line_number)
        line_number += len(lines)
        texts = [str(obj["text"]) for _, obj in parsed if obj is not None]
        results = iter(scan_many(texts)) if texts else iter(())
        pieces: list[str] = []
        for number, obj in parsed:
            if obj is None:
                pieces.append(
                    json.dumps({"matches": [], "error": _BAD_LINE.format(n=number)}) + "\n"
                )
                continue
            matches = next(results)
            if not matches and "id" not in obj:
                pieces.append(_EMPTY_RESULT)
                continue
            payload: dict[str, object] = {}
            if "id" in obj:
                payload["id"] = obj["id"]
            payload["matches"] = [m.to_json() for m in matches]
            pieces.append(json.dumps(payload, ensure_ascii=False) + "\n")
        out.write("".join(pieces))
        out.flush()
    return 0


def cmd_log(args: argparse.Namespace, out: TextIO) -> int:
    from bot.logs.analyse import analyse_file, analyse_stream

    files = args.files or ["-"]
    status = 0
    for index, name in enumerate(files):
        try:
            stdin = name == "-"
            report = analyse_stream(sys.stdin.buffer, "-") if stdin else analyse_file(name)
        except (OSError, EOFError, ValueError) as exc:  # unreadable, or a corrupt gzip
            status = 2
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            message = f"cannot read {name}: {reason}"
            if args.json:
                out.write(json.dumps({"file": name, "error": message}) + "\n")
            else:
                print(render.error_line(message), file=sys.stderr)
            continue
        if args.json:
            out.write(json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
        else:
            out.write(("\n" if index else "") + render.log_text(report) + "\n")
        out.flush()
    return status


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from bot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    if not settings.bot_token and not args.http:
        from bot.console import run_console

        return run_console(sys.stdin, out, interactive=sys.stdin.isatty())
    if (args.http and not settings.http_mode) or (not args.http and not settings.socket_mode):
        raise UsageError(render.SERVE_NEEDS_SECRET)
    import logging

    from bot import server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    def announce(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.http:
        server.serve_http(settings, args.host, args.port, announce)
    else:
        server.serve_socket_mode(settings, announce)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ftpcode", add_help=True, usage=render.USAGE)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    lookup = commands.add_parser("lookup")
    lookup.add_argument("--json", action="store_true")
    lookup.add_argument("query", nargs="*")
    scan = commands.add_parser("scan")
    mode = scan.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true")
    mode.add_argument("--jsonl", action="store_true")
    scan.add_argument("file", nargs="?")
    log = commands.add_parser("log")
    log.add_argument("--json", action="store_true")
    log.add_argument("files", nargs="*")
    serve = commands.add_parser("serve")
    serve.add_argument("--http", action="store_true")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    return parser


HANDLERS = {"lookup": cmd_lookup, "scan": cmd_scan, "log": cmd_log, "serve": cmd_serve}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command; the return value is the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    stream = out or sys.stdout
    try:
        if not arguments:
            stream.write(render.USAGE + "\n")
            return 2
        if arguments[0] in ("-h", "--help", "help"):
            stream.write(render.USAGE + "\n")
            return 0
        if arguments[0] not in SUBCOMMANDS:
            arguments = ["lookup", "--", *arguments]
        args = build_parser().parse_args(arguments)
        return HANDLERS[args.command](args, stream)
    except UsageError as exc:
        print(render.error_line(str(exc)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ftpcode scan --jsonl big | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        from bot.knowledge import KnowledgeError

        if isinstance(exc, KnowledgeError):
            print(render.error_line(str(exc)), file=sys.stderr)
        else:
            print(
                render.error_line(f"internal error: {type(exc).__name__}: {exc}"), file=sys.stderr
            )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
