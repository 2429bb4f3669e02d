"""Removing persona self-reference so that what is left reads as if it had never been there.

An opening phrase that can be lifted off its sentence ("As an ED physician, I would..." ->
"I would...") is removed alone; any other revealing phrase takes its whole sentence with it
("ED physician here. Call 911." -> "Call 911."). What remains is tidied: no leading punctuation,
doubled spaces, empty list items or empty emphasis, and a capital where a sentence now begins.
"""
from __future__ import annotations

import re

from .detect import Span, _merge
from .normalise import readable, unmatched_markup

_CUT = "\ue000"  # marks where text was removed, until the tidy-up
# A sentence ends at . ! or ? (with closing quotes, brackets or emphasis) followed by spaces, or at a line end.
_SENTENCE_END = re.compile(
    r"[.!?]+[\"')\]*_~`]*(?:</(?:strong|em|b|i|u|s|span|a|code)>)*(?:[ \t]+|(?=<))"
    r"|(?P<line>\n|</?(?:p|li|div|br|h[1-6]|tr|td|th|blockquote|ul|ol|table|pre)\b[^<>]*>)",
    re.IGNORECASE,
)
_ABBREVIATIONS = {"e.g", "i.e", "eg", "ie", "vs", "dr", "mr", "mrs", "ms", "st", "approx", "no", "fig", "cf", "etc"}
_LINE_PREFIX = re.compile(r"[ \t]*(?:(?:[-*+]|\d+[.)]|#{1,6}|>)[ \t]+)*")
# Opening phrases that can be lifted off their sentence: "As a nurse, ", "In my experience, ", "Nurse here, ".
_LEAD_IN = re.compile(
    r"^(?:as|being|speaking|writing|answering|talking|replying|responding|working|having|after|with|over|in|"
    r"from|during|through|based|at|on|given|coming|wearing|taking|trust|take)\b[^.!?;\n]*?(?:[,:]\s*|\s*)$"
    r"|^[\w&'./ -]{1,60}\bhere\s*[,:-]+\s*$",
    re.IGNORECASE,
)
_FIRST_WORD = re.compile(r"\s*(?:I|I'(?:m|d|ll|ve)|we|we'(?:re|d|ve|ll)|my|our)\b", re.IGNORECASE)
_DISCLAIMER = re.compile(r"^I(?:'m|\s+am)\s+not\b", re.IGNORECASE)
_ASIDE = re.compile(r"^\s*,\s*as\b[^.!?;\n]*,$", re.IGNORECASE)
_CONJUNCTION = re.compile(r"(?:and|but|so)\b[ \t]*", re.IGNORECASE)
_BUT = re.compile(r"[ \t]*,[ \t]*(?:(?:but|so|however|though)\b[ \t]*,?[ \t]*)?", re.IGNORECASE)


def redact(text: str, spans: list[Span] | list[list[int]], placeholder: str = "") -> str:
    """`text` without the sentences (or detachable opening phrases) that hold the spans.

    Nothing is marked by default: a visible "[redacted]" would itself tell raters that a persona
    was there. With no spans the text comes back unchanged; with any, it always changes.
    """
    spans = _merge([(s[0], s[1]) for s in spans], text)
    if not spans:
        return text
    sentences = _sentences(text)
    cuts = _merge([_lead_in_cut(text, s, e, sentences) or _sentence_cut(s, e, sentences) for s, e in spans], text)
    if placeholder:
        return _join(text, cuts, lambda cut: placeholder)
    return _tidy(_join(text, cuts, lambda cut: unmatched_markup(cut) + _CUT))


def _join(text: str, cuts: list[Span], replacement) -> str:
    out, cursor = [], 0
    for start, end in cuts:
        out += [text[cursor:start], replacement(text[start:end])]
        cursor = end
    return "".join([*out, text[cursor:]])


def _sentences(text: str) -> list[Span]:
    """[start, end) of each sentence, its trailing spaces included, its line prefix ("- ", "1. ") not."""
    found, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if not m.group("line") and _is_abbreviation(text, m.start(), m.end()):
            continue
        found.append((start, m.start() if m.group("line") else m.end()))
        start = m.end()
    found.append((start, len(text)))
    return [(s + _LINE_PREFIX.match(text, s).end() - s if _at_line_start(text, s) else s, e) for s, e in found]


def _at_line_start(text: str, position: int) -> bool:
    return position == 0 or text[position - 1] == "\n"


