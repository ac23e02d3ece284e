"""Regex helpers of bot/text.py: the rewritten patterns match what the originals match."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from bot.knowledge import load
from bot.text import regex_factored, regex_literals, regex_reversed

ROOT = Path(__file__).resolve().parent.parent


def _texts() -> list[str]:
    """Lower-case chat lines and server replies to try patterns on."""
    corpus = ROOT / "tests" / "corpus"
    texts = [
        json.loads(line)["text"].lower()
        for line in (corpus / "labelled.jsonl").read_text("utf-8").splitlines()
    ]
    texts += (corpus / "negative.txt").read_text("utf-8").lower().splitlines()
    for entry in load().entries.values():
        texts += [f"{entry.code} {t.text}".lower() for t in entry.server_texts]
        texts += [sample.lower() for sample in entry.samples_match]
    return texts


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        ("disabled|locked|expired", {"disabled", "locked", "expired"}),
        ("requires? ssl", {"require"}),
        (r"(?:^|530 )(?:permission|access) denied", {" denied"}),
        (r"\bno such (?:file|dir)", {"no such "}),
        (r"\(\d+/-31\)", {"/-31)"}),
        (r"(?:ab|c)d+", {"ab", "c"}),
        (r"x{2,3}yz", {"yz"}),
        (r"ab(?=cd)", {"ab"}),
        (r"(?=cd)", None),
        (r"a|", None),
        (r"[abc]+", None),
        (r"a.*b(?i:c)", None),
    ],
)
def test_regex_literals_names_what_every_match_holds(
    pattern: str, literals: set[str] | None
) -> None:
    """Each match holds one of the literals; nothing optional, looked around or unsupported."""
    found = regex_literals(pattern)
    assert (None if found is None else set(found)) == literals


def test_regex_literals_never_rule_out_a_text_that_a_variant_fits() -> None:
    """On the knowledge base's variant patterns, a fitting text always holds a literal."""
    texts = _texts()
    checked = 0
    for entry in load().entries.values():
        for variant in entry.variants:
            pattern = re.compile(variant.when, re.IGNORECASE)
            literals = regex_literals(variant.when.lower())
            if literals is None:
                continue
            for text in texts:
                if pattern.search(text):
                    checked += 1
                    assert any(literal in text for literal in literals), (variant.when, text)
    assert checked > 100


def test_factored_and_reversed_patterns_match_like_the_originals() -> None:
    """regex_factored matches the same texts; regex_reversed matches their reverses."""
    texts = _texts()
    patterns = [
        variant.when.lower() for entry in load().entries.values() for variant in entry.variants
    ]
    assert len(patterns) > 50
    for source in patterns:
        original = re.compile(source)
        factored = re.compile(regex_factored(source))
        reversed_ = re.compile(regex_reversed(source))
        for text in texts:
            assert bool(original.search(text)) == bool(factored.search(text)), (source, text)
            assert bool(original.search(text)) == bool(reversed_.search(text[::-1])), source


def test_word_by_word_spelling_agrees_with_the_rules_regexes() -> None:
    """Respelling word by word, pairs like "log in" included, gives what the regexes give."""
    from bot import text

    vocabulary = [
        "log", "in", "on", "sign", "user", "file", "host", "name", "time", "times", "timed",
        "timing", "out", "outs", "wo", "ca", "not", "cant", "wont", "timeout", "login", "dirs",
        "catalog", "profile", "x",
    ]  # fmt: skip
    separators = [" ", "-", "  ", ", ", "\n", ".", "_", "/", " - "]
    rng = random.Random(7)
    decided = 0
    for _ in range(20_000):
        size = rng.randint(2, 7)
        lowered = vocabulary[rng.randrange(len(vocabulary))]
        for _ in range(size - 1):
            lowered += rng.choice(separators) + vocabulary[rng.randrange(len(vocabulary))]
        found = text._WORD.findall(lowered)
        expected = text._WORD.findall(text._respell(lowered, found))
        as_bytes = text.respelled_bytes([w.encode() for w in found], lowered.encode())
        for spelled in (
            text.respelled(found, lowered),
            None if as_bytes is None else [w.decode() for w in as_bytes],
        ):
            if spelled is not None:
                decided += 1
                assert spelled == expected, lowered
    assert decided > 30_000  # mixed pairs (some joined, some not) are rare and left to the regexes
