import itertools
import json

import numpy as np
import pytest
from django.db import connection
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score

from agreement import services
from agreement.data import study_data_load
from agreement.reports import build_report, render_html, report_json
from agreement.reports.parameters import parameters_clean
from studies.models import Response
from tests import factories
from tests.agreement.report_fixtures import prefer, rated_study

pytestmark = pytest.mark.django_db

SAFETY = ("not_compliant", "partially_compliant", "compliant")  # ordinal, low -> high
LEVELS = ("low", "medium", "high")
N_ITEMS, RATERS = 16, ("ann", "bob", "cy", "dee")


def _random_study():
    """4 clinicians, 16 responses (8 baseline, 8 ED physician over 8 cases), some unassigned/cannot-assess."""
    rng = np.random.default_rng(7)
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician", role="ED physician")
    cases = [factories.CaseFactory(safety=True, care_setting=("primary_care", "critical_care")[i % 2])
             for i in range(N_ITEMS // 2)]
    ratings = {}
    for name in RATERS:
        row = []
        for i in range(N_ITEMS):
            if rng.random() < 0.15:
                row.append(None)
                continue
            truth = i % 3
            safety = truth if rng.random() < 0.7 else int(rng.integers(0, 3))
            reasoning = None if rng.random() < 0.1 else str(int(np.clip(truth + 2 + rng.integers(-1, 2), 1, 5)))
            row.append({"safety": (SAFETY[safety], LEVELS[int(rng.integers(0, 3))]),
                        "reasoning": (reasoning, "low" if rng.random() < 0.8 else "high")})
        ratings[name] = row
    judge_values = [{"safety": {"value": SAFETY[i % 3], "confidence": "high"},
                     "reasoning": {"value": str(1 + i % 5), "confidence": "medium"}} for i in range(N_ITEMS)]
    return rated_study(
        ratings, personas=[base] * (N_ITEMS // 2) + [doc] * (N_ITEMS // 2), cases=cases + cases,
        judge_values=judge_values,
    )


@pytest.fixture
def built():
    study, responses, raters, judge = _random_study()
    data = study_data_load(study)
    report = build_report(data, parameters_clean({"n_boot": 50, "seed": 3}))
    return study, data, report


def _pairs(ratings):
    for a, b in itertools.combinations(range(ratings.shape[1]), 2):
        both = ~np.isnan(ratings[:, a]) & ~np.isnan(ratings[:, b])
        yield a, b, ratings[both, a], ratings[both, b]


def test_pairwise_kappa_and_its_average_equal_scikit_learn(built):
    _, data, report = built
    ratings = data.dimensions["safety"].ratings
    pairwise = report["dimensions"]["safety"]["agreement"]["pairwise"]
    by_pair = {(p["rater_a"], p["rater_b"]): p["kappa"] for p in pairwise["pairs"]}
    expected = []
    for a, b, x, y in _pairs(ratings):
        kappa = cohen_kappa_score(x, y, labels=[0, 1, 2], weights="quadratic")  # safety is ordinal
        got = by_pair[(RATERS[a], RATERS[b])]
        assert got["value"] == pytest.approx(kappa, abs=1e-12)
        assert got["n_items"] == len(x)
        expected.append(kappa)
    assert pairwise["average"]["value"] == pytest.approx(np.mean(expected), abs=1e-12)


def test_weighted_kappas_of_the_ordinal_dimension_equal_scikit_learn(built):
    _, data, report = built
    dim = report["dimensions"]["reasoning"]
    ratings = data.dimensions["reasoning"].ratings
    quadratic = {(p["rater_a"], p["rater_b"]): p["kappa"]["value"] for p in dim["agreement"]["pairwise"]["pairs"]}
    linear = {(p["rater_a"], p["rater_b"]): p["kappa"]["value"] for p in dim["pairwise_variants"]["linear"]["pairs"]}
    for a, b, x, y in _pairs(ratings):
        key = (RATERS[a], RATERS[b])
        assert quadratic[key] == pytest.approx(cohen_kappa_score(x, y, labels=range(5), weights="quadratic"),
                                               abs=1e-12)
        assert linear[key] == pytest.approx(cohen_kappa_score(x, y, labels=range(5), weights="linear"), abs=1e-12)


def test_judge_kappa_per_clinician_equals_scikit_learn(built):
    _, data, report = built
    dim = data.dimensions["safety"]
    (judge,) = report["dimensions"]["safety"]["judges"].values()
    for pair in judge["per_rater"]:
        r = RATERS.index(pair["rater_a"] if pair["rater_a"] in RATERS else pair["rater_b"])
        both = ~np.isnan(dim.ratings[:, r]) & ~np.isnan(dim.judge[:, 0])
        expected = cohen_kappa_score(dim.ratings[both, r], dim.judge[both, 0], labels=[0, 1, 2], weights="quadratic")
        assert pair["kappa"]["value"] == pytest.approx(expected, abs=1e-12)


def test_counts_state_cannot_assess_and_ratings_used_of_total(built):
    _, data, report = built
    counts = report["dimensions"]["reasoning"]["counts"]
    dim = data.dimensions["reasoning"]
    assert counts["cannot_assess"] == dim.n_cannot_assess > 0
    assert counts["ratings_total"] == dim.n_values
    assert counts["ratings_used"] == dim.n_values - dim.n_cannot_assess
    assert counts["cannot_assess_rule"].startswith("excluded")
    assert report["meta"]["inclusion_rules"]


def test_confidence_distribution_gives_the_share_per_level(built):
    _, data, report = built
    dist = report["dimensions"]["reasoning"]["confidence"]["distribution"]
    conf = data.dimensions["reasoning"].confidence[~np.isnan(data.dimensions["reasoning"].position)]
    assert dist["counts"]["low"] == int(np.count_nonzero(conf == 0))
    assert dist["proportions"]["low"] == pytest.approx(np.mean(conf == 0))
    restricted = report["dimensions"]["reasoning"]["confidence"]["restricted"]
    dim = data.dimensions["reasoning"]
    assert restricted["min_level"] == "medium"
    assert restricted["n_ratings"] == int(np.count_nonzero((dim.confidence >= 1) & ~np.isnan(dim.ratings)))


def test_breakdowns_cover_every_grouping_key_in_order(built):
    """Computed in two sections (by persona; by model and case), joined in the grouping keys' order."""
    _, _, report = built
    breakdowns = report["dimensions"]["safety"]["breakdowns"]
    assert list(breakdowns) == ["persona", "persona_kind", "role", "style", "model", "task_type", "care_setting"]
    assert set(breakdowns["persona"]) == {"No persona", "ED physician"}
    assert set(breakdowns["care_setting"]) == {"primary_care", "critical_care"}


def test_persona_effect_is_the_mean_per_case_difference_from_the_baseline(built):
    _, data, report = built
    dim = data.dimensions["reasoning"]
    scores = np.nanmean(dim.ratings + 1, axis=1)
    items = data.items
    diffs = []
    for case in np.unique(items.case_id):
        base = scores[(items.case_id == case) & items.is_baseline]
        doc = scores[(items.case_id == case) & ~items.is_baseline]
        if not np.isnan(base).all() and not np.isnan(doc).all():
            diffs.append(np.nanmean(doc) - np.nanmean(base))
    (row,) = [r for r in report["persona_effects"]["rows"]
              if r["measure"] == "Clinicians: Reasoning quality" and r["stratum"] == "all"]
    assert row["persona"] == "ED physician" and row["n_cases"] == len(diffs)
    assert row["difference"] == pytest.approx(np.mean(diffs))
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]


def test_rankings_compare_clinicians_and_judge_per_task_type_and_care_setting(built):
    _, _, report = built
    rankings = report["dimensions"]["safety"]["rankings"]
    assert rankings["available"] and set(rankings["overall"]["conditions"]) == {"No persona", "ED physician"}
    assert set(rankings["by_care_setting"]) == {"primary_care", "critical_care"}
    assert set(rankings["by_task_type"]) == {"patient_safety"}


def test_json_is_strict_and_html_is_self_contained_with_the_plots(built):
    _, _, report = built
    assert json.loads(report_json(report)) == json.loads(json.dumps(report, allow_nan=False))
    html = render_html(report)
    assert html.count("<svg") >= 4
    for caption in ("pairwise Cohen", "Confidence levels per dimension", "clinicians vs judge",
                    "Persona effects vs the no-persona baseline"):
        assert caption in html, caption
    assert report["meta"]["data_snapshot_sha256"] in html and report["meta"]["methods"][:40] in html
    assert "<script" not in html and 'src="http' not in html and "href=\"http" not in html


def test_the_same_data_and_seed_give_the_same_report(built):
    _, data, report = built
    again = build_report(data, parameters_clean({"n_boot": 50, "seed": 3}))
    report["meta"].pop("generated_at")
    again["meta"].pop("generated_at")
    assert again == report


def test_sections_computed_in_forked_processes_give_the_same_report_in_the_same_order(built):
    _, data, report = built
    steps = []
    forked = build_report(data, parameters_clean({"n_boot": 50, "seed": 3}), lambda f, m: steps.append(m), processes=3)
    for r in (report, forked):
        r["meta"].pop("generated_at")
    assert json.dumps(forked) == json.dumps(report)  # key order included: the page's tables follow it
    assert steps and all(isinstance(m, str) for m in steps)


def test_the_panels_item_resamples_are_drawn_once_per_report_whatever_the_processes(built, monkeypatch, tmp_path):
    """Every dimension's panel resamples the same items with the same seed: one section computes them all, so
    the draws are made once, not once in each process computing a dimension. Here, as at a million ratings,
    only the panels resample the whole matrix (the thresholds and Conger's kappa keep analytic intervals)."""
    from agreement.metrics import _bootstrap
    from agreement.reports import builder

    _, data, _ = built
    log, draw = tmp_path / "draws", _bootstrap._draw_chunks

    def logged(n_items, n_boot, seed, **kwargs):
        with open(log, "a") as fh:  # O_APPEND: one line per draw, whichever process
            fh.write(f"{n_items}\n")
        yield from draw(n_items, n_boot, seed, **kwargs)

    monkeypatch.setattr(builder, "RESAMPLED_CELLS_MAX", 0)
    monkeypatch.setattr(_bootstrap, "_draw_chunks", logged)
    items = {int(np.count_nonzero((~np.isnan(dim.ratings)).any(axis=1))) for dim in data.dimensions.values()}
    assert len(data.dimensions) == 2 and len(items) == 1  # the two panels resample the same items
    build_report(data, parameters_clean({"n_boot": 50, "seed": 3}), processes=3)
    assert log.read_text().split().count(str(items.pop())) == 1


@pytest.mark.parametrize("fmt", ["json", "html", "csv"])
def test_the_stored_summary_holds_the_figures_of_the_file(fmt):
    """The summary is stored from the JSON text of the figures (the JSON file's own text): read back from the
    database it equals the figures the build returned and, for a JSON report, the file."""
    from agreement.models import Report

    study, *_ = _random_study()
    report = services.report_generate(study=study, format=fmt, parameters={"n_boot": 20})
    assert report.status == "done", report.error
    stored = Report.objects.get(pk=report.pk).summary
    assert stored == report.summary and stored["meta"]["data_snapshot_sha256"]
    if fmt == "json":
        with report.file.open("rb") as fh:
            assert json.load(fh) == stored


def test_triage_answers_give_accuracy_calibration_and_triage_direction():
    cases = [factories.CaseFactory(reference_answer=r, care_setting=s)
             for r, s in (("2", "critical_care"), ("3", "primary_care"), ("1", "critical_care"))]
    study, responses, *_ = rated_study({"ann": [None, None, None]}, cases=cases)
    for response, (label, conf) in zip(responses, [("2", 0.9), ("4", 0.6), ("2", 0.7)], strict=True):
        Response.objects.filter(pk=response.pk).update(parsed_label=label, parsed_confidence=conf,
                                                       parse_status="parsed")
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20}))
    overall = report["evaluation"]["overall"]
    assert report["evaluation"]["scale"]["levels"] == ["1", "2", "3", "4", "5"]  # declared ESI, not observed
    assert overall["accuracy"]["value"] == pytest.approx(1 / 3)
    assert overall["triage_rates"]["under_triage"]["value"] == pytest.approx(2 / 3)
    assert overall["risk_sensitivity"]["value"] == 0.0
    assert set(report["evaluation"]["by_care_setting"]) == {"critical_care", "primary_care"}


