"""The pairwise judge's verdicts as arrays: one entry per verdict (judge, pair, order), one query.

A pair is two responses of the study in canonical order (`item_a` < `item_b` as rows of `Items`, the
lower response id first); `order` says which was shown first and `choice` is in canonical terms.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.models import PairwiseVerdict
from studies.models import Study

UNPARSEABLE = ""  # the choice of a verdict the judge's answer gave none


@dataclass
class PairwiseVerdicts:
    judge: np.ndarray  # judge name
    item_a: np.ndarray  # row in Items of the pair's lower-id response
    item_b: np.ndarray
    order: np.ndarray  # "ab": a shown first; "ba": b shown first
    choice: np.ndarray  # "a", "b", "tie", or UNPARSEABLE

    def __len__(self) -> int:
        return len(self.choice)

    def columns(self) -> tuple[np.ndarray, ...]:
        return self.judge, self.item_a, self.item_b, self.order, self.choice


def pairwise_load(study: Study, items) -> PairwiseVerdicts:
    """Every pairwise verdict on the study's responses; `items` maps response ids to rows."""
    rows = list(
        PairwiseVerdict.objects.filter(response_a__study=study).order_by("judge__name", "response_a_id",
                                                                         "response_b_id", "order")
        .values_list("judge__name", "response_a_id", "response_b_id", "order", "choice")
    )
    return PairwiseVerdicts(
        judge=np.array([r[0] for r in rows], dtype=object),
        item_a=np.searchsorted(items.response_id, np.array([r[1] for r in rows], dtype=np.int64)),
        item_b=np.searchsorted(items.response_id, np.array([r[2] for r in rows], dtype=np.int64)),
        order=np.array([r[3] for r in rows], dtype=object),
        choice=np.array([r[4] or UNPARSEABLE for r in rows], dtype=object),
    )
