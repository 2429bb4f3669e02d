"""Persona leaks: first-person self-identification is found and removed; clinical prose is left alone."""
import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studies.leak import detect_persona_leak, readable, redact

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
        ("As an emergency nurse I would escalate.", ED_NURSE, "As an emergency nurse"),
        ("As a helpful assistant, I can explain the options.", ASSISTANT, "As a helpful assistant, "),
        ("In my experience as a nurse, chest pain needs an ECG.", ED_NURSE, "In my experience as a nurse, "),
        ("From my years as an ED physician, this looks cardiac.", ED_PHYSICIAN,
         "From my years as an ED physician, "),
        ("Speaking as a doctor, my advice is to go now.", ED_PHYSICIAN, "Speaking as a doctor, "),
        ("Being an ER doctor, I see this often.", ED_PHYSICIAN, "Being an ER doctor, I see this often"),
        ("Honestly, as an ED physician I would admit.", ED_PHYSICIAN, "as an ED physician"),
        ("As an ED physician, the first step is an ECG.", ED_PHYSICIAN, "As an ED physician, "),
        ("As doctors, we must be careful.", ED_PHYSICIAN, "As doctors, "),
        ("I am an ED physician. The patient needs an ECG.", ED_PHYSICIAN, "I am an ED physician"),
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
    # a workplace of one's own is a clinical identity whatever the persona
    assert phrases("At our practice, we check blood pressure.", ED_PHYSICIAN) == ["At our practice, "]


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


clinical_words = st.sampled_from(
    ["the", "patient", "emergency", "physician", "nurse", "should", "be", "called", "ED", "doctor", "assess",
     "chest", "pain", "triage", "level", "is", "an", "a", "urgent", "review", "by", "on", "duty", ",", "."]
)


@given(st.lists(clinical_words, max_size=25))
def test_third_person_clinical_prose_is_never_flagged(words):
    """Without a first-person word (I, my, we, our...) or 'as/being a ...', nothing is self-identification."""
    assert detect_persona_leak(" ".join(words), persona=ED_PHYSICIAN) == []


def test_spans_are_sorted_and_merged():
    text = "As an ED nurse, I tell my patients to rest. I'm Claude, created by Anthropic."
    spans = detect_persona_leak(text, persona=ED_NURSE)
    assert spans == sorted(spans)
    assert [text[a:b] for a, b in spans] == ["As an ED nurse, ", "my patients", "I'm Claude, created by Anthropic"]
    assert redact(text, spans) == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("As an emergency physician, I would start with an ECG.", "I would start with an ECG."),
        ("Chest pain. As an ED physician, the first step is an ECG.", "Chest pain. The first step is an ECG."),
        ("Honestly, as an ED physician I would admit.", "Honestly, I would admit."),
        ("I'm not a doctor, but this sounds serious.", "This sounds serious."),
        ("As an ED nurse, I tell my patients to rest. Call 911.", "Call 911."),
        ("I, as an ED physician, would admit.", "I would admit."),
        ("Hello! I'm Claude, an AI assistant created by Anthropic. Call 911.", "Hello! Call 911."),
        ("No leak here.", "No leak here."),
    ],
)
def test_redact_removes_the_phrase_or_its_sentence(text, expected):
    spans = detect_persona_leak(text, persona=ED_PHYSICIAN)
    redacted = redact(text, spans)
    assert redacted == expected
    assert detect_persona_leak(redacted, persona=ED_PHYSICIAN) == []


def test_redact_with_a_placeholder_and_stored_list_spans():
    text = "As an ED nurse, I would check vitals."
    assert redact(text, [[0, 16]], placeholder="[…] ") == "[…] I would check vitals."


def test_a_stored_span_that_runs_into_the_subject_keeps_the_subject():
    text = "As a quasar emergency physician, I would call the resuscitation team now."
    assert redact(text, [[0, len("As a quasar emergency physician, I")]]) == (
        "I would call the resuscitation team now.")


# --- Sentences that reached clinicians verbatim under the "redact" policy -------------------------------

