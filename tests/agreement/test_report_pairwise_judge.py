"""The pairwise judge's report block: counts checked by hand, intervals and tests against statsmodels and scipy."""
import math
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

from agreement import metrics
from agreement.data import study_data_load
from agreement.reports import build_report, render_html
from agreement.reports.parameters import parameters_clean
from inference.models import PairwiseVerdict
from tests import factories

pytestmark = pytest.mark.django_db

# (persona, persona's response created first, choice shown a first, choice shown b first), canonical terms;
# None: the judge's answer in that order was unparseable. One case per pair.
PAIRS = [
    ("P", False, "a", "b"),  # 1-3: the first-shown answer both times: inconsistent
    ("P", False, "a", "b"),
    ("P", False, "a", "b"),
    ("P", False, "a", "a"),  # 4: the baseline (a) wins in both orders
    ("P", False, "b", "b"),  # 5: P (b) wins
    ("P", False, "tie", "tie"),  # 6: a consistent tie
    ("P", False, "a", "tie"),  # 7: inconsistent
    ("P", False, "b", "a"),  # 8: the second-shown answer both times: inconsistent
    ("P", False, None, "a"),  # 9: one order unparseable: not judged
    ("P", True, "a", "a"),  # 10: P's response has the lower id, so P is a and wins
    ("Q", False, "b", "b"),  # 11: Q (b) wins
    ("Q", False, "a", "a"),  # 12: the baseline wins
]


def wilson(k, n, level=0.95):
    return list(proportion_confint(k, n, alpha=1 - level, method="wilson"))


@pytest.fixture
def judged():
    judge = factories.ModelSpecFactory(judge=True, name="J")
    study = factories.StudyFactory(judge=judge)
    model = factories.ModelSpecFactory()
    baseline = factories.PersonaFactory(baseline=True)
    personas = {name: factories.PersonaFactory(name=name) for name in ("P", "Q")}
    for persona, persona_first, ab, ba in PAIRS:
        case = factories.CaseFactory()
        order = [personas[persona], baseline] if persona_first else [baseline, personas[persona]]
        a, b = (factories.ResponseFactory(study=study, case=case, persona=p, model=model) for p in order)
        for shown, choice in (("ab", ab), ("ba", ba)):
            PairwiseVerdict.objects.create(judge=judge, response_a=a, response_b=b, order=shown, choice=choice,
                                           parse_ok=choice is not None)
    return study, judge


def test_position_bias_consistency_and_win_shares_match_a_hand_count(judged):
    study, _ = judged
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 200}))
    j = report["pairwise_judge"]["judges"]["J"]

    # 24 verdicts; 1 unparseable; 3 ties (pair 6 twice, pair 7 once): 20 chose a side, 12 of them the
    # first-shown answer (pairs 1-3 twice, 4, 5, 7, 10, 11, 12 once).
    assert (j["verdicts"], j["verdicts_unparseable"], j["verdicts_tie"]) == (24, 1, 3)
    bias = j["position_bias"]
    assert (bias["n_items"], bias["n_items_total"], j["first_position_choices"]) == (20, 23, 12)
    assert bias["value"] == pytest.approx(12 / 20) and bias["ci_method"] == "wilson"
    assert [bias["ci_low"], bias["ci_high"]] == pytest.approx(wilson(12, 20))
    # Exact two-sided p: P(X >= 12) + P(X <= 8) for X ~ Bin(20, 1/2), the distribution being symmetric.
    by_hand = Fraction(2 * sum(comb(20, k) for k in range(12, 21)), 2**20)
    assert by_hand == Fraction(527900, 1048576)
    assert bias["extra"]["p_value"] == pytest.approx(float(by_hand), rel=1e-12)
    assert bias["extra"]["p_value"] == pytest.approx(binomtest(12, 20, 0.5).pvalue, rel=1e-12)

    # 12 pairs, 11 valid in both orders; 5 inconsistent (1, 2, 3, 7, 8); 6 consistent, 1 a tie (6).
    assert (j["pairs"], j["pairs_judged"], j["pairs_inconsistent"], j["pairs_tie"]) == (12, 11, 5, 1)
    consistency = j["order_consistency"]
    assert (consistency["value"], consistency["n_items"], consistency["n_items_total"]) == (6 / 11, 11, 12)
    assert [consistency["ci_low"], consistency["ci_high"]] == pytest.approx(wilson(6, 11))
    assert "p_value" not in consistency["extra"]

    # P against the baseline: lost 4, won 5 and 10, tied 6. Q: won 11, lost 12.
    p, q = j["vs_baseline"]["P"], j["vs_baseline"]["Q"]
    assert {k: p["extra"][k] for k in ("wins", "losses", "ties")} == {"wins": 2, "losses": 1, "ties": 1}
    assert (p["value"], p["n_items"], p["n_items_total"]) == (2 / 3, 3, 4)
    assert [p["ci_low"], p["ci_high"]] == pytest.approx(wilson(2, 3))
    assert p["extra"]["p_value"] == pytest.approx(binomtest(2, 3).pvalue) == pytest.approx(1.0)
    assert (q["value"], q["extra"]["wins"], q["extra"]["losses"]) == (0.5, 1, 1)
    assert set(j["vs_baseline"]) == {"P", "Q"}

    # Bradley-Terry on the 6 consistent verdicts: P scored 2.5 of 4 against the baseline, Q 1 of 2, so the
    # MLE's score equations give theta_P - theta_baseline = ln(2.5 / 1.5) and theta_Q = theta_baseline.
    bt = j["bradley_terry"]
    assert (bt["status"], bt["n_comparisons"], bt["n_ties"]) == ("ok", 6, 1)
    theta = {r["name"]: r["theta"] for r in bt["ratings"]}
    assert theta["P"] - theta["No persona"] == pytest.approx(math.log(2.5 / 1.5), abs=1e-8)
    assert theta["Q"] == pytest.approx(theta["No persona"], abs=1e-8)

    html = render_html(report)
    assert "Pairwise judge and position bias" in html and "p = 0.5034" in html
    assert "Wilson score interval" in report["meta"]["methods"] and "first position share" in report["meta"]["methods"]


