"""Formatting of the metrics' result dicts: a figure is never shown without its n and its status."""
import html

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATUS_TEXT = {
    "undefined_no_variation": "undefined: no variation (one category or all tied)",
    "insufficient_data": "not computable",
    "not_identifiable": "not identifiable",
}
STATUS_TEXT["invalid_for_scale"] = "not valid for this scale"
REASON_TEXT = {
    "empty": "no ratings",
    "single_rater": "fewer than two raters",
    "no_pairable_item": "no item rated twice",
    "no_overlap": "no shared items",
    "too_few_conditions": "fewer than two personas scored by both sides",
    "too_few_items": "too few complete items",
    "consensus_needs_ordered_scale": "a median or mean needs an ordered scale",
    "tie_rule_needs_ordered_scale": "this tie rule needs an ordered scale",
}
# Every interval is shown with the method that computed it.
CI_METHOD_TEXT = {
    "bootstrap_percentile": "item bootstrap",
    "jackknife_normal": "jackknife",
    "wald": "Wald",
    "wilson": "Wilson",
    "t": "t",
    "f": "F",
    "f_satterthwaite": "F, Satterthwaite",
    "case_cluster_bootstrap_percentile": "case bootstrap",
    "case_cluster_bootstrap_bias_shifted": "case bootstrap, bias-shifted",
    "two_way_bootstrap_percentile": "items x raters bootstrap",
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
        raw = (c.get("extra") or {}).get("reason") or c.get("reason")
        reason = REASON_TEXT.get(raw, raw or "")
        text = STATUS_TEXT.get(c.get("status"), c.get("status") or "n/a")
        return format_html("<span class=\"muted\">{}{}</span>", text, f" ({reason})" if reason else "")
    # A report shows thousands of these: the text is escaped here (as format_html would) and the numbers, which
    # `num` formats as digits, are not (format_html took a third of a 10,000-rating report's HTML).
    used = html.escape(_used(c))
    if c.get("ci_low") is not None and c.get("ci_high") is not None:
        method = html.escape(CI_METHOD_TEXT.get(c.get("ci_method"), c.get("ci_method") or ""))
        return mark_safe(f'<span title="{used}">{num(c["value"])} <span class="ci">[{num(c["ci_low"])}, '  # noqa: S308
                         f'{num(c["ci_high"])}] <small>{method}</small></span></span>')
    return mark_safe(f'<span title="{used}">{num(c["value"])}</span>')  # noqa: S308


def _used(c) -> str:
    text = f"{c.get('n_items', 0)}/{c.get('n_items_total', 0)} items"
    if c.get("n_ratings_total"):
        text += f", {c.get('n_ratings', 0)}/{c.get('n_ratings_total')} ratings"
    return text


@register.simple_tag
def pair_table_rows(rows):
    """The rows of the every-rater-pair table (``plots.pair_rows``): the markup of a template loop over them,
    built in one step (190 pairs x 3 coefficients a dimension at 20 clinicians: the loop took a quarter of a
    10,000-rating report's HTML). Text is escaped as the template escapes it (``conditional_escape``)."""
    out = []
    for pair in rows:
        kappa = pair["kappa"] or {}
        variants = "".join(f"<td>{coef(k)}</td>" for k in pair["variants"])
        out.append(f"<tr><td>{conditional_escape(pair['rater_a'])}</td><td>{conditional_escape(pair['rater_b'])}</td>"
                   f"<td>{coef(pair['kappa'])}</td><td>{conditional_escape(kappa.get('n_items', ''))}</td>"
                   f"<td>{pct(pair['percent_agreement'])}</td>\n    {variants}</tr>")
    return mark_safe("".join(out))  # noqa: S308 (every text above escaped; coef returns safe markup)


@register.simple_tag
def effect_table_rows(rows):
    """The rows of the persona effects' every-measure-and-stratum table: the markup of a template loop over them,
    built in one step (240 rows at 10,000 ratings: the loop took a quarter of that report's template time)."""
    text = conditional_escape
    out = []
    for r in rows:
        stratum = r["stratum"]
        subset = ("all cases" if stratum == "all" else f"model: {text(r['value'])}" if stratum == "model"
                  else f"{text(words(stratum))}: {text(words(r['value']))}")
        out.append(f"<tr><td>{text(r['measure'])}</td><td>{text(r['persona'])}</td><td>{subset}</td>"
                   f"<td>{text(r['n_cases'])}</td>\n      <td>{coef(r['effect'])}</td><td>{num(r['p_value'], 3)}</td>"
                   f"<td>{num(r['p_adjusted'], 3)}</td><td><small>{text(r['family'])}</small></td></tr>")
    return mark_safe("".join(out))  # noqa: S308 (every text above escaped; coef returns safe markup)


EVALUATION_CELLS = (("accuracy",), ("accuracy_within_one",), ("calibration", "ece"), ("calibration", "brier"),
                    ("consistency",), ("triage_rates", "under_triage"), ("triage_rates", "over_triage"),
                    ("risk_sensitivity",), ("risk_propensity",))


@register.simple_tag
def evaluation_row(name, block):
    """One row of the metric-based evaluation table: a subset's answers and its figures (the markup of the row
    template it replaced: an include per row took a quarter of a 10,000-rating report's template time)."""
    def figure(path):
        value = block
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return coef(value)

    def count(key):
        return conditional_escape(block.get(key, "") if isinstance(block, dict) else "")

    cells = [f"<td>{figure(path)}</td>" for path in EVALUATION_CELLS]
    return mark_safe(  # noqa: S308 (the name escaped as the template escapes it; coef returns safe markup)
        f'<tr><th scope="row">{conditional_escape(name)}</th><td>{count("n_answers")} ({count("n_parsed")})</td>'
        f"{cells[0]}{cells[1]}\n{cells[2]}{cells[3]}{cells[4]}\n{''.join(cells[5:])}</tr>\n")


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
def ci_text(method):
    """The interval method's short name, e.g. "jackknife"."""
    return CI_METHOD_TEXT.get(method, method or "no interval")


@register.filter
def level_name(value, names):
    """A stored level key shown by its schema label: `value|level_name:dim` with dim's labels/label_names."""
    labels, label_names = names.get("labels") or [], names.get("label_names") or []
    return label_names[labels.index(value)] if value in labels else str(value).replace("_", " ")


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
    """A chart of agreement.reports.plots: drawn from our own report dict, its text escaped there."""
    return mark_safe(markup) if markup else ""
