"""Plain data types shared by the engine, the command line and the Slack layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["yes", "after-fix", "no", "n/a"]
Who = Literal["user", "server-admin", "network-team"]

VERDICTS: tuple[Verdict, ...] = ("yes", "after-fix", "no", "n/a")
PROTOCOLS: tuple[str, ...] = ("ftp", "sftp", "winsock", "http", "ssh", "tls", "curl")


@dataclass(frozen=True, slots=True)
class Fix:
    who: Who
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class ServerText:
    server: str
    text: str
    source: str
    variant: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A seed's or vendor's statement that a standard contradicts, shown labelled."""

    source: str
    claim: str
    correction: str
    correction_source: str


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    title: str
    when: str
    retry: Verdict
    meaning: str
    fixes: tuple[Fix, ...] = ()
    phrases: tuple[str, ...] = ()
    context_phrases: tuple[str, ...] = ()
    match: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    protocol: str
    code: str
    title: str
    meaning: str
    retry: Verdict
    defined_in: tuple[str, ...]
    fixes: tuple[Fix, ...]
    retry_note: str = ""
    names: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    context_phrases: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()
    server_texts: tuple[ServerText, ...] = ()
    claims: tuple[Claim, ...] = ()
    samples_match: tuple[str, ...] = ()
    samples_no_match: tuple[str, ...] = ()

    def variant(self, key: str | None) -> Variant | None:
        """The variant with this key, or None."""
        for variant in self.variants:
            if variant.key == key:
                return variant
        return None


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    kind: str
    url: str = ""
    seed: str = ""
    label: str = ""

    @property
    def short(self) -> str:
        """A short name to print beside a fact: "RFC 959", "CuteFTP"."""
        return self.label or self.title.split(":")[0]


@dataclass(slots=True)
class Match:
    """One recognised code in an input, as CONTRACT.md defines it (plus `variant`)."""

    protocol: str
    code: str
    id: str
    title: str
    retry: Verdict
    confidence: float
    evidence: str
    variant: str | None = None
    # Where the evidence starts in the normalised input; used for ordering, not serialised.
    position: int = field(default=0, compare=False)
    # Found through error text rather than a code; such matches yield to a code on the same line.
    from_phrase: bool = field(default=False, compare=False)
    # The message asks about this code ("what does 226 mean?"); informational codes need it.
    asked: bool = field(default=False, compare=False)
    # The text a variant's pattern is tried on: the reply's own words, or the evidence line.
    probe: str = field(default="", compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        """The CONTRACT.md Match object."""
        out: dict[str, object] = {
            "protocol": self.protocol,
            "code": self.code,
            "id": self.id,
            "title": self.title,
            "retry": self.retry,
            "confidence": round(self.confidence, 2),
            "evidence": self.evidence,
        }
        if self.variant is not None:
            out["variant"] = self.variant
        return out