REPRODUCED = [
    ("<strong>As an ED physician</strong>, I would order an ECG.", "I would order an ECG."),
    ("ED physician here. Call 911 now.", "Call 911 now."),
    ("I've been a nurse for 20 years. This needs an ECG.", "This needs an ECG."),
    ("As an E\u200bD physician, I would admit him.", "I would admit him."),
    ("Chest pain. I have been an ER doctor for 10 years. Get an ECG.", "Chest pain. Get an ECG."),
    ("_As an emergency physician_, I would give aspirin.", "I would give aspirin."),
    ("As an emergency medicine doc, I'd get a troponin.", "I'd get a troponin."),
    ("In the ED where I work, every chest pain gets an ECG.", "Every chest pain gets an ECG."),
]


@pytest.mark.parametrize("text, expected", REPRODUCED)
def test_each_reproduced_leak_is_found_and_redacted_cleanly(text, expected):
    spans = detect_persona_leak(text, persona=ED_PHYSICIAN)
    assert spans, text
    assert redact(text, spans) == expected
    assert detect_persona_leak(expected, persona=ED_PHYSICIAN) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ED physician here. Call 911.", "Call 911."),
        ("My ED's triage level for this is 2. Call 911.", "Call 911."),
        ("Nurse here, and I would escalate now.", "I would escalate now."),
        ("### As an ED physician, here is my approach", "### Here is my approach"),
        ("- ED physician here.\n- Call 911.\n- Give aspirin.", "- Call 911.\n- Give aspirin."),
        ("Chest pain.\n\nI'm an ED physician and worried.\n\nCall 911.", "Chest pain.\n\nCall 911."),
        ("**I am an ED physician. Call 911 now.**", "**Call 911 now.**"),
        ("**I am an ED physician.** Call 911 now.", "Call 911 now."),
        ("<p>I am an ED physician.</p><p>Call 911.</p>", "<p>Call 911.</p>"),
        ("<ul><li>I am an ED physician</li><li>Call 911</li></ul>", "<ul><li>Call 911</li></ul>"),
        ("For a patient like this, as an ED physician, I would scan.", "For a patient like this, I would scan."),
        ("Being bold here: this is a heart attack.", "This is a heart attack."),
        ("Give aspirin. I am an ED physician, e.g. the one on duty. Call 911.", "Give aspirin. Call 911."),
    ],
)
def test_redaction_leaves_no_marks(text, expected):
    assert redact(text, detect_persona_leak(text, persona=ED_PHYSICIAN)) == expected


def test_redact_without_spans_returns_the_text_unchanged():
    text = "  Two  spaces stay.  \n\n\n\nSo do blank lines.  "
    assert redact(text, []) == text


def test_the_reader_sees_text_without_markup_or_invisible_characters():
    assert readable("<b>\u0410s</b> an **E\u200bD** phy\u00adsician&nbsp;here") == "As an ED physician here"


# --- Corpus: recall on leaking sentences, false-positive rate on innocent ones --------------------------

# Rows marked "set": "holdout" were written after the patterns were tuned on the rest; on first measurement they
# scored recall 0.90 (27 of 30) and false-positive rate 0 (0 of 25), before the three misses were generalised.
CORPUS = [json.loads(line) for line in (Path(__file__).parents[1] / "data/leak/corpus.jsonl").open(encoding="utf-8")]
PERSONAS = [ED_PHYSICIAN, ED_NURSE, ASSISTANT, BASELINE]
MIN_RECALL, MAX_FALSE_POSITIVE_RATE = 0.97, 0.02


def test_corpus_recall_and_false_positive_rate(capsys):
    leaking = [row for row in CORPUS if row["label"] == "leak"]
    innocent = [row for row in CORPUS if row["label"] == "innocent"]
    assert len(leaking) >= 150 and len(innocent) >= 100
    missed = [r["text"] for r in leaking if not detect_persona_leak(r["text"], persona=SimpleNamespace(role=r["role"]))]
    flagged = [r["text"] for r in innocent if any(detect_persona_leak(r["text"], persona=p) for p in PERSONAS)]
    recall = 1 - len(missed) / len(leaking)
    false_positive_rate = len(flagged) / len(innocent)
    with capsys.disabled():
        print(f"\nleak corpus: {len(leaking)} leaking, recall {recall:.3f}; "
              f"{len(innocent)} innocent, false-positive rate {false_positive_rate:.3f}")
    assert recall >= MIN_RECALL, missed
    assert false_positive_rate <= MAX_FALSE_POSITIVE_RATE, flagged


