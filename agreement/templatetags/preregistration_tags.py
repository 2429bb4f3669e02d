"""Planned and actual values of a pre-registration, as short text (they may be numbers, lists or objects)."""
import json

from django import template

register = template.Library()


@register.filter
def plain(value) -> str:
    """None as a dash, text as it is, anything else as compact JSON (autoescaped by the template)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)
