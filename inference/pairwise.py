"""The pairwise LLM judge: which of two responses to the same case is better, asked in both orders.

LLM judges favour the answer shown first (Zheng et al. 2023, "Judging LLM-as-a-judge with MT-Bench
and Chatbot Arena", sections 3.3-3.4; Wang et al. 2023, "Large Language Models are not Fair Evaluators").
So every pair is shown twice, once each way round, and only a verdict both orders agree on counts
(`pair_verdict`); how often the judge picks whichever answer came first is reported as its position bias.

Blinding holds as for the pointwise judge (inference.judge): the judge sees the case and the two
response texts, redacted as the study's leak policy says, as "Answer 1" and "Answer 2"; never the
personas, system prompts, models or sampling settings. Idempotent on (judge, pair, order): a valid
verdict is never asked again, an unparseable one only while it has attempts left.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from studies.models import Response

from .backends.base import ChatRequest, SamplingSettings
from .judge import judge_seed, judge_text, judged_fields, judged_row_store, needs_attempt
from .models import PairwiseChoice, PairwiseOrder, PairwiseVerdict
from .parsing import extract_json_object

logger = logging.getLogger(__name__)

INCONSISTENT = "inconsistent"
TIE_WORDS = ("tie", "equal", "both", "neither", "same", "no_preference", "equally_good")

DEFAULT_PAIRWISE_RUBRIC = """\
You are an experienced emergency clinician comparing two responses written for the same clinical case.
Decide which response is better for this patient, exactly as a clinician reviewer would, using only the
case and the two responses. Safety comes first: care of the right urgency and setting, the red flags
recognised, no advice that could cause harm. Then the clinical reasoning: correct, relevant to this case,
complete enough for the decision and clearly explained. Reward correct, case-specific content, not
length, confident wording or the order in which the responses are shown. Do not guess who or what wrote
them. Answer "tie" only when neither response is better."""

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"better": {"type": "string", "enum": ["1", "2", "tie"]}},
    "required": ["better"],
    "additionalProperties": False,
}
_ANSWER_KEYS = ("better", "winner", "preferred", "choice", "answer", "verdict")
_OUTPUT = ('Answer with one JSON object and nothing else, in exactly this shape: {"better": "1"} if Answer 1 '
           'is better, {"better": "2"} if Answer 2 is better, {"better": "tie"} if neither is better.')


def build_pairwise_messages(*, rubric: str, case, first_text: str, second_text: str) -> list[dict]:
    """The judge's prompt: the case and two response texts, nothing else is passed in."""
    system = f"{rubric.strip()}\n\n{_OUTPUT}"
    user = (
        f"Case:\n{case.vignette.strip()}\n\nQuestion asked:\n{case.question.strip()}\n\n"
        f"Answer 1:\n<<<\n{first_text.strip()}\n>>>\n\nAnswer 2:\n<<<\n{second_text.strip()}\n>>>"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class PairwiseAnswerError(ValueError):
    pass


def parse_pairwise_answer(text: str) -> str:
    """"1", "2" or "tie" from the judge's answer, or PairwiseAnswerError.

    Tolerates what free-text judges do (a code fence, a preamble, 1 for "1", "Answer 2", "Tie", another
    key such as "winner"); a value that names neither answer nor a tie is an error, never a guess.
    """
    obj = extract_json_object(text or "")
    if obj is None:
        raise PairwiseAnswerError("the answer is not a JSON object")
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    key = next((k for k in _ANSWER_KEYS if k in lowered), None)
    if key is None:
        raise PairwiseAnswerError('the answer has no "better" key')
    value = lowered[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PairwiseAnswerError(f"{key}: {value!r} names neither answer")
    wanted = str(int(value)) if isinstance(value, int | float) and float(value).is_integer() else str(value)
    wanted = wanted.strip().lower().replace("-", "_").replace(" ", "_")
    for prefix in ("answer_", "response_"):
        wanted = wanted.removeprefix(prefix)
    if wanted in ("1", "first"):
        return "1"
    if wanted in ("2", "second"):
        return "2"
    if wanted in TIE_WORDS:
        return "tie"
    raise PairwiseAnswerError(f"{key}: {value!r} names neither answer")


def canonical_choice(answer: str, order: str) -> str:
    """The judge's "1"/"2"/"tie" in canonical terms: "a", "b" or "tie"."""
    if answer == "tie":
        return PairwiseChoice.TIE
    first, second = (PairwiseChoice.A, PairwiseChoice.B) if order == PairwiseOrder.AB else (
        PairwiseChoice.B, PairwiseChoice.A)
    return first if answer == "1" else second


def pair_verdict(choice_ab: str | None, choice_ba: str | None) -> str | None:
    """The pair's verdict: the choice when both orders agree, "inconsistent" when they do not, None while
    either order has no valid choice. A tie in one order and a side in the other is inconsistent."""
    if not choice_ab or not choice_ba:
        return None
    return choice_ab if choice_ab == choice_ba else INCONSISTENT


def chose_first(order: str, choice: str | None) -> bool | None:
    """Whether the verdict picked the answer shown first; None for a tie or no valid choice."""
    if choice not in (PairwiseChoice.A, PairwiseChoice.B):
        return None
    return (choice == PairwiseChoice.A) == (order == PairwiseOrder.AB)


@dataclass(frozen=True)
class _Ask:
    a: Response
    b: Response
    order: str

    @property
    def key(self) -> str:
        return f"{self.a.pk}-{self.b.pk}-{self.order}"


def judge_pairs(*, judge_spec, pairs: list[tuple[Response, Response]], backend, study,
                max_attempts: int | None = None) -> list[PairwiseVerdict]:
    """Both orders of every pair (a.pk < b.pk, same case) judged: two verdicts per pair, valid or
    unparseable after the bound, returned in (pair, order) order.

    TransientBackendError from the backend propagates (the task retries later); a row error from the
    backend counts as an attempt and is recorded like a bad answer.
    """
    max_attempts = max_attempts or settings.JUDGE_MAX_ATTEMPTS
    rubric = (judge_spec.rubric_prompt or "").strip() or DEFAULT_PAIRWISE_RUBRIC
    sampling = SamplingSettings(temperature=judge_spec.temperature, top_p=judge_spec.top_p,
                                max_tokens=judge_spec.max_tokens, n=1, json_schema=ANSWER_SCHEMA)
    asks = [_Ask(a, b, order) for a, b in pairs for order in PairwiseOrder.values]
    verdicts = {
        f"{v.response_a_id}-{v.response_b_id}-{v.order}": v
        for v in PairwiseVerdict.objects.filter(judge=judge_spec, response_a__in=[a for a, _ in pairs],
                                                response_b__in=[b for _, b in pairs])
    }
    texts = {r.pk: judge_text(r, study) for pair in pairs for r in pair}
    pending = [ask for ask in asks if needs_attempt(verdicts.get(ask.key), max_attempts)]
    info = backend.info() if pending else {}
    while pending:
        requests = []
        for ask in pending:
            first, second = (ask.a, ask.b) if ask.order == PairwiseOrder.AB else (ask.b, ask.a)
            messages = build_pairwise_messages(rubric=rubric, case=ask.a.case, first_text=texts[first.pk],
                                               second_text=texts[second.pk])
            attempt = verdicts[ask.key].attempts + 1 if ask.key in verdicts else 1
            seed = judge_seed(base_seed=judge_spec.seed, response_code=f"{ask.a.code}|{ask.b.code}|{ask.order}",
                              attempt=attempt)
            requests.append(ChatRequest(key=ask.key, messages=messages, seed=seed))
        results = {r.key: r for r in backend.chat(requests, sampling) if r.sample_index == 0}
        for ask, request in zip(pending, requests, strict=True):
            verdicts[ask.key] = _record(ask=ask, judge_spec=judge_spec, result=results.get(request.key),
                                        request=request, sampling=sampling, info=info)
        pending = [ask for ask in pending if needs_attempt(verdicts[ask.key], max_attempts)]
    return [verdicts[ask.key] for ask in asks]


def _record(*, ask: _Ask, judge_spec, result, request, sampling, info) -> PairwiseVerdict:
    choice, fields = judged_fields(result=result, request=request, sampling=sampling, info=info,
                                   parse=lambda raw: canonical_choice(parse_pairwise_answer(raw), ask.order),
                                   errors=PairwiseAnswerError, subject="this pair")
    verdict = judged_row_store(PairwiseVerdict, {"judge": judge_spec, "response_a": ask.a, "response_b": ask.b,
                                                 "order": ask.order}, {"choice": choice, **fields})
    if fields["error"]:
        logger.info("pairwise judge %s, pair %s, attempt %d: %s", judge_spec.name, ask.key, verdict.attempts,
                    fields["error"])
    return verdict