def test_preferences_give_a_bradley_terry_ranking():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician")
    nurse = factories.PersonaFactory(name="ED nurse")
    case = factories.CaseFactory(safety=True)
    study, responses, raters, _ = rated_study({"ann": [None, None, None]}, personas=[base, doc, nurse],
                                              cases=[case] * 3)
    for position, (a, b, choice) in enumerate([(0, 1, "b"), (0, 2, "b"), (1, 2, "a"), (0, 1, "tie"),
                                               (1, 2, "b"), (0, 2, "a")], start=1):
        prefer(study, factories.clinician(), responses[a], responses[b], choice, position=position)
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20}))
    bt = report["preferences"]["sources"]["clinician"]
    assert report["preferences"]["available"] and bt["n_comparisons"] == 6
    assert {r["name"] for r in bt["ratings"]} == {"No persona", "ED physician", "ED nurse"}


def test_an_empty_study_builds_a_report_that_says_why_figures_are_missing():
    study = factories.StudyFactory()
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 10}))
    kappa = report["dimensions"]["safety"]["agreement"]["pairwise"]["average"]
    assert kappa["value"] is None and kappa["status"] == "insufficient_data"
    assert not report["persona_effects"]["available"] and not report["evaluation"]["available"]
    assert "Overview" in render_html(report)
    json.dumps(report, allow_nan=False)


def test_the_study_page_shows_tables_and_plots_of_the_latest_report(client, django_capture_on_commit_callbacks):
    study, *_ = _random_study()
    client.force_login(factories.study_member(study, factories.researcher(), role="researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("agreement:report_build", args=[study.pk]),
                    {"format": "html", "n_boot": 20, "seed": 1, "min_confidence": "medium",
                     "cannot_assess": "exclude", "consensus": "majority"})
    page = client.get(reverse("agreement:study_report", args=[study.pk])).content.decode()
    assert page.count("<svg") >= 4 and "Average pairwise Cohen" in page and "Methods paragraph" in page
    report = services.Report.objects.get()
    view = client.get(reverse("agreement:report_view", args=[report.pk]))
    assert view.status_code == 200 and "default-src 'none'" in view["Content-Security-Policy"]
    assert b"<svg" in b"".join(view.streaming_content)


def test_names_from_the_data_are_escaped_in_the_html_and_its_plots():
    base = factories.PersonaFactory(baseline=True)
    evil = factories.PersonaFactory(name="<script>alert(1)</script> $x^2$", role="<b>r</b>")
    case = factories.CaseFactory(safety=True)
    study, *_ = rated_study(
        {"<img src=x onerror=alert(1)>": [{"safety": ("compliant", "high")}, {"safety": ("not_compliant", "low")}],
         "bob": [{"safety": ("compliant", "high")}, {"safety": ("compliant", "low")}]},
        personas=[base, evil], cases=[case, case],
        judge_values=[{"safety": {"value": "compliant"}}, {"safety": {"value": "not_compliant"}}],
    )
    html = render_html(build_report(study_data_load(study), parameters_clean({"n_boot": 10})))
    assert "<svg" in html
    assert "<script" not in html and "<img" not in html and "<b>r</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html



@pytest.mark.skipif(connection.vendor != "postgresql", reason="column compression is PostgreSQL's")
def test_the_migration_compresses_stored_figures_with_lz4_where_the_server_has_it():
    """Run as the migration runs (the test database is built without migrations), inside the test's transaction."""
    import importlib
    from types import SimpleNamespace

    migration = importlib.import_module("agreement.migrations.0004_report_summary_lz4")
    editor = SimpleNamespace(connection=connection)

    def compression():
        with connection.cursor() as cursor:
            cursor.execute("SELECT attcompression FROM pg_attribute WHERE attrelid = 'agreement_report'::regclass "
                           "AND attname = 'summary'")
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        has_lz4 = cursor.fetchone()[0]
    migration._compress("lz4")(None, editor)
    assert compression() == ("l" if has_lz4 else "")
    migration._compress("pglz")(None, editor)  # the way back
    assert compression() == "p"


def test_software_versions_are_read_once_and_handed_out_as_copies(monkeypatch):
    from importlib import metadata

    from agreement.reports import methods

    methods._installed_versions.cache_clear()
    first = methods.software_versions()
    assert first["krippendorff"] == metadata.version("krippendorff") and first["python"]
    first["krippendorff"] = "changed by a caller"
    monkeypatch.setattr(metadata, "version", lambda name: pytest.fail("package metadata read again"))
    assert methods.software_versions()["krippendorff"] == metadata.distribution("krippendorff").version


def test_a_report_that_held_a_nan_would_fail_the_tests_that_build_it(monkeypatch):
    """The writer writes a non-finite number as null; the agreement tests' own check (conftest) raises."""
    from agreement.reports.builder import ReportBuilder

    assert report_json({"value": float("nan")}) == b'{"value":null}'
    # A stand-in for the real build, wrapped by the check exactly as the real one is.
    from tests.agreement import conftest

    monkeypatch.setattr(ReportBuilder, "build", lambda self, processes=1: {"value": float("nan")})
    conftest._reports_hold_only_finite_numbers.__wrapped__(monkeypatch)
    with pytest.raises(ValueError, match="not JSON compliant"):
        ReportBuilder.build(None)
