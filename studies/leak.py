"""Phrases by which a response reveals its persona ("As an emergency physician, I would...").

Blinding breaks when the text itself says who is speaking, so generation flags these and the study
shows, hides or redacts them. Only FIRST-PERSON self-identification counts: "the emergency
physician should be called" is ordinary clinical advice, "As an ED physician, I would..." is not.
Besides the persona's own role (and its synonyms: ED = emergency department, physician = doctor),
any claimed clinical or AI identity is flagged: a baseline answer saying "As a doctor, I..." or
"I'm not a doctor, but..." tells a rater as much about the condition as the true role would, and
model self-identification ("I'm Claude, created by Anthropic") unblinds the model (FastChat #1210).

Pure functions over plain text; `persona` is anything with a `role` string (or None).
"""
from __future__ import annotations

import functools
import re

Span = tuple[int, int]

# Roles that any response may claim. Longer alternatives first (regex alternation is ordered).
_GENERIC_HEADS = [
    "general practitioner", "medical practitioner", "medical professional", r"health\s*care professional",
    r"health\s*care provider", r"health\s*care worker", "registered nurse", "nurse practitioner",
    "physician assistant", "physician", "doctor", "surgeon", "nurse", "clinician", "paramedic", "EMT",
    "pharmacist", "medic", "MD", "RN", "GP", "attending", "consultant", "specialist", "resident",
    "large language model", "language model", "AI language model", "AI assistant", "AI model",
    "artificial intelligence", "virtual assistant", "chatbot", "assistant", "AI", "LLM",
]
# Synonyms of role words a persona may use: the head noun's and the setting's.
_HEAD_SYNONYMS = {
    "physician": ["doctor", "MD"], "doctor": ["physician", "MD"], "nurse": ["RN"],
    "engineer": ["developer", "programmer"], "assistant": ["AI assistant"],
}
_ED_PLACES = ["emergency departments?", "emergency rooms?", "emergency units?", "EDs?", "ERs?", "A&E", "A and E"]
_GENERIC_PLACES = [*_ED_PLACES, "hospitals?", "clinics?", "wards?", "ICUs?", "intensive care units?"]
_SETTING_PLACES = {
    "primary": ["practices?", "surgery", "office", "health cent(?:re|er)s?"],
    "family": ["practices?", "office"], "gp": ["practices?", "surgery"],
}
_AI_NAMES = [
    "ChatGPT", r"GPT-?\d[\w.-]*", "Claude", "Gemini", "Bard", "Llama", "LLaMA", "Qwen", "Mistral", "Mixtral",
    "Gemma", "Phi", "DeepSeek", "Copilot", "HuatuoGPT", "Meditron", "SmolLM\\d*", "Grok",
]
_AI_VENDORS = [
    "OpenAI", "Anthropic", "Google(?: DeepMind)?", "DeepMind", "Meta(?: AI)?", "Alibaba(?: Cloud)?", "Mistral AI",
    "Microsoft", "DeepSeek", "Hugging ?Face", "the Qwen team", "xAI",
]

_ART = r"(?:an?|the|your|one)"
# Words that cannot sit between the article and the role noun ("As soon as the doctor...").
_STOP = (
    r"a|an|the|this|that|these|those|you|your|he|she|they|it|his|her|their|its|is|are|was|were|be|been|would|"
    r"should|could|will|can|may|might|must|and|or|but|if|when|soon|well|long|much|many|far|result|per|to|"
    r"i|we|who|which|of|in|for|with|about|from|at|on|not|no"
)
_MOD = rf"(?:(?!(?:{_STOP})\b)[\w&'’./-]+\s+){{0,4}}?"
# A prepositional tail after the role: "... with 10 years of experience", "... on duty".
_TAIL = r"(?:\s+(?:with|in|at|on|of|for|from|working|here|myself|by)\b[^,.;:!?\n]{0,60}?)?"
# The same, for a statement ("I've worked as a nurse for years."): only when it closes the clause.
_END_TAIL = r"(?:\s+(?:with|in|at|on|of|for|from|here)\s+(?:[\w'’-]+\s+){0,3}?[\w'’-]+(?=\s*(?:[,.;:!?]|$)))?"
_FIRST = r"(?:I|I['’](?:m|d|ll|ve)|me|my|myself|we|we['’](?:re|d|ve)|our|us)"
_NOT_FIRST = r"(?:you|your|he|she|they|his|her|their|it|its|the\s+patient)"
_CLAUSE_START = r"(?:^|(?<=[.!?:;\n\"“()\[\]*>•,-]))[ \t]*"
_SENTENCE_START = r"(?:^|(?<=[.!?:;\n\"“()\[\]*>•-]))[ \t]*"
_AS = r"(?:(?:speaking|writing|answering|working)\s+as|being|as)"


def _alternation(words) -> str:
    unique = sorted({w for w in words if w}, key=len, reverse=True)
    return "|".join(w.replace(" ", r"\s+") for w in unique)


def _role_parts(role: str) -> tuple[list[str], list[str]]:
    """Extra role nouns and places for this persona's role (e.g. 'software engineer', 'practice')."""
    words = re.findall(r"[\w&]+", role)
    if not words:
        return [], []
    heads = [re.escape(role), re.escape(words[-1]), *_HEAD_SYNONYMS.get(words[-1], [])]
    places = [p for w in words[:-1] for p in _SETTING_PLACES.get(w, [])]
    return heads, places


