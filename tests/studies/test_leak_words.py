"""Each leak pattern runs only on texts holding one of its words: skipping the others changes no result."""
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studies.leak import detect, detect_persona_leak, normalise
from studies.leak.patterns import compiled

CORPUS = [json.loads(line) for line in (Path(__file__).parents[1] / "data/leak/corpus.jsonl").open(encoding="utf-8")]
ROLES = sorted({row["role"] for row in CORPUS} | {"ED physician", "ED nurse", "helpful assistant", ""})


@pytest.mark.parametrize("role", ROLES)
def test_every_pattern_matches_only_texts_holding_one_of_its_words(role):
    readings = [normalise(row["text"]).text for row in CORPUS]
    for index, (pattern, words) in enumerate(compiled(role)):
        matched = [text for text in readings if pattern.search(text)]
        assert all(any(word in text.lower() for word in words) for text in matched if text.isascii()), index
        if role == "ED physician":
            assert matched, f"no corpus text exercises pattern {index}"


def _every_pattern(role):
    return tuple((pattern, ("",)) for pattern, _ in compiled(role))


sentences = st.sampled_from([row["text"] for row in CORPUS])
noise = st.text(st.sampled_from(list("abcdefghIjklmnoprstuvwy '.,:-\n") + ["ſ", "ı", "K", "é"]), max_size=20)


@given(st.lists(st.tuples(sentences, noise), min_size=1, max_size=4), st.sampled_from(ROLES))
def test_detection_with_the_word_test_equals_running_every_pattern(parts, role):
    text = "".join(sentence + extra for sentence, extra in parts)
    persona = type("Persona", (), {"role": role})
    fast = detect_persona_leak(text, persona=persona)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(detect, "compiled", _every_pattern)
        assert detect_persona_leak(text, persona=persona) == fast