def _is_abbreviation(text: str, stop: int, after: int) -> bool:
    word = re.search(r"([\w.]*)$", text[:stop]).group(1).lower()
    line = text[text.rfind("\n", 0, stop) + 1:stop]
    following = text[after:after + 1]
    return (word in _ABBREVIATIONS or len(word) == 1 and word.isalpha() or line.strip().isdigit()
            or following.islower())


def _containing(sentences: list[Span], position: int) -> Span:
    for start, end in sentences:
        if position < end:
            return start, end
    return sentences[-1]


def _sentence_cut(start: int, end: int, sentences: list[Span]) -> Span:
    first, last = _containing(sentences, start), _containing(sentences, max(start, end - 1))
    return min(first[0], start), max(last[1], end)


def _lead_in_cut(text: str, start: int, end: int, sentences: list[Span]) -> Span | None:
    """The span alone, when it opens its sentence (or follows "Honestly, ") and the rest stands alone."""
    s_start, s_end = _containing(sentences, start)
    before, phrase = readable(text[s_start:start]).strip(), readable(text[start:end])
    if _ASIDE.match(phrase) and end <= s_end:
        return start, end  # "I, as a nurse, would..." -> "I would..."
    if end > s_end or (before and not before.endswith(",")):
        return None
    if _DISCLAIMER.match(phrase) and (but := _BUT.match(text, end)) and but.end() > end:
        end = but.end()  # "I'm not a doctor, but this is serious." -> "This is serious."
    elif not (end := _opening_phrase_end(text, start, end, phrase)):
        return None
    if not before and (conjunction := _CONJUNCTION.match(text, end)):
        end = conjunction.end()  # "Nurse here, and I would..." -> "I would..."
    rest = readable(text[end:s_end])
    return (start, end) if len(re.findall(r"\w+", rest)) >= 2 else None


def _opening_phrase_end(text: str, start: int, end: int, phrase: str) -> int:
    """Where an opening phrase ("As a nurse, ") ends, a subject it ran into ("..., I") left out; 0 if none."""
    if (pronoun := re.search(r",\s*(?:I|we)\s*$", phrase)) and "," in text[start:end]:
        phrase = phrase[:pronoun.start() + 1]
        end = start + text[start:end].rindex(",") + 1
        end += len(text[end:]) - len(text[end:].lstrip(" \t"))
    if not _LEAD_IN.match(phrase):
        return 0
    if not re.search(r"[,:\-]\s*$", phrase) and not _FIRST_WORD.match(text, end):
        return 0
    return end


_EMPTY_PAIR = re.compile(
    rf"(\*\*\*|\*\*|\*|___|__|_|~~|`)[ \t]*{_CUT}[ \t]*\1|<([a-z][a-z0-9]*)\b[^<>]*>\s*{_CUT}\s*</\2>", re.IGNORECASE,
)
_EMPTY_LINE = re.compile(rf"^[ \t]*(?:(?:[-*+]|\d+[.)]|#{{1,6}}|>)[ \t]*)*(?:{_CUT}[ \t]*)+(?:\n|$)", re.MULTILINE)


def _tidy(out: str) -> str:
    while (tidier := _EMPTY_PAIR.sub(_CUT, out)) != out:
        out = tidier
    out = re.sub(rf"{_CUT}[ \t]*(?:[,;:]+|[.!?]+(?=\s|$))", _CUT, out)  # no ". Call 911."
    out = _EMPTY_LINE.sub("", out)
    out = re.sub(rf"[ \t]*(?:{_CUT}[ \t]*)+((?:[*_~`]+|<[a-z][^<>]*>)*)(\w?)", _space, out, flags=re.IGNORECASE)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


def _space(m: re.Match) -> str:
    """The removed text's place: one space between words on a line, a capital where a sentence starts."""
    before, markup, letter = m.string[:m.start()].rstrip(" \t"), m.group(1), m.group(2)
    after = m.string[m.end(2) - len(letter):]
    line = before[before.rfind("\n") + 1:]
    opening = not before or before[-1] in ".!?:\n" or _LINE_PREFIX.fullmatch(line + " ") is not None
    if opening:
        letter = letter.upper()
    if not before or before[-1] in "\n*_~`>" or _LINE_PREFIX.fullmatch(line) or not (markup + after) or (
            (markup + after)[0] in "\n,.;:!?)"):
        return markup + letter
    return " " + markup + letter
