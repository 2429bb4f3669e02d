"""The report's coefficient cells: escaped as format_html escapes, whatever a result dict holds."""
import pytest
from django.utils.html import format_html

from agreement.templatetags.agreement_tags import coef

CELL = "<span title=\"{}\">{} <span class=\"ci\">[{}, {}] <small>{}</small></span></span>"


@pytest.mark.parametrize("c", [
    {"status": "ok", "value": 0.4312, "ci_low": -0.1, "ci_high": 0.9, "ci_method": "jackknife_normal",
     "n_items": 30, "n_items_total": 40, "n_ratings": 60, "n_ratings_total": 90},
    {"status": "ok", "value": 0.5, "ci_low": 0.1, "ci_high": 0.9, "ci_method": "<script>\"x\"&'",
     "n_items": "<b>", "n_items_total": 4},
])
def test_a_figure_with_its_interval_is_the_format_html_cell(c):
    used = f"{c['n_items']}/{c['n_items_total']} items" + (
        f", {c['n_ratings']}/{c['n_ratings_total']} ratings" if c.get("n_ratings_total") else "")
    method = {"jackknife_normal": "jackknife"}.get(c["ci_method"], c["ci_method"])
    expected = format_html(CELL, used, f"{c['value']:.3f}", f"{c['ci_low']:.3f}", f"{c['ci_high']:.3f}", method)
    assert str(coef(c)) == str(expected)
    assert "<script>" not in str(coef(c)) and "<b>" not in str(coef(c))


def test_a_figure_without_an_interval_and_a_missing_one():
    assert str(coef({"status": "ok", "value": 1, "n_items": 2, "n_items_total": "<i>"})) == \
        '<span title="2/&lt;i&gt; items">1.000</span>'
    assert coef(None) == coef({}) == "n/a"
    assert "&lt;i&gt;" in str(coef({"status": "insufficient_data", "value": None, "reason": "<i>"}))


LOOP = ("{% load agreement_tags %}{% for pair in rows %}<tr><td>{{ pair.rater_a }}</td><td>{{ pair.rater_b }}</td>"
        "<td>{{ pair.kappa|coef }}</td><td>{{ pair.kappa.n_items }}</td><td>{{ pair.percent_agreement|pct }}</td>\n"
        "    {% for kappa in pair.variants %}<td>{{ kappa|coef }}</td>{% endfor %}</tr>{% endfor %}")


def test_the_pair_rows_are_the_markup_of_the_template_loop_they_replace():
    from django.template import engines

    from agreement.templatetags.agreement_tags import pair_table_rows

    ok = {"status": "ok", "value": 0.5, "ci_low": 0.1, "ci_high": 0.9, "ci_method": "bootstrap_percentile",
          "n_items": 12, "n_items_total": 40, "n_ratings": 24, "n_ratings_total": 90}
    rows = [
        {"rater_a": "dr.<b>a</b>", "rater_b": "o'neil & \"b\"", "kappa": ok, "percent_agreement": 0.75,
         "variants": [ok, {"status": "undefined_no_variation", "value": None, "n_items": 3}]},
        {"rater_a": 7, "rater_b": "c", "kappa": {"status": "insufficient_data", "value": None, "reason": "no_overlap",
                                                "n_items": 0}, "percent_agreement": None, "variants": [None, ok]},
    ]
    loop = engines["django"].from_string(LOOP).render({"rows": rows})
    assert str(pair_table_rows(rows)) == loop
    assert "<b>" not in loop and "&lt;b&gt;" in loop and "o&#x27;neil &amp; &quot;b&quot;" in loop
    assert pair_table_rows([]) == ""