@pytest.mark.parametrize("row", [r for r in CORPUS if r["label"] == "leak"], ids=lambda r: r["text"][:40])
def test_redacting_a_corpus_leak_leaves_no_leak_and_no_marks(row):
    persona = SimpleNamespace(role=row["role"])
    spans = detect_persona_leak(row["text"], persona=persona)
    out = redact(row["text"], spans)
    assert detect_persona_leak(out, persona=persona) == []
    assert "  " not in out and not out.startswith((",", ".", ";", ":", "'"))
    assert not out or out[0].isupper() or out[0] in "<*_#>-" or out[0].isdigit(), out


# --- Hide and redact agree: a response is hidden exactly when redaction would change it -----------------

sentences = st.sampled_from([r["text"] for r in CORPUS])
separators = st.sampled_from([" ", "\n", "\n\n", "\n- ", " **", "** ", "<br>", "\n1. "])


@given(st.lists(st.tuples(sentences, separators), min_size=1, max_size=6), st.sampled_from(PERSONAS))
def test_hidden_exactly_when_redaction_changes_the_text(parts, persona):
    text = "".join(sentence + sep for sentence, sep in parts).strip()
    spans = detect_persona_leak(text, persona=persona)
    redacted = redact(text, spans)
    assert bool(spans) == (redacted != text)
    assert detect_persona_leak(redacted, persona=persona) == []


@given(st.text(max_size=300), st.sampled_from(PERSONAS))
def test_any_text_gives_valid_spans_and_stable_redaction(text, persona):
    spans = detect_persona_leak(text, persona=persona)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1))
    assert (redact(text, spans) != text) == bool(spans)


@pytest.mark.parametrize(
    "text",
    [
        "Ask your nurse to recheck the dressing.",
        "A physician should examine the wound today.",
        "You should see an emergency physician tonight.",
        "As a precaution, avoid driving.",
        "As an emergency, this needs a 911 call.",
        "Go to the emergency department now.",
        "The ED physician will assess him on arrival.",
        # "here" without a first-person word and without closing the phrase ("Nurse here.") means "in this
        # setting": a plural, third-person statement, so it is not taken as self-identification.
        "Nurses here are trained to spot sepsis.",
        'Tell the dispatcher: "I am a nurse and my patient has chest pain."',
    ],
)
def test_second_and_third_person_mentions_and_quoted_instructions_are_innocent(text):
    for persona in PERSONAS:
        assert detect_persona_leak(text, persona=persona) == []


_TRICKY = st.lists(st.sampled_from(
    [chr(c) for c in range(128)] + list("аеАΑο‘’“—\u200b\u00ad\u200e\u2028é\u0301ﬁ①ＡＢ") +
    ["<b>", "</b>", "<p>", "&amp;", "&#233;", "&nbsp;", "**", "As a nurse, I "]), max_size=40).map("".join)


@given(text=_TRICKY, zero_width_as_space=st.booleans())
def test_ascii_runs_fold_as_the_character_by_character_path_does(monkeypatch_module, text, zero_width_as_space):
    """normalise folds ASCII runs in one step; one character at a time gives the same text and map."""
    module = importlib.import_module("studies.leak.normalise")
    fast = module.normalise(text, zero_width_as_space=zero_width_as_space)
    with monkeypatch_module.context() as patch:
        patch.setattr(module, "_ASCII_RUN", module.re.compile(r"(?!)"))  # never matches: every character alone
        slow = module.normalise(text, zero_width_as_space=zero_width_as_space)
    assert fast == slow
    assert module.has_format_characters(text) == any(module.unicodedata.category(c) == "Cf" for c in text)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch
