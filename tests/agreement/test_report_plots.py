"""The report's charts: written as SVG directly, accessible, the same for the same report, inside their box,
and drawn from at most ORDER_POINTS aggregated points whatever the study's size."""
import math
import re

import pytest

from agreement.data import study_data_load
from agreement.reports import build_report
from agreement.reports.parameters import parameters_clean
from agreement.reports.plots import ORDER_POINTS, order_points, pair_rows, report_figures
from tests.agreement.test_reports_build import _random_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    study, *_ = _random_study()
    return build_report(study_data_load(study), parameters_clean({"n_boot": 20, "seed": 3}))


def _charts(figures):
    yield from ((name, figures[name]) for name in ("confidence", "forest", "reliability") if figures[name])
    for key, dim in figures["dimensions"].items():
        yield from ((f"{key}-{kind}", dim[kind]) for kind in ("heatmap", "rank", "order") if dim[kind])


def test_every_chart_is_an_image_named_by_its_caption_with_hidden_readable_text_inside_its_box(report):
    figures = report_figures(report)
    charts = dict(_charts(figures))
    assert {"confidence", "forest", "safety-heatmap", "safety-rank"} <= set(charts)
    for name, svg in charts.items():
        head = re.match(r'<svg role="img" aria-labelledby="(fig-[\w-]+)-caption" focusable="false" [^>]*'
                        r'width="(\d+)" height="(\d+)"', svg)
        assert head, name
        width, height = float(head[2]), float(head[3])
        texts = re.findall(r"<text [^>]*>", svg)
        assert texts and all('aria-hidden="true"' in t for t in texts), name
        assert min(float(size) for size in re.findall(r"font-size: (\d+)px", svg)) >= 11
        for axis, limit in (("x", width), ("y", height)):
            values = [float(v) for v in re.findall(rf' (?:{axis}|{axis}1|{axis}2|c{axis})="(-?[\d.]+)"', svg)]
            assert all(0 <= v <= limit for v in values), (name, axis)
    assert report_figures(report) == figures  # the same report, the same bytes


def test_order_points_merge_adjacent_blocks_into_at_most_the_plotted_number_with_their_ratings_mean():
    buckets = [{"first": 1 + 10 * j, "last": 10 + 10 * j, "n": 1 + j % 3, "mean": float(j % 5), "sd": None}
               for j in range(1000)] + [{"first": 10001, "last": 10010, "n": 0, "mean": None, "sd": None}]
    points = order_points({"order_effect": {"buckets": buckets}})
    assert len(points) <= ORDER_POINTS and points[0]["first"] == 1 and points[-1]["last"] == 10000
    assert sum(p["n"] for p in points) == sum(b["n"] for b in buckets)
    merged = buckets[:math.ceil(1000 / ORDER_POINTS)]  # the first plotted point: the first blocks, merged
    assert points[0]["mean"] == pytest.approx(sum(b["n"] * b["mean"] for b in merged) / sum(b["n"] for b in merged))
    few = order_points({"order_effect": {"buckets": buckets[:5]}})
    assert few == [{k: b[k] for k in ("first", "last", "n", "mean")} for b in buckets[:5]]


def test_pair_rows_carry_each_pairs_kappa_under_every_other_weighting(report):
    dim = report["dimensions"]["reasoning"]
    dim["pairwise_variants"]["linear"]["pairs"].reverse()  # matched by rater pair, not by position
    rows = pair_rows(dim)
    assert len(rows) == len(dim["agreement"]["pairwise"]["pairs"])
    for row in rows:
        for weights, kappa in zip(dim["pairwise_variants"], row["variants"], strict=True):
            (pair,) = [p for p in dim["pairwise_variants"][weights]["pairs"]
                       if (p["rater_a"], p["rater_b"]) == (row["rater_a"], row["rater_b"])]
            assert kappa == pair["kappa"]