EFFECT_LOOP = (
    '{% load agreement_tags %}{% for r in rows %}<tr><td>{{ r.measure }}</td><td>{{ r.persona }}</td><td>'
    '{% if r.stratum == "all" %}all cases{% elif r.stratum == "model" %}model: {{ r.value }}{% else %}'
    '{{ r.stratum|words }}: {{ r.value|words }}{% endif %}</td><td>{{ r.n_cases }}</td>\n      <td>'
    '{{ r.effect|coef }}</td><td>{{ r.p_value|num:3 }}</td><td>{{ r.p_adjusted|num:3 }}</td><td><small>'
    '{{ r.family }}</small></td></tr>{% endfor %}')


def test_the_effect_rows_are_the_markup_of_the_template_loop_they_replace():
    from django.template import engines

    from agreement.templatetags.agreement_tags import effect_table_rows

    ok = {"status": "ok", "value": -0.25, "ci_low": -0.5, "ci_high": 0.01,
          "ci_method": "case_cluster_bootstrap_percentile", "n_items": 30, "n_items_total": 30, "n_ratings": 60,
          "n_ratings_total": 60}
    rows = [
        {"measure": "Clinicians: <b>Safety</b>", "persona": "o'neil & \"co\"", "stratum": "all", "value": "all cases",
         "n_cases": 30, "effect": ok, "p_value": 0.0123, "p_adjusted": None, "family": "x; all cases; 3 tests"},
        {"measure": "m", "persona": "p", "stratum": "model", "value": "<i>gpt</i>", "n_cases": 12,
         "effect": {"status": "insufficient_data", "value": None, "reason": "empty"}, "p_value": None,
         "p_adjusted": 1.0, "family": "<f>"},
        {"measure": "m", "persona": "p", "stratum": "care_setting", "value": "primary_care", "n_cases": 7, "effect": ok,
         "p_value": 0.5, "p_adjusted": 0.75, "family": "f"},
        {"measure": "m", "persona": "p", "stratum": "metadata:x_y", "value": None, "n_cases": 0, "effect": None,
         "p_value": 1, "p_adjusted": 1, "family": "f"},
    ]
    loop = engines["django"].from_string(EFFECT_LOOP).render({"rows": rows})
    assert str(effect_table_rows(rows)) == loop
    assert "<b>" not in loop and "<i>" not in loop and "primary care" in loop and "metadata:x y: None" in loop


EVALUATION_INCLUDE = (  # the row template the tag replaced
    '{% load agreement_tags %}<tr><th scope="row">{{ name }}</th><td>{{ b.n_answers }} ({{ b.n_parsed }})</td>'
    '<td>{{ b.accuracy|coef }}</td><td>{{ b.accuracy_within_one|coef }}</td>\n<td>{{ b.calibration.ece|coef }}</td>'
    '<td>{{ b.calibration.brier|coef }}</td><td>{{ b.consistency|coef }}</td>\n<td>'
    '{{ b.triage_rates.under_triage|coef }}</td><td>{{ b.triage_rates.over_triage|coef }}</td><td>'
    '{{ b.risk_sensitivity|coef }}</td><td>'
    '{{ b.risk_propensity|coef }}</td></tr>\n')


@pytest.mark.parametrize("name", ["All", "<b>x</b> / o'neil", 7])
def test_an_evaluation_row_is_the_markup_of_the_row_template_it_replaced(name):
    from django.template import engines

    from agreement.templatetags.agreement_tags import evaluation_row

    ok = {"status": "ok", "value": 0.5, "ci_low": 0.2, "ci_high": 0.8, "ci_method": "wilson", "n_items": 4,
          "n_items_total": 5}
    full = {"n_answers": 5, "n_parsed": 4, "accuracy": ok, "accuracy_within_one": ok,
            "calibration": {"ece": ok, "brier": {"status": "insufficient_data", "value": None, "reason": "empty"}},
            "consistency": ok, "triage_rates": {"under_triage": ok, "over_triage": ok}, "risk_sensitivity": None,
            "risk_propensity": ok}
    template = engines["django"].from_string(EVALUATION_INCLUDE)
    for block in (full, {"n_answers": None}, {}):
        assert str(evaluation_row(name, block)) == template.render({"name": name, "b": block})
    assert "<b>" not in str(evaluation_row(name, full))
