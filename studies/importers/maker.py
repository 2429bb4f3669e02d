"""Maker: normalised case dicts to content hashes and stored Case rows."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from operator import itemgetter

from ..models import Case, CaseSet
from .copy import copy_insert

_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def case_hash(case: dict) -> str:
    """sha256 of the normalised case, external id included: the same id with other content differs."""
    return hashlib.sha256(_CANONICAL.encode(case).encode()).hexdigest()


def case_set_hash(case_hashes: Iterable[str]) -> str:
    """Order-free: the same cases in another order (or another file format) give the same set hash."""
    return hashlib.sha256("\n".join(sorted(case_hashes)).encode()).hexdigest()


CASE_FIELDS = ("external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata",
               "content_hash")


def insert_cases(case_set: CaseSet, cases: Iterable[dict]) -> int:
    """Store normalised cases (each with its content_hash) in `case_set`; returns how many."""
    return copy_insert(Case, CASE_FIELDS, map(itemgetter(*CASE_FIELDS), cases), constants={"case_set_id": case_set.pk})
