"""Result types: ``to_dict`` gives plain JSON types (written out by hand below), the pairwise heatmap matrix
and the ICC forms by name."""

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from agreement.metrics.results import (
    Coefficient,
    IntraclassCorrelation,
    PairwiseKappa,
    RankBiasedOverlap,
    RaterPair,
    _Serialisable,
)


def coef(name, value, **extra):
    return Coefficient(name=name, value=value, status="ok" if value is not None else "insufficient_data",
                       n_items=3, n_ratings=6, n_items_total=4, extra=extra)


COEF_DEFAULTS = {"n_ratings_total": 0, "se": None, "ci_low": None, "ci_high": None, "ci_method": None,
                 "ci_level": None, "n_boot": 0, "seed": None, "warnings": []}


def test_to_dict_turns_numpy_and_non_finite_values_into_json_types():
    extra = {
        "float": 0.25, "nan": float("nan"), "inf": float("-inf"), "np_float": np.float64(0.5),
        "np_nan": np.float32("nan"), "np_int": np.int64(7), "np_bool": np.bool_(True), "np_str": np.str_("a"),
        "array": np.array([[1.5, np.nan], [np.inf, 2.0]]), "tuple": (1, None, "x", np.float64(np.nan)),
        "nested": {3: [np.int32(2), {"deep": np.float64(-np.inf)}]}, "none": None, "flag": False,
    }
    res = coef("c", np.float64(0.75), **extra).to_dict()
    assert res == {
        "name": "c", "value": 0.75, "status": "ok", "n_items": 3, "n_ratings": 6, "n_items_total": 4,
        **COEF_DEFAULTS,
        "extra": {
            "float": 0.25, "nan": None, "inf": None, "np_float": 0.5, "np_nan": None, "np_int": 7, "np_bool": True,
            "np_str": "a", "array": [[1.5, None], [None, 2.0]], "tuple": [1, None, "x", None],
            "nested": {"3": [2, {"deep": None}]}, "none": None, "flag": False,
        },
    }
    types = {k: type(v) for k, v in res["extra"].items() if v is not None}
    assert types == {"float": float, "np_float": float, "np_int": int, "np_bool": bool, "np_str": str, "array": list,
                     "tuple": list, "nested": dict, "flag": bool}
    assert type(res["value"]) is float
    json.dumps(res, allow_nan=False)


def test_to_dict_of_nested_results_of_several_types():
    pair = RaterPair(rater_a="a", rater_b=np.int64(2), kappa=coef("k", 0.5), percent_agreement=np.float64(np.nan))
    undefined = RaterPair(rater_a="a", rater_b="c", kappa=coef("k", None), percent_agreement=None)
    res = PairwiseKappa(raters=("a", np.int64(2), "c"), weights=None, pairs=(pair, undefined),
                        average=coef("avg", 0.5, n_pairs=2))
    kappa = {"name": "k", "value": 0.5, "status": "ok", "n_items": 3, "n_ratings": 6, "n_items_total": 4,
             **COEF_DEFAULTS, "extra": {}}
    assert res.to_dict() == {
        "raters": ["a", 2, "c"], "weights": None,
        "pairs": [
            {"rater_a": "a", "rater_b": 2, "kappa": kappa, "percent_agreement": None},
            {"rater_a": "a", "rater_b": "c", "kappa": {**kappa, "value": None, "status": "insufficient_data"},
             "percent_agreement": None},
        ],
        "average": {**kappa, "name": "avg", "extra": {"n_pairs": 2}},
    }
    # a second serialisation (field names now known per type) gives the same dictionary
    assert res.to_dict() == res.to_dict()
    rbo = RankBiasedOverlap(status="ok", value=np.float64(0.5), rbo_min=0.25, rbo_max=np.inf, rbo_res=None, p=0.9,
                            len_a=2, len_b=3, overlap=1, extra={"depth": np.arange(2)})
    assert rbo.to_dict() == {"status": "ok", "value": 0.5, "rbo_min": 0.25, "rbo_max": None, "rbo_res": None,
                             "p": 0.9, "len_a": 2, "len_b": 3, "overlap": 1, "extra": {"depth": [0, 1]}}


def test_to_dict_of_a_result_type_serialised_for_the_first_time():
    # a type defined here has never been serialised in this process, so its field names are read afresh
    @dataclass(frozen=True)
    class Probe(_Serialisable):
        label: Any
        inner: Any

    probe = Probe(label=np.str_("p"), inner=Probe(label=1, inner=(np.float64(np.nan),)))
    assert probe.to_dict() == {"label": "p", "inner": {"label": 1, "inner": [None]}}
    assert probe.to_dict() == {"label": "p", "inner": {"label": 1, "inner": [None]}}


def test_matrix_is_symmetric_with_ones_on_the_diagonal_and_none_where_undefined():
    pairs = (
        RaterPair("x", "y", coef("k", 0.4), 0.7),
        RaterPair("x", "z", coef("k", None), None),
        RaterPair("z", "y", coef("k", -0.2), 0.3),  # listed in the other order: still placed symmetrically
    )
    res = PairwiseKappa(raters=("x", "y", "z", "w"), weights=None, pairs=pairs, average=coef("avg", 0.1))
    assert res.matrix() == [
        [1.0, 0.4, None, None],
        [0.4, 1.0, -0.2, None],
        [None, -0.2, 1.0, None],
        [None, None, None, 1.0],
    ]
    empty = PairwiseKappa(raters=(), weights=None, pairs=(), average=coef("avg", None))
    assert empty.matrix() == []


def test_forms_are_keyed_by_their_shrout_fleiss_names():
    names = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")
    coefs = {field: coef(field, i / 10, form=name)
             for i, (field, name) in enumerate(zip(("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"), names,
                                                   strict=True))}
    res = IntraclassCorrelation(n_items=3, n_raters=2, n_items_total=3, n_items_dropped=0, n_raters_dropped=0,
                                mean_squares={}, **coefs)
    forms = res.forms()
    assert list(forms) == list(names)
    assert [c.value for c in forms.values()] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


def test_to_dict_keeps_other_types_met_for_the_first_time_as_they_are():
    # types defined here are new to the field-name cache: an instance that is not a dataclass and a dataclass's
    # class object (not an instance) are leaves
    class Label(str):
        pass

    @dataclass(frozen=True)
    class Probe:
        value: Any

    plain = coef("k", 0.5, label=Label("a"), kind=Probe).to_dict()
    assert plain["extra"] == {"label": "a", "kind": Probe} and type(plain["extra"]["label"]) is Label
