"""Text as a reader sees it, for matching, with a map back to the stored text.

Markup is stripped (HTML tags, entities, Markdown emphasis), every character is folded to its
NFKC compatibility form without accents, format characters (zero-width spaces, soft hyphens,
direction marks: Unicode category Cf) are dropped, and letters that look like Latin ones
(Cyrillic and Greek homoglyphs) become Latin. "<b>Аs an E\u200bD physician</b>" reads
"As an ED physician". Each character of the result remembers the stored characters it came from,
so spans found in the normalised text point into the original.
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters drawn like Latin ones (a small, explicit table; NFKC does not fold them).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Һ": "H", "Ӏ": "I",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "‘": "'", "’": "'", "ʼ": "'", "´": "'", "′": "'", "`": "'", "“": '"', "”": '"', "„": '"', "″": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "\u2028": "\n", "\u2029": "\n",
})
_BLOCK_TAGS = {
    "p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table",
    "blockquote", "hr", "pre", "section", "article",
}
# A tag, an entity, or a run of emphasis markers that opens (before a non-space) or closes (after one);
# "* item" bullets and snake_case underscores are left alone.
MARKUP = re.compile(
    r"(?P<tag></?(?P<name>[A-Za-z][A-Za-z0-9]*)\b[^<>]*>)"
    r"|(?P<entity>&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)"
    r"|(?P<emph>(?<![\w*_~`])[*_~`]+(?=[^\s*_~`])|(?<=[^\s*_~`])[*_~`]+(?![\w*_~`]))"
)

_ASCII_RUN = re.compile(r"[\x00-\x7f]+")


@dataclass(frozen=True)
class Normalised:
    text: str
    starts: tuple[int, ...]  # for each character of `text`, where its source begins in the original
    ends: tuple[int, ...]  # ... and where it ends

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


@functools.lru_cache(maxsize=4096)
def fold_char(ch: str, zero_width_as_space: bool = False) -> str:
    category = unicodedata.category(ch)
    if category == "Cf":
        return " " if zero_width_as_space and ch != "\u00ad" else ""
    if category == "Zs":
        return " "
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return folded.translate(_CONFUSABLES)


def normalise(text: str, *, zero_width_as_space: bool = False) -> Normalised:
    """The readable text of `text`; with `zero_width_as_space`, invisible characters separate words."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(piece: str, start: int, end: int) -> None:
        for c in piece:
            chars.append(c)
            starts.append(start)
            ends.append(end)

    def plain(start: int, end: int) -> None:
        """text[start:end], which holds no markup: ASCII runs in one step (each ASCII character folds to
        one character, its _CONFUSABLES entry or itself), other characters one by one."""
        i = start
        while i < end:
            run = _ASCII_RUN.match(text, i, end)
            if run:
                chars.append(run.group().translate(_CONFUSABLES))
                starts.extend(range(i, run.end()))
                ends.extend(range(i + 1, run.end() + 1))
                i = run.end()
            else:
                emit(fold_char(text[i], zero_width_as_space), i, i + 1)
                i += 1

    cursor = 0
    for m in MARKUP.finditer(text):
        plain(cursor, m.start())
        cursor = m.end()
        if m.group("entity"):
            emit("".join(fold_char(c) for c in html.unescape(m.group())), m.start(), m.end())
        elif m.group("tag") and m.group("name").lower() in _BLOCK_TAGS:
            emit("\n", m.start(), m.end())
    plain(cursor, len(text))
    return Normalised("".join(chars), tuple(starts), tuple(ends))


def has_format_characters(text: str) -> bool:
    return not text.isascii() and any(unicodedata.category(c) == "Cf" for c in text)


def readable(text: str) -> str:
    return normalise(text).text


def markup_is_balanced(fragment: str) -> bool:
    return not unmatched_markup(fragment)


def unmatched_markup(fragment: str) -> str:
    """The tags and emphasis runs of `fragment` that open or close something outside it, in order."""
    stack: list[tuple[str, str]] = []  # (key, token)
    loose: list[str] = []
    for m in MARKUP.finditer(fragment):
        token = m.group()
        if m.group("entity") or (m.group("tag") and (token.endswith("/>") or m.group("name").lower() in
                                                       {"br", "hr", "img"})):
            continue
        if m.group("tag"):
            key, closing = m.group("name").lower(), token.startswith("</")
        else:
            key, closing = token, bool(stack and stack[-1][0] == token)
        if closing and stack and stack[-1][0] == key:
            stack.pop()
        elif closing:
            loose.append(token)
        else:
            stack.append((key, token))
    return "".join(loose + [token for _, token in stack])
