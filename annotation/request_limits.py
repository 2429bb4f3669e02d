"""Limits on what a clinician's client may send: refused with 400 before any parsing or processing.

A rating, a preference or a draft is a few levels deep and a few kilobytes; a body nested deeper than
MAX_DEPTH or larger than MAX_BODY_BYTES is not one, and parsing it could exhaust the parser's stack.
The depth is measured by one pass over the raw text (brackets outside strings), never by recursion.
"""
from __future__ import annotations

from config.exceptions import ApplicationError

MAX_DEPTH = 16
MAX_BODY_BYTES = 1_048_576

OPENERS = frozenset(b"[{")
CLOSERS = frozenset(b"]}")
QUOTE, BACKSLASH = ord('"'), ord("\\")


def json_depth_exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when the JSON text nests arrays/objects more than `limit` deep (an iterative scan)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # cannot nest deeper than it has brackets
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == BACKSLASH:
                escaped = True
            elif byte == QUOTE:
                in_string = False
        elif byte == QUOTE:
            in_string = True
        elif byte in OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in CLOSERS:
            depth -= 1
    return False


def json_body_check(raw: bytes) -> None:
    """Raise a 400 ApplicationError (the API's one error shape) for an oversized or too deeply nested body."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApplicationError(f"The request body is too large (at most {MAX_BODY_BYTES // 1024} KiB).",
                               extra={"max_bytes": MAX_BODY_BYTES})
    if json_depth_exceeds(raw):
        raise ApplicationError(f"The request body is nested too deeply (at most {MAX_DEPTH} levels).",
                               extra={"max_depth": MAX_DEPTH})
