"""The LogReport of CONTRACT.md and its parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Verdict


@dataclass(slots=True)
class LogEvent:
    """One reply code or error the input shows, on its (1-based) line."""

    line: int
    protocol: str
    code: str
    id: str
    text: str
    title: str
    retry: Verdict
    variant: str | None = None
    command: str | None = None  # the FTP command this reply answers, when the log shows it
    argument: str = ""  # that command's argument (a file name), when the log shows it
    operation: str = ""  # the command that began the operation (RETR, STOR, open, ...)
    outcome: str = ""  # "error", "success" or "" (informational), from the knowledge base

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "protocol": self.protocol,
            "code": self.code,
            "id": self.id,
            "text": self.text,
        }


@dataclass(slots=True)
class Diagnosis:
    protocol: str
    code: str
    id: str
    title: str
    retry: Verdict
    ok: bool
    line: int
    explanation: str
    variant: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "protocol": self.protocol,
            "code": self.code,
            "id": self.id,
            "title": self.title,
            "retry": self.retry,
            "ok": self.ok,
            "line": self.line,
            "explanation": self.explanation,
        }
        if self.variant is not None:
            out["variant"] = self.variant
        return out


@dataclass(slots=True)
class Secret:
    line: int
    kind: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "kind": self.kind}


@dataclass(slots=True)
class Session:
    first_line: int
    last_line: int
    diagnosis: Diagnosis | None

    def to_json(self) -> dict[str, object]:
        return {
            "first_line": self.first_line,
            "last_line": self.last_line,
            "diagnosis": self.diagnosis.to_json() if self.diagnosis else None,
        }


@dataclass(slots=True)
class LogReport:
    file: str
    diagnosis: Diagnosis | None
    events: list[LogEvent] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    lines: int = 0
    events_total: int = 0  # events seen; `events` keeps the first EVENT_CAP of them
    sessions_total: int = 0  # sessions seen; `sessions` keeps the first SESSION_CAP

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "file": self.file,
            "diagnosis": self.diagnosis.to_json() if self.diagnosis else None,
            "events": [e.to_json() for e in self.events],
            "secrets": [s.to_json() for s in self.secrets],
        }
        if len(self.sessions) > 1:
            out["sessions"] = [s.to_json() for s in self.sessions]
        out["formats"] = self.formats
        out["lines"] = self.lines
        if self.events_total > len(self.events):
            out["events_total"] = self.events_total
        if self.sessions_total > len(self.sessions):
            out["sessions_total"] = self.sessions_total
        return out
