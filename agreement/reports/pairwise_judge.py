"""The pairwise judge: order consistency, position bias and persona win rates, per judge.

Every pair was shown to the judge in both orders (inference.pairwise). Per judge:

- order consistency: the share of pairs, with a valid choice in both orders, whose two choices agree
  (a tie in one order and a side in the other disagree); only such pairs give a verdict;
- position bias: the share of first-shown answers among the valid verdicts that chose a side (a tie
  names no position and is counted apart), with its Wilson interval and the exact two-sided binomial
  test against 0.5, the share of a judge without position bias (Zheng et al. 2023, sections 3.3-3.4, who
  also count the verdicts that flip with the order);
- persona vs baseline: per persona, the share of its consistent, decided pairs against the
  baseline's response that it won (Wilson interval, binomial test against 0.5), ties counted apart;
- a Bradley-Terry rating of the personas from every consistent verdict (a tie is half a win).
"""
from __future__ import annotations

import numpy as np

from agreement import metrics
from agreement.data_pairwise import UNPARSEABLE, PairwiseVerdicts
from inference.pairwise import INCONSISTENT, chose_first, pair_verdict

SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5}
RULE = ("Each pair was judged in both orders; a verdict counts only when both orders agree. Position bias is "
        "the share of first-shown answers among the verdicts that chose a side (0.5 = none).")


def pairwise_judge_section(builder) -> dict:
    pw: PairwiseVerdicts | None = builder.data.pairwise
    if pw is None or len(pw) == 0:
        return {"available": False, "reason": "no pairwise judge verdicts for this study"}
    return {"available": True, "rule": RULE,
            "judges": {name: _judge_block(builder, pw, pw.judge == name) for name in sorted(set(pw.judge.tolist()))}}


def _pairs(pw: PairwiseVerdicts, mask: np.ndarray) -> dict[tuple[int, int], dict[str, str]]:
    """{(item a, item b): {order: choice}} for one judge; unparseable choices are None."""
    pairs: dict[tuple[int, int], dict[str, str]] = {}
    for a, b, order, choice in zip(pw.item_a[mask], pw.item_b[mask], pw.order[mask], pw.choice[mask], strict=True):
        pairs.setdefault((int(a), int(b)), {})[order] = choice if choice != UNPARSEABLE else None
    return pairs


def _judge_block(builder, pw: PairwiseVerdicts, mask: np.ndarray) -> dict:
    level = builder.p["ci_level"]
    order, choice = pw.order[mask], pw.choice[mask]
    parsed = choice != UNPARSEABLE
    first = np.array([chose_first(o, c) for o, c in zip(order, choice, strict=True)], dtype=object)
    sided = np.array([f is not None for f in first], dtype=bool)
    pairs = _pairs(pw, mask)
    verdicts = {pair: pair_verdict(orders.get("ab"), orders.get("ba")) for pair, orders in pairs.items()}
    judged = [v for v in verdicts.values() if v is not None]
    consistent = {pair: v for pair, v in verdicts.items() if v not in (None, INCONSISTENT)}
    return {
        "verdicts": int(mask.sum()), "verdicts_unparseable": int(np.count_nonzero(~parsed)),
        "verdicts_tie": int(np.count_nonzero(choice == "tie")),
        "first_position_choices": int(np.count_nonzero(first[sided].astype(bool))),
        "pairs": len(pairs), "pairs_judged": len(judged), "pairs_inconsistent": judged.count(INCONSISTENT),
        "pairs_tie": judged.count("tie"),
        "order_consistency": metrics.proportion(
            np.array([v != INCONSISTENT for v in judged], dtype=bool), name="order_consistency",
            n_total=len(pairs), confidence=level).to_dict(),
        "position_bias": metrics.proportion(
            first[sided].astype(bool), name="first_position_share", n_total=int(parsed.sum()), confidence=level,
            null=0.5).to_dict(),
        "vs_baseline": _vs_baseline(builder, consistent),
        "bradley_terry": _bradley_terry(builder, consistent),
    }


def _vs_baseline(builder, consistent: dict) -> dict:
    """{persona: share of its decided consistent pairs against the baseline that it won}."""
    items = builder.data.items
    outcomes: dict[str, list[str]] = {}
    for (a, b), verdict in consistent.items():
        if items.is_baseline[a] == items.is_baseline[b]:
            continue
        persona_side = "b" if items.is_baseline[a] else "a"
        persona = items.persona[b if persona_side == "b" else a]
        outcomes.setdefault(persona, []).append("tie" if verdict == "tie" else
                                                "won" if verdict == persona_side else "lost")
    out = {}
    for persona in sorted(outcomes):
        results = np.array(outcomes[persona], dtype=object)
        decided = results[results != "tie"]
        share = metrics.proportion(decided == "won", name="win_share_vs_baseline", n_total=results.size,
                                   confidence=builder.p["ci_level"], null=0.5).to_dict()
        share["extra"].update(wins=int(np.count_nonzero(results == "won")),
                              losses=int(np.count_nonzero(results == "lost")),
                              ties=int(np.count_nonzero(results == "tie")))
        out[persona] = share
    return out


def _bradley_terry(builder, consistent: dict) -> dict:
    persona = builder.data.items.persona
    pairs = list(consistent)
    return metrics.bradley_terry(
        [persona[a] for a, _ in pairs], [persona[b] for _, b in pairs], [SCORE[consistent[p]] for p in pairs],
        ties="half", **builder.boot,
    ).to_dict()
