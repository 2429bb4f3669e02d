"""Maker: normalised case dicts to content hashes and (unsaved) Case rows."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from ..models import Case, CaseSet

_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def case_hash(case: dict) -> str:
    """sha256 of the normalised case, external id included: the same id with other content differs."""
    return hashlib.sha256(_CANONICAL.encode(case).encode()).hexdigest()


def case_set_hash(case_hashes: Iterable[str]) -> str:
    """Order-free: the same cases in another order (or another file format) give the same set hash."""
    return hashlib.sha256("\n".join(sorted(case_hashes)).encode()).hexdigest()


def make_cases(case_set: CaseSet, cases: Iterable[dict]) -> list[Case]:
    return [Case(case_set=case_set, **case) for case in cases]
