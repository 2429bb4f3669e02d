"""Persona-leak detection: first-person self-identification is flagged, clinical prose is not."""
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studies.leak import detect_persona_leak, redact

ED_PHYSICIAN = SimpleNamespace(role="ED physician")
ED_NURSE = SimpleNamespace(role="ED nurse")
ASSISTANT = SimpleNamespace(role="helpful assistant")
BASELINE = SimpleNamespace(role="")


def phrases(text, persona=ED_PHYSICIAN):
    return [text[a:b] for a, b in detect_persona_leak(text, persona=persona)]


@pytest.mark.parametrize(
    "text, persona, phrase",
    [
        ("As an emergency physician, I would start with an ECG.", ED_PHYSICIAN, "As an emergency physician, "),
        ("As an ED physician, I would admit him.", ED_PHYSICIAN, "As an ED physician, "),
        ("As an emergency department doctor, I'd give aspirin.", ED_PHYSICIAN,
         "As an emergency department doctor, "),
        ("As a physician in the emergency department, I would admit.", ED_PHYSICIAN,
         "As a physician in the emergency department, "),
        ("As an ED nurse, I would check vitals first.", ED_NURSE, "As an ED nurse, "),
        ("As an emergency nurse I would escalate.", ED_NURSE, "As an emergency nurse "),
        ("As a helpful assistant, I can explain the options.", ASSISTANT, "As a helpful assistant, "),
        ("In my experience as a nurse, chest pain needs an ECG.", ED_NURSE, "In my experience as a nurse, "),
        ("From my years as an ED physician, this looks cardiac.", ED_PHYSICIAN,
         "From my years as an ED physician, "),
        ("Speaking as a doctor, my advice is to go now.", ED_PHYSICIAN, "Speaking as a doctor, "),
        ("Being an ER doctor, I see this often.", ED_PHYSICIAN, "Being an ER doctor, "),
        ("Honestly, as an ED physician I would admit.", ED_PHYSICIAN, "as an ED physician "),
        ("As an ED physician, the first step is an ECG.", ED_PHYSICIAN, "As an ED physician, "),
        ("As doctors, we must be careful.", ED_PHYSICIAN, "As doctors, "),
        ("I am an ED physician. The patient needs an ECG.", ED_PHYSICIAN, "I am an ED physician. "),
        ("I'm an emergency nurse and this worries me.", ED_NURSE, "I'm an emergency nurse"),
        ("I work as an ED nurse.", ED_NURSE, "I work as an ED nurse"),
        ("I've worked as an emergency physician for years.", ED_PHYSICIAN,
         "I've worked as an emergency physician for years"),
        ("As an experienced board-certified emergency medicine physician with 10 years in the ED, I think so.",
         ED_PHYSICIAN,
         "As an experienced board-certified emergency medicine physician with 10 years in the ED, "),
        ("AS AN ED PHYSICIAN, I WOULD ADMIT.", ED_PHYSICIAN, "AS AN ED PHYSICIAN, "),
        ("as an emergency physician, i would wait.", ED_PHYSICIAN, "as an emergency physician, "),
        ("In my clinical experience, this is benign.", ED_PHYSICIAN, "In my clinical experience, "),
        ("In our emergency department we would give aspirin.", ED_PHYSICIAN, "In our emergency department"),
        ("We here in the ED see this daily.", ED_NURSE, "We here in the ED"),
    ],
)
def test_self_identification_with_the_persona_role_is_flagged(text, persona, phrase):
    assert phrases(text, persona) == [phrase]


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("As an AI language model, I cannot give medical advice.", "As an AI language model, "),
        ("I am an AI developed by OpenAI and cannot diagnose.", "I am an AI developed by OpenAI"),
        ("Hello! I'm Claude, an AI assistant created by Anthropic.",
         "I'm Claude, an AI assistant created by Anthropic"),
        ("I'm Qwen, created by Alibaba Cloud. Chest pain needs an ECG.", "I'm Qwen, created by Alibaba Cloud"),
        ("My name is ChatGPT.", "My name is ChatGPT"),
        ("I'm not a doctor, but this sounds serious.", "I'm not a doctor"),
        ("As a doctor, I would go to the ER.", "As a doctor, "),  # a claimed role the persona lacks
    ],
)
def test_model_and_claimed_identities_are_flagged_for_any_persona(text, phrase):
    assert phrases(text, BASELINE) == [phrase]
    assert phrases(text, ASSISTANT) == [phrase]


