"""Formatting of the metrics' result dicts: a figure is never shown without its n and its status."""
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATUS_TEXT = {
    "undefined_no_variation": "undefined: no variation (one category or all tied)",
    "insufficient_data": "not computable",
    "not_identifiable": "not identifiable",
}
REASON_TEXT = {
    "empty": "no ratings",
    "single_rater": "fewer than two raters",
    "no_pairable_item": "no item rated twice",
    "no_overlap": "no shared items",
}


@register.filter
def num(value, digits=3):
    if value is None or value == "":
        return "n/a"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def pct(value):
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"


@register.filter
def coef(c):
    """0.431 [0.302, 0.548] or the reason it is missing."""
    if not c:
        return "n/a"
    if c.get("status") != "ok" or c.get("value") is None:
        reason = REASON_TEXT.get((c.get("extra") or {}).get("reason"), "")
        text = STATUS_TEXT.get(c.get("status"), c.get("status") or "n/a")
        return format_html("<span class=\"muted\">{}{}</span>", text, f" ({reason})" if reason else "")
    used = _used(c)
    if c.get("ci_low") is not None and c.get("ci_high") is not None:
        return format_html("<span title=\"{}\">{} <span class=\"ci\">[{}, {}]</span></span>", used,
                           num(c["value"]), num(c["ci_low"]), num(c["ci_high"]))
    return format_html("<span title=\"{}\">{}</span>", used, num(c["value"]))


def _used(c) -> str:
    text = f"{c.get('n_items', 0)}/{c.get('n_items_total', 0)} items"
    if c.get("n_ratings_total"):
        text += f", {c.get('n_ratings', 0)}/{c.get('n_ratings_total')} ratings"
    return text


@register.filter
def coef_n(c):
    """Items and ratings used of the total, the warnings beside them."""
    if not c:
        return ""
    warnings = ", ".join(w.replace("_", " ") for w in c.get("warnings") or ())
    if warnings:
        return format_html("{} <span class=\"warn\">{}</span>", _used(c), warnings)
    return _used(c)


@register.filter
def words(value):
    return str(value).replace("_", " ")


@register.filter
def get(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def svg(markup):
    """Matplotlib output: text escaped by matplotlib, drawn from our own report dict."""
    return mark_safe(markup) if markup else ""
