"""Phrases by which a response reveals its persona ("As an emergency physician, I would...").

Blinding breaks when the text itself says who is speaking, so generation flags these spans and the
study shows, hides or redacts the response. Detection reads the text as a rater would see it
(markup stripped, Unicode folded, invisible characters dropped: see `normalise`), and spans point
into the stored text. Redaction (`redact`) removes a detachable opening phrase ("As an ED
physician, ") or else the whole sentence, and tidies what is left.

Pure functions over plain text; `persona` is anything with a `role` string (or None).
"""
from .detect import Span, detect_persona_leak
from .normalise import normalise, readable
from .redact import redact

__all__ = ["Span", "detect_persona_leak", "normalise", "readable", "redact"]