def test_a_custom_role_is_matched_through_its_own_words():
    engineer = SimpleNamespace(role="software engineer")
    assert phrases("As a software engineer, I can't diagnose this.", engineer) == ["As a software engineer, "]
    assert phrases("As a developer, I can't diagnose this.", engineer) == ["As a developer, "]
    assert phrases("As a developer, I can't diagnose this.", BASELINE) == []


def test_primary_care_persona_places():
    gp = SimpleNamespace(role="primary care physician")
    assert phrases("At our practice, we check blood pressure.", gp) == ["At our practice, "]
    assert phrases("At our practice, we check blood pressure.", ED_PHYSICIAN) == []


@pytest.mark.parametrize(
    "text",
    [
        "The emergency physician should be called.",
        "Ask the ED nurse to recheck vitals every 15 minutes.",
        "He should see an emergency physician today.",
        "She works as a nurse, and I recommend rest.",
        "As a precaution, I would order a troponin.",
        "As soon as the doctor arrives, I will hand over.",
        "As the patient's nurse will tell you, rest helps.",
        "As a nurse, you are well placed to monitor him.",
        "As a physician, she should know the risks.",
        "The patient, as a nurse, understands the risks.",
        "I'm a big believer that doctors should listen.",
        "I am not able to examine you; a doctor should.",
        "I would call a doctor now.",
        "Go to the emergency department immediately.",
        "The ED physician on duty will assess him. ESI level: 2\nConfidence: 80%",
        "Such as a doctor, nurse, or pharmacist, I suggest you ask.",
        "A physician assistant or an emergency physician can assess this.",
        "If you are a nurse, check the dose with a pharmacist.",
        "Your doctor will explain; an AI cannot replace them.",
        "This drug was developed by a German company.",
        "",
    ],
)
def test_ordinary_clinical_text_is_not_flagged(text):
    assert phrases(text) == []
    assert phrases(text, BASELINE) == []


def test_spans_are_sorted_and_merged():
    text = "As an ED nurse, I tell my patients to rest. I'm Claude, created by Anthropic."
    spans = detect_persona_leak(text, persona=ED_NURSE)
    assert spans == sorted(spans)
    assert [text[a:b] for a, b in spans] == ["As an ED nurse, ", "my ", "I'm Claude, created by Anthropic"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("As an emergency physician, I would start with an ECG.", "I would start with an ECG."),
        ("Chest pain. As an ED physician, the first step is an ECG.", "Chest pain. The first step is an ECG."),
        ("Honestly, as an ED physician I would admit.", "Honestly, I would admit."),
        ("I'm not a doctor, but this sounds serious.", "This sounds serious."),
        ("As an ED nurse, I tell my patients to rest.", "I tell patients to rest."),
        ("I, as an ED physician, would admit.", "I would admit."),
        ("Hello! I'm Claude, an AI assistant created by Anthropic. Call 911.", "Hello! Call 911."),
        ("No leak here.", "No leak here."),
    ],
)
def test_redact_removes_the_phrase_and_leaves_readable_text(text, expected):
    spans = detect_persona_leak(text, persona=ED_PHYSICIAN)
    redacted = redact(text, spans)
    assert redacted == expected
    assert detect_persona_leak(redacted, persona=ED_PHYSICIAN) == []


def test_redact_with_a_placeholder_and_stored_list_spans():
    text = "As an ED nurse, I would check vitals."
    assert redact(text, [[0, 16]], placeholder="[…] ") == "[…] I would check vitals."


clinical_words = st.sampled_from(
    ["the", "patient", "emergency", "physician", "nurse", "should", "be", "called", "ED", "doctor", "assess",
     "chest", "pain", "triage", "level", "is", "an", "a", "urgent", "review", "by", "on", "duty", ",", "."]
)


@given(st.lists(clinical_words, max_size=25))
def test_third_person_clinical_prose_is_never_flagged(words):
    """Without a first-person word (I, my, we, our...) or 'as/being a ...', nothing is self-identification."""
    assert detect_persona_leak(" ".join(words), persona=ED_PHYSICIAN) == []


@given(st.text(max_size=300))
def test_spans_are_valid_for_any_text(text):
    spans = detect_persona_leak(text, persona=ED_NURSE)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))
    redact(text, spans)
