"""Maker: normalised case dicts to content hashes and stored Case rows."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter

from ..models import Case, CaseSet
from .copy import copy_insert, copy_rows

_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_KEYS = ("care_setting", "external_id", "metadata", "question", "reference_answer", "task_type", "vignette")
_KEY_SET = frozenset(_KEYS)
# A normalised case as _CANONICAL writes it (keys sorted), filled in field by field in case_hashes; _string is
# what _CANONICAL writes a str with (ensure_ascii=False).
_CANONICAL_CASE = "{" + ",".join(f'"{key}":%s' for key in _KEYS) + "}"
_string = json.encoder.encode_basestring


def case_hash(case: dict) -> str:
    """sha256 of the normalised case, external id included: the same id with other content differs."""
    return hashlib.sha256(_CANONICAL.encode(case).encode()).hexdigest()


def case_hashes(cases: list[dict]) -> list[str]:
    """case_hash of each case, for many cases at a fraction of the cost: the text fields are written with the
    string writer _CANONICAL itself uses, and a metadata object that several cases share (identical CSV cells)
    once."""
    written = {}  # id(metadata) -> its JSON; the cases keep every one alive meanwhile
    return [hashlib.sha256(_canonical(case, written).encode()).hexdigest() for case in cases]


def _canonical(case: dict, written: dict) -> str:
    if case.keys() != _KEY_SET:
        return _CANONICAL.encode(case)
    metadata = case["metadata"]
    if id(metadata) not in written:
        written[id(metadata)] = _CANONICAL.encode(metadata)
    try:
        return _CANONICAL_CASE % (
            _string(case["care_setting"]), _string(case["external_id"]), written[id(metadata)],
            _string(case["question"]), _string(case["reference_answer"]), _string(case["task_type"]),
            _string(case["vignette"]),
        )
    except TypeError:  # a value that is not text
        return _CANONICAL.encode(case)


def case_set_hash(case_hashes: Iterable[str]) -> str:
    """Order-free: the same cases in another order (or another file format) give the same set hash."""
    return hashlib.sha256("\n".join(sorted(case_hashes)).encode()).hexdigest()


CASE_FIELDS = ("external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata",
               "content_hash")
_case_values = itemgetter(*CASE_FIELDS)


def insert_cases(case_set: CaseSet, cases: Iterable[dict]) -> int:
    """Store normalised cases (each with its content_hash) in `case_set`; returns how many."""
    return copy_insert(Case, CASE_FIELDS, map(_case_values, cases), constants={"case_set_id": case_set.pk})


@contextmanager
def case_writer(case_set: CaseSet) -> Iterator[Callable[[Iterable[dict]], int]]:
    """insert_cases a batch at a time into an open COPY (PostgreSQL only): yields write(cases) -> how many."""
    with copy_rows(Case, CASE_FIELDS, constants={"case_set_id": case_set.pk}) as write:
        yield lambda cases: write(map(_case_values, cases))