@functools.lru_cache(maxsize=256)
def _patterns(role: str) -> list[re.Pattern]:
    extra_heads, extra_places = _role_parts(role)
    role = rf"(?:{_ART}\s+)?{_MOD}(?:{_alternation(_GENERIC_HEADS + extra_heads)})(?:e?s)?\b"
    place = rf"(?:{_alternation(_GENERIC_PLACES + extra_places)})\b"
    flags = re.IGNORECASE | re.MULTILINE
    specs = [
        # "As an ED physician, I would...", "Honestly, as a nurse I...", "Speaking as a doctor, my advice..."
        rf"{_CLAUSE_START}(?P<span>{_AS}\s+{role}{_TAIL}(?:\s*,\s*|\s+))(?={_FIRST}\b)",
        # "As an emergency physician, the first step is..." (a sentence-opening claim; not "As a nurse, you...")
        rf"{_SENTENCE_START}(?P<span>{_AS}\s+{role}{_TAIL}\s*+,\s*+)(?!{_NOT_FIRST}\b)",
        # "I am an ED nurse", "I'm not a doctor", "I work as a physician", "I, as an ED physician, would"
        rf"(?P<span>\bI(?:\s+am|['’]m)\s+(?:not\s+)?(?:also\s+|just\s+|only\s+|actually\s+)?{_ART}\s+{_MOD}"
        rf"(?:{_alternation(_GENERIC_HEADS + extra_heads)})(?:e?s)?\b{_END_TAIL}(?:\s*[.!](?:\s+|$))?)",
        rf"(?P<span>\bI(?:['’]ve|\s+have)?\s+(?:work|worked|working|practi[cs]e|practi[cs]ed|served?|serving)"
        rf"\s+as\s+{role}{_END_TAIL})",
        rf"\bI(?P<span>\s*,\s*as\s+{role}{_TAIL}\s*,)",
        # "In my experience as a nurse, ...", "from my years as an ED physician"
        rf"(?P<span>\b(?:(?:in|from|during|through|with|based\s+on)\s+)?my\s+(?:[\w'’-]+\s+){{0,4}}?as\s+{role}"
        rf"{_TAIL}(?:\s*,\s*)?)",
        # "in my clinical experience", "my medical opinion", "my patients"
        r"(?P<span>\b(?:in\s+)?my\s+(?:own\s+)?(?:clinical|medical|nursing|professional)\s+(?:experience|practice|"
        r"training|career|judge?ments?|opinion|assessment|background|expertise)\b(?:\s*,\s*)?)",
        r"(?P<span>\bmy\s+(?:own\s+)?)(?=patients?\b)",  # "I tell my patients" -> "I tell patients"
        # "in our emergency department", "we here in the ED", "at my hospital"
        rf"(?P<span>\b(?:(?:in|at|to|into|from)\s+)?(?:our|my)\s+(?:own\s+)?(?:(?:busy|local|small|rural|urban|large)\s+)?"
        rf"{place}(?:\s*,\s*)?)",
        rf"(?P<span>\b(?:we|us)\s+(?:here\s+)?(?:in|at)\s+the\s+{place}|\bhere\s+in\s+(?:the|our)\s+{place})",
        # Model self-identification.
        rf"(?P<span>\b(?:I\s+am|I['’]m|my\s+name\s+is|this\s+is)\s+(?:{_alternation(_AI_NAMES)})\b"
        rf"(?:\s*,\s*{_ART}\s+{_MOD}(?:{_alternation(_GENERIC_HEADS)})\b)?)",
        rf"(?P<span>\b(?:developed|created|trained|built|made|designed|brought\s+to\s+you)\s+by\s+"
        rf"(?:{_alternation(_AI_VENDORS)})\b)",
    ]
    return [re.compile(s, flags) for s in specs]


def detect_persona_leak(text: str, *, persona=None) -> list[Span]:
    """Sorted, merged [start, end) spans of phrases revealing the persona or the model."""
    role = (getattr(persona, "role", "") or "").strip().lower()
    spans = [m.span("span") for pattern in _patterns(role) for m in pattern.finditer(text or "")]
    return _merge([s for s in spans if s[1] > s[0]], text or "")


def _merge(spans: list[Span], text: str) -> list[Span]:
    """Overlapping spans, or ones separated only by whitespace or commas, become one."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip(" \t,")):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact(text: str, spans: list[Span] | list[list[int]], placeholder: str = "") -> str:
    """The text without the spans.

    By default a phrase is removed, not marked: a visible "[redacted]" would itself tell raters
    that a persona was there. The remainder is tidied (spacing, a capital at a sentence start).
    """
    kept, cursor = [], 0
    for start, end in _merge([(s[0], s[1]) for s in spans], text):
        kept.append(text[cursor:start])
        cursor = end
    kept.append(text[cursor:])
    if placeholder:
        return placeholder.join(kept)
    out = kept[0]
    for segment in kept[1:]:
        if _at_sentence_start(out):
            # "I'm not a doctor, but this is serious." -> "This is serious."
            stripped = re.sub(r"^[\s,;:]*(?:(?:but|and|so)\b)?\s*", "", segment, flags=re.IGNORECASE)
            segment = (" " if out and not out[-1].isspace() else "") + stripped[:1].upper() + stripped[1:]
        out += segment
    out = re.sub(r"[ \t]+([,.;:!?])", r"\1", out)
    out = re.sub(r"([.!?])[.,;:]+", r"\1", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def _at_sentence_start(before: str) -> bool:
    tail = before.rstrip(" \t")
    return not tail or tail[-1] in ".!?\n:\"“*>-•"
