"""Finding persona self-reference: spans over the stored text."""
from __future__ import annotations

import re

from .normalise import MARKUP, Normalised, has_format_characters, markup_is_balanced, normalise
from .patterns import compiled

Span = tuple[int, int]

# Quoted words offered for the reader to say ('Tell the dispatcher: "I am with a man who..."').
_QUOTE = re.compile(r"\"[^\"\n]{1,300}\"")
_SAY_BEFORE = re.compile(
    r"(?:\b(?:say|says|saying|tell|telling|told|ask|asking|explain|mention|write|phrase|words|something\s+like|"
    r"for\s+example|e\.g\.|such\s+as|script|like)\b|:)[\s,]*$",
    re.IGNORECASE,
)


def detect_persona_leak(text: str, *, persona=None) -> list[Span]:
    """Sorted, merged [start, end) spans of `text` revealing the persona, its style or the model."""
    text = text or ""
    role = (getattr(persona, "role", "") or "").strip().lower()
    readings = [normalise(text)]
    if has_format_characters(text):  # an invisible character may join two words or split one
        readings.append(normalise(text, zero_width_as_space=True))
    spans = [span for reading in readings for span in _find(reading, role, text)]
    return _merge(spans, text)


def _find(reading: Normalised, role: str, text: str) -> list[Span]:
    quoted = [m.span() for m in _QUOTE.finditer(reading.text)
              if _SAY_BEFORE.search(reading.text[max(0, m.start() - 60):m.start()])]
    # A pattern cannot match ASCII text that lacks all its words, as a substring test shows at a fraction of the
    # cost of running it (most texts hold few of them). Outside ASCII, case-insensitive matching has more pairs
    # than lower() ("ſ" is an "s"), so every pattern runs.
    lowered = reading.text.lower() if reading.text.isascii() else None
    found = []
    for pattern, words in compiled(role):
        if lowered is not None and not any(map(lowered.__contains__, words)):
            continue
        for m in pattern.finditer(reading.text):
            start, end = m.span("span")
            end = _trim(reading.text, start, end)
            if end <= start or not text.strip() or any(a <= start and end <= b for a, b in quoted):
                continue
            found.append(_with_markup(text, *reading.original_span(start, end)))
    return found


def _trim(text: str, start: int, end: int) -> int:
    """End a span before a line break, and before its trailing spaces unless it ends in punctuation."""
    core = start + len(text[start:end].rstrip())
    if text[core - 1:core] not in (",", ".", ":", "-", "!", ";"):
        return core
    tail = text[core:end]
    return core + tail.index("\n") if "\n" in tail else end


def _with_markup(text: str, start: int, end: int) -> Span:
    """The span widened over markup that hugs it ("<b>As a nurse</b>, "), where that leaves it balanced."""
    left, right = start, end
    while (m := _markup_ending_at(text, left)) is not None:
        left = m
    while (m := MARKUP.match(text, right)) and m.end() > right:
        right = m.end()
    for a, b in ((left, right), (start, right), (left, end), (start, end)):
        if markup_is_balanced(text[a:b]):
            return a, b
    return start, end


def _markup_ending_at(text: str, position: int) -> int | None:
    for m in MARKUP.finditer(text, max(0, position - 80)):
        if m.start() >= position:
            break
        if m.end() == position and not m.group("entity"):
            return m.start()
    return None


def _merge(spans: list[Span], text: str) -> list[Span]:
    """Overlapping spans, or ones separated only by whitespace or commas, become one."""
    merged: list[Span] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if end <= start:
            continue
        if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip(" \t,")):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