def test_a_study_without_verdicts_says_so_and_keeps_its_hash(judged):
    study, _ = judged
    data = study_data_load(study)
    PairwiseVerdict.objects.all().delete()
    bare = study_data_load(study)
    assert bare.snapshot_hash != data.snapshot_hash  # a new verdict changes the data a cached report rests on
    report = build_report(bare, parameters_clean({"n_boot": 0}))
    assert report["pairwise_judge"] == {"available": False, "reason": "no pairwise judge verdicts for this study"}
    bare.pairwise = None
    from agreement.data import snapshot_hash

    assert snapshot_hash(bare) == bare.snapshot_hash
    assert "no pairwise judge verdicts" in render_html(report)


def test_judges_are_reported_apart(judged):
    study, judge = judged
    other = factories.ModelSpecFactory(judge=True, name="K")
    for verdict in PairwiseVerdict.objects.filter(judge=judge)[:4]:  # pairs 1 and 2: both orders
        PairwiseVerdict.objects.create(judge=other, response_a=verdict.response_a, response_b=verdict.response_b,
                                       order=verdict.order, choice="tie", parse_ok=True)
    judges = build_report(study_data_load(study), parameters_clean({"n_boot": 0}))["pairwise_judge"]["judges"]
    assert list(judges) == ["J", "K"] and judges["J"]["verdicts"] == 24
    k = judges["K"]
    assert (k["verdicts"], k["verdicts_tie"], k["pairs"], k["pairs_tie"]) == (4, 4, 2, 2)
    assert k["position_bias"]["status"] == "insufficient_data" and "p_value" not in k["position_bias"]["extra"]
    assert k["order_consistency"]["value"] == 1.0 and k["vs_baseline"]["P"]["n_items"] == 0


# --- metrics.proportion -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, n", [(0, 5), (3, 10), (10, 10), (37, 50), (1, 1)])
def test_proportion_matches_statsmodels_wilson_and_scipy_binomtest(k, n):
    hits = np.array([True] * k + [False] * (n - k))
    result = metrics.proportion(hits, name="share", null=0.5, confidence=0.9)
    assert (result.value, result.n_items, result.ci_method, result.ci_level) == (k / n, n, "wilson", 0.9)
    assert [result.ci_low, result.ci_high] == pytest.approx(wilson(k, n, 0.9))
    assert result.extra == {"successes": k, "null": 0.5, "p_value": pytest.approx(binomtest(k, n, 0.5).pvalue)}


def test_proportion_against_another_null_and_without_one():
    hits = np.array([True] * 3 + [False] * 17)
    # Brute force: the summed probability of every count no more likely than the 3 observed, X ~ Bin(20, 0.3).
    pmf = [comb(20, x) * 0.3**x * 0.7 ** (20 - x) for x in range(21)]
    tail = sum(p for p in pmf if p <= pmf[3] * (1 + 1e-7))
    assert tail == pytest.approx(sum(pmf[:4]) + sum(pmf[9:]))  # counts 0-3 and 9-20
    assert metrics.proportion(hits, null=0.3).extra["p_value"] == pytest.approx(tail, rel=1e-9)
    assert metrics.proportion(hits).extra == {"successes": 3}
    empty = metrics.proportion(np.array([], dtype=bool), null=0.5, n_total=4)
    assert (empty.status, empty.value, empty.n_items_total, empty.extra) == ("insufficient_data", None, 4,
                                                                             {"reason": "empty"})
