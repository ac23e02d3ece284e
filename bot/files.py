"""Fetching a file someone shared with the bot (no Slack SDK: plain HTTPS with the bot token).

The proxy settings (HTTPS_PROXY, NO_PROXY) are honoured by urllib itself.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from bot import render

DOWNLOAD_TIMEOUT_SECONDS = 30
_TEXT_SUFFIXES = frozenset(
    (".log", ".txt", ".text", ".out", ".err", ".gz", ".csv", ".trace", ".debug", ".xferlog")
)
_TEXT_FILETYPES = frozenset(("text", "log", "gzip", "csv", "shell", "diff", "xml", "json"))
_TEXT_MIMETYPES = frozenset(("application/gzip", "application/x-gzip", "application/octet-stream"))


class FileTooLargeError(Exception):
    """The file is larger than the bot reads."""


class FileUnreadableError(Exception):
    """The file could not be fetched; the message says why, in a few words."""


def is_text_file(info: Mapping[str, Any]) -> bool:
    """Whether a shared file looks like a log or transcript the analyser can read."""
    mimetype = str(info.get("mimetype") or "")
    name = str(info.get("name") or "")
    suffixes = {suffix.lower() for suffix in PurePosixPath(name).suffixes}
    return (
        mimetype.startswith("text/")
        or mimetype in _TEXT_MIMETYPES
        or str(info.get("filetype") or "") in _TEXT_FILETYPES
        or bool(suffixes & _TEXT_SUFFIXES)
    )


def download(url: str, token: str, limit: int) -> bytes:
    """The file's bytes, fetched with the bot token; FileTooLargeError past `limit` bytes."""
    if not url.startswith(("https://", "http://")):
        raise FileUnreadableError(render.FILE_NO_ADDRESS)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            data: bytes = response.read(limit + 1)
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        raise FileUnreadableError(render.FILE_REFUSED.format(status=exc.code)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FileUnreadableError(render.FILE_FAILED.format(reason=reason)) from None
    if len(data) > limit:
        raise FileTooLargeError
    if kind == "text/html" and data.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        # Slack answers a request it will not serve with its sign-in page, not an error.
        raise FileUnreadableError(render.FILE_SIGN_IN)
    return data
