"""Turn an uploaded or pasted log into text chunks that end on line boundaries.

Handles what arrives in practice: gzip files, UTF-16 from Windows tools, CRLF, and pastes
that Slack mangled (code fences, `&lt;` escapes, `<http://...|...>` links, smart quotes).
Memory stays bounded: the input is read and decoded a chunk at a time.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from bot.text import _LINK_START, prepare

CHUNK_BYTES = 1024 * 1024
_FENCE = re.compile(r"^[ \t]*```[^\n]*$", re.MULTILINE)
# Lines longer than this are cut for matching (a log line is never this long; a paste of
# base64 or a binary file is, and would only slow the patterns down).
MAX_LINE = 4096
# A bare carriage return redraws the line (curl's progress meter): keep what a terminal shows.
_OVERWRITTEN = re.compile(r"[^\n]*\r(?!\n)")


def _encoding(head: bytes) -> str:
    """utf-16 for BOM-marked or NUL-interleaved text, utf-8 otherwise."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(b"\x00") > len(sample) // 3:
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


def open_stream(raw: BinaryIO) -> BinaryIO:
    """The decompressed byte stream: gzip is recognised by its magic number."""
    if isinstance(raw, io.BufferedReader) and raw.seekable():
        buffered = raw  # a file on disk: it peeks already, and reads without a second copy
    else:
        buffered = io.BufferedReader(_Raw(raw))
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


class _Raw(io.RawIOBase):
    """Any readable binary stream, seen as raw I/O so that it can be buffered and peeked."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def clean(text: str) -> str:
    """Undo Slack's mangling of a pasted log and normalise line ends."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = _OVERWRITTEN.sub("", text)
    if _may_have_long_line(text):
        lines = text.split("\n")
        if max(map(len, lines)) > MAX_LINE:
            text = "\n".join(line[:MAX_LINE] for line in lines)
    if "`" in text and "```" in text:
        text = _FENCE.sub("", text)
    if text.isascii() and "&" not in text and "`" not in text and not _has_link(text):
        return text  # nothing that prepare() would change
    return prepare(text)


# Every run of more than MAX_LINE characters without a newline holds a whole window of this
# size that starts at a multiple of the step, so looking at those windows is enough.
_WINDOW = MAX_LINE // 2 + 1
_STEP = MAX_LINE // 2


def _may_have_long_line(text: str) -> bool:
    """False when no line of `text` is longer than MAX_LINE (a few hundred short scans)."""
    find = text.find
    return any(find("\n", at, at + _WINDOW) < 0 for at in range(0, len(text), _STEP))


def _has_link(text: str) -> bool:
    """Whether a Slack-wrapped link starts in `text` (what prepare() unwraps)."""
    at = text.find("<")  # one character: a fast scan
    tries = 0
    while at >= 0:
        if _LINK_START.match(text, at):
            return True
        tries += 1
        if tries > 4096:
            return _LINK_START.search(text, at) is not None
        at = text.find("<", at + 1)
    return False


def chunks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Decoded, cleaned text in pieces that each end with a newline (the last may not)."""
    first = stream.read(chunk_bytes)
    decoder = codecs.getincrementaldecoder(_encoding(first))(errors="replace")
    pending = ""
    data = first
    while data:
        text = pending + decoder.decode(data)
        cut = text.rfind("\n")
        if cut < 0:
            pending = text
        else:
            pending = text[cut + 1 :]
            yield clean(text[: cut + 1])
        data = stream.read(chunk_bytes)
    tail = pending + decoder.decode(b"", final=True)
    if tail:
        yield clean(tail)
