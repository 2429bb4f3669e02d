"""Parsing the ESI level and stated confidence out of triage answers (free text and JSON)."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inference.parsing import (
    NOT_APPLICABLE,
    PARSED,
    PARTIAL,
    TRIAGE_ANSWER_SCHEMA,
    UNPARSEABLE,
    parse_discrete_answer,
)
from studies.models import ParseStatus
from studies.prompts import DEFAULT_TASK_INSTRUCTIONS


def parse(text):
    return parse_discrete_answer(text, task_type="triage")


def test_statuses_are_the_response_models_parse_statuses():
    assert {PARSED, PARTIAL, UNPARSEABLE, NOT_APPLICABLE} == set(ParseStatus.values)


@pytest.mark.parametrize(
    "text, level, confidence",
    [
        ("Chest pain with hypotension.\nESI level: 2\nConfidence: 85%", "2", 0.85),
        ("ESI Level: 1\nConfidence: 100%", "1", 1.0),
        ("**ESI level:** 2\n**Confidence:** 90%", "2", 0.9),
        ("ESI level: **3**\nConfidence: **75%**", "3", 0.75),
        ("ESI 2\nconfidence 80 %", "2", 0.8),
        ("ESI-4, Confidence: 60 percent", "4", 0.6),
        ("ESI: 5\nConfidence: 0.8", "5", 0.8),
        ("Level: 3\nConfidence: 70%", "3", 0.7),
        ("Triage level: 2. Confidence level: 85%", "2", 0.85),
        ("Triage category: 2. Confidence 80/100", "2", 0.8),
        ("The ESI level is 3 and my confidence is 65%.", "3", 0.65),
        ("Emergency Severity Index (ESI) level 2. Confidence: 90%", "2", 0.9),
        ("I am 75% confident this is ESI-1.", "1", 0.75),
        ("Confidence: 80,5 %\nESI level: 2", "2", 0.805),
        ("esi level 4; confidence of 65 percent", "4", 0.65),
        ("Confidence ~ 70%. ESI 3", "3", 0.7),
        ("Could be ESI 2 or ESI 3. On balance: ESI level: 3\nConfidence: 60%", "3", 0.6),
        ("Confidence: 0%\nESI level: 5", "5", 0.0),
        ("Confidence: 1\nESI 2", "2", 0.01),  # a whole number is on the prompt's 0-100 scale: 1%
        ("Confidence: 0.8\nESI 2", "2", 0.8),  # a decimal <= 1 is a probability
        ("## Assessment\n> ESI level: 2\n> Confidence: 95%", "2", 0.95),
    ],
)
def test_free_text_variants_are_parsed(text, level, confidence):
    got_level, got_confidence, status = parse(text)
    assert (got_level, status) == (level, PARSED)
    assert got_confidence == pytest.approx(confidence)


@pytest.mark.parametrize(
    "text, level",
    [
        ("ESI level: 2", "2"),
        ("**ESI 2**", "2"),
        ("ESI level: 3\nConfidence: high", "3"),  # a word, not a percentage
        ("ESI 2\nConfidence: 150%", "2"),  # out of range: not a confidence
        ("ESI 2\nConfidence: 70-80%", "2"),  # a range is not a stated confidence
        ("ESI 2\nConfidence: 70%-80%", "2"),
        ("ESI level: 4\nConfidence: <0-100>%", "4"),
    ],
)
def test_level_without_usable_confidence_is_partial(text, level):
    assert parse(text) == (level, None, PARTIAL)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The patient needs urgent review.",
        "ESI level: <1-5>\nConfidence: <0-100>%",  # the instruction echoed back
        "ESI level: 2-3\nConfidence: 70%",  # undecided between two levels
        "ESI 2 or 3. Confidence: 50%",
        "ESI 2/3",
        "ESI 6",
        "ESI 25",
        "ESI level: 0",
        "Pain level 3/10, confidence 80%",  # a pain score is not a triage level
        "pain level: 4",
        "Confidence: 90%",  # confidence alone is no answer
        "{not json at all",
    ],
)
def test_unparseable_answers(text):
    assert parse(text) == ("", None, UNPARSEABLE)


def test_the_last_stated_level_wins():
    text = "ESI 2 would fit if he were unstable, but he is not: ESI level: 3\nConfidence: 70%"
    assert parse(text) == ("3", 0.7, PARSED)


def test_explicit_esi_statement_outranks_a_bare_level_line():
    assert parse("ESI level: 2\nLevel: 4 (pain)\nConfidence: 90%")[0] == "2"


@pytest.mark.parametrize(
    "payload, level, confidence",
    [
        ({"reasoning": "hypotension", "esi_level": 2, "confidence": 85}, "2", 0.85),
        ({"esi_level": "3", "confidence": "70%"}, "3", 0.7),
        ({"ESI": "ESI 4", "confidence": 0.6}, "4", 0.6),
        ({"level": 1.0, "Confidence": "0.95"}, "1", 0.95),
        ({"esi_level": 2, "confidence": 1}, "2", 0.01),
        ({"triage_level": 5, "confidence": "40/100"}, "5", 0.4),
    ],
)
def test_structured_json_answers(payload, level, confidence):
    got = parse(json.dumps(payload))
    assert got[0] == level and got[2] == PARSED
    assert got[1] == pytest.approx(confidence)


def test_json_in_a_code_fence_or_after_a_preamble():
    assert parse('```json\n{"esi_level": 2, "confidence": 90}\n```') == ("2", 0.9, PARSED)
    assert parse('Here is my answer: {"esi_level": 4, "confidence": 55}') == ("4", 0.55, PARSED)


def test_json_without_confidence_is_partial_and_bad_values_unparseable():
    assert parse('{"esi_level": 2}') == ("2", None, PARTIAL)
    assert parse('{"esi_level": 2, "confidence": true}') == ("2", None, PARTIAL)
    assert parse('{"esi_level": 7, "confidence": 50}') == ("", None, UNPARSEABLE)
    assert parse('{"esi_level": true, "confidence": 50}') == ("", None, UNPARSEABLE)


def test_json_without_a_level_key_falls_back_to_the_text():
    assert parse('{"note": "x"}\nESI level: 3\nConfidence: 50%') == ("3", 0.5, PARSED)


@pytest.mark.parametrize("task_type", ["patient_safety", "other", ""])
def test_other_task_types_are_not_applicable(task_type):
    assert parse_discrete_answer("ESI level: 2\nConfidence: 90%", task_type=task_type) == ("", None, NOT_APPLICABLE)


def test_the_prompts_requested_format_is_what_the_parser_reads():
    """The lines DEFAULT_TASK_INSTRUCTIONS asks for, filled in, parse back exactly."""
    template = DEFAULT_TASK_INSTRUCTIONS["triage"].split("\n")[-2:]
    text = "Reasoning.\n" + "\n".join(template).replace("<1-5>", "4").replace("<0-100>", "35")
    assert parse(text) == ("4", 0.35, PARSED)


def test_structured_output_schema_requires_level_and_confidence():
    assert TRIAGE_ANSWER_SCHEMA["required"] == ["reasoning", "esi_level", "confidence"]
    assert TRIAGE_ANSWER_SCHEMA["properties"]["esi_level"] == {"type": "integer", "minimum": 1, "maximum": 5}


# --- properties ------------------------------------------------------------------------------------

LEVEL_FORMS = ["ESI level: {l}", "ESI {l}", "**ESI level:** {l}", "ESI-{l}", "Level: {l}", "Triage level: {l}",
               "ESI level is {l}", "esi: {l}"]
CONFIDENCE_FORMS = ["Confidence: {p}%", "confidence {p} %", "Confidence: {p} percent", "Confidence level: {p}%",
                    "**Confidence:** {p}%", "Confidence: {p}/100"]
prose = st.text(alphabet=st.sampled_from("abcdefghij klmnop,;()\n"), max_size=80)


@given(
    level=st.integers(1, 5),
    percent=st.integers(0, 100),
    level_form=st.sampled_from(LEVEL_FORMS),
    confidence_form=st.sampled_from(CONFIDENCE_FORMS),
    before=prose,
    between=prose,
)
def test_any_stated_level_and_percentage_round_trip(level, percent, level_form, confidence_form, before, between):
    text = f"{before}\n{level_form.format(l=level)}\n{between}\n{confidence_form.format(p=percent)}"
    got_level, confidence, status = parse(text)
    assert (got_level, status) == (str(level), PARSED)
    assert confidence == pytest.approx(percent / 100)


@given(level=st.integers(1, 5), probability=st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2)))
def test_probabilities_stay_probabilities(level, probability):
    assert parse(f"ESI {level}\nConfidence: {probability}")[1] == pytest.approx(probability)


@given(st.text(max_size=300))
def test_never_crashes_and_always_returns_a_consistent_triple(text):
    level, confidence, status = parse(text)
    assert status in {PARSED, PARTIAL, UNPARSEABLE}
    assert (level in {"1", "2", "3", "4", "5"}) == (status != UNPARSEABLE)
    assert (confidence is not None) == (status == PARSED)
    assert confidence is None or 0 <= confidence <= 1
