"""The vocabulary and regular expressions of persona self-reference, over normalised text.

Only FIRST-PERSON self-description counts: "the emergency physician should be called" is clinical
advice, "As an ED physician, I would..." and "ED physician here." are not. Beyond the persona's
own role, any claimed clinical or AI identity is flagged (a baseline answer saying "As a doctor,
I..." tells a rater as much as the true role would), and so is a self-described style ("As a
cautious assistant", "Being bold here", "I was asked to be cautious"), which names the persona's
style as plainly as its role.
"""
from __future__ import annotations

import functools
import re

# Role nouns any response may claim; plurals come from a trailing (?:e?s)?. Longer ones first.
CLINICAL_HEADS = [
    "general practitioner", "family physician", "family doctor", "medical practitioner", "medical professional",
    r"health\s*care (?:professional|provider|worker|practitioner)", "registered nurse", "nurse practitioner",
    "physician assistant", "physician associate", "triage nurse", "charge nurse", "emergency medicine specialist",
    "first responder", "medical student", "med student", "physician", "doctor", "doc", "surgeon", "nurse",
    "clinician", "paramedic", "medic", "pharmacist", "attending", "consultant", "specialist", "resident",
    "registrar", "intern", "intensivist", "hospitalist", "emergentologist", "practitioner", "midwife",
    "trainee", r"\w+ologist", r"\w+iatrist", r"\w+iatrician", "(?-i:MD|RN|LPN|NP|PA|GP|EMT|APRN|FNP)",
]
AI_HEADS = [
    "large language model", "language model", "AI language model", "AI assistant", "AI model",
    "artificial intelligence", "virtual assistant", "chatbot", "assistant", "AI", "LLM",
]
# Synonyms of the last word of a persona's role.
HEAD_SYNONYMS = {
    "physician": ["doctor", "doc", "MD"], "doctor": ["physician", "doc", "MD"], "nurse": ["RN"],
    "engineer": ["developer", "programmer"], "assistant": ["AI assistant"],
}
PLACES = [
    "emergency departments?", "emergency rooms?", "emergency units?", "EDs?", "ERs?", "A&E", "A and E",
    "hospitals?", "clinics?", "wards?", "units?", "ICUs?", "intensive care units?", "departments?",
    "practices?", "surgery", "health cent(?:re|er)s?", "trauma (?:cent(?:re|er)|bay|unit)s?", "urgent care",
    "resus", "triage", "floors?", "ambulance service", "trusts?",
]
# Fields one works in ("I trained in emergency medicine").
FIELDS = [
    "emergency medicine", "emergency nursing", "emergency care", "critical care", "intensive care",
    "primary care", "pre-?hospital care", "medicine", "nursing", "health ?care", "EMS", "general practice",
]
# Workplace words after "my"/"our" ("my colleagues", "our triage nurses").
WORK_WORDS = [
    "colleagues", "co-?workers", "team(?:mates)?", "staff", "residents", "interns", "students", "attendings?",
    "consultants?", "registrars?", "charge nurses?", "nursing staff", "triage nurses?", "nurses", "doctors",
    "shifts?", "rounds", "caseload", "patients?", "protocols?", "pathways?", "residency", "internship",
    "fellowship", "medical school", "nursing school", "license", "licence", "career", "fellow (?:\\w+ ){0,2}\\w+s",
]
STYLE_WORDS = ("bold", "cautious", "decisive", "daring")
STYLES = rf"(?:{'|'.join(STYLE_WORDS)})"
AI_NAMES = [
    "ChatGPT", r"GPT-?\d[\w.-]*", "Claude", "Gemini", "Bard", "Llama", "LLaMA", "Qwen", "Mistral", "Mixtral",
    "Gemma", "Phi", "DeepSeek", "Copilot", "HuatuoGPT", "Meditron", r"SmolLM\d*", "Grok",
]
# The literal each name starts with: a name is only found where its word is.
AI_NAME_WORDS = tuple(re.match(r"[A-Za-z]+", name).group().lower() for name in AI_NAMES)
AI_VENDORS = [
    "OpenAI", "Anthropic", "Google(?: DeepMind)?", "DeepMind", "Meta(?: AI)?", "Alibaba(?: Cloud)?", "Mistral AI",
    "Microsoft", "DeepSeek", "Hugging ?Face", "the Qwen team", "xAI",
]

ART = r"(?:an?|the|your|one\s+of\s+(?:the|us)|one|someone)"
# Words that cannot sit between the article and the role noun ("As soon as the doctor...").
_STOP = (
    r"a|an|the|this|that|these|those|you|your|he|she|they|it|his|her|their|its|is|are|was|were|be|been|would|"
    r"should|could|will|can|may|might|must|and|or|but|if|when|soon|well|long|much|many|far|result|per|to|"
    r"i|we|who|which|of|in|for|with|about|from|at|on|not|no|precaution|rule|example|alternative|first|general"
)
MOD = rf"(?:(?!(?:{_STOP})\b)\w[\w&'./-]*\s+(?:and\s+)?){{0,4}}?"
# A prepositional tail after the role: "... with 10 years of experience", "... on duty".
TAIL = r"(?:\s+(?:with|in|at|on|of|for|from|working|here|myself|by|who)\b[^,.;:!?\n]{0,60}?)?"
# The same for a statement ("I've been a nurse for 20 years."): only when it closes the clause.
END_TAIL = r"(?:\s+(?:with|in|at|on|of|for|from|here|since)\s+(?:[\w'-]+\s+){0,3}?[\w'-]+(?=\s*(?:[,.;:!?]|$)))?"
FIRST = r"(?:I|I'(?:m|d|ll|ve)|me|my|myself|we|we'(?:re|d|ve|ll)|our|us)"
NOT_FIRST = r"(?:you|your|yourself|he|she|they|his|her|their|it|its|the\s+patient)"
CLAUSE_START = r"(?:^|(?<=[.!?:;\n\"()\[\]*>#,-]))[ \t]*"
SENTENCE_START = r"(?:^|(?<=[.!?:;\n\"()\[\]*>#-]))[ \t]*(?:\d+[.)][ \t]+)?"
AS = (r"(?:(?:speaking|writing|answering|talking|replying|responding|working|trust\s+me)\s+(?:here\s+)?as|being|as|"
      r"in\s+my\s+(?:role|capacity)\s+as|take\s+it\s+from|wearing\s+my)")
# Words one of which every opening phrase (`lead` in _specs) holds.
LEAD_WORDS = (
    "as", "being", "take", "wearing", "year", "decade", "having", "speaking", "taking", "perspective", "point",
)
EXPERIENCE = r"(?:years?|decades?|time|career|experience|work|shifts?|days|training|residency)"
NUMBER = r"(?:(?:more\s+than|over|nearly|almost|about|some)\s+)?(?:\d+|a\s+few|many|several|\w+)"


def alternation(words) -> str:
    unique = sorted({w for w in words if w}, key=len, reverse=True)
    return "|".join(w.replace(" ", r"\s+") for w in unique)


def role_parts(role: str) -> list[str]:
    """Extra role nouns for this persona's role (e.g. 'software engineer' and 'developer')."""
    words = re.findall(r"[\w&]+", role)
    if not words:
        return []
    return [re.escape(role), re.escape(words[-1]), *HEAD_SYNONYMS.get(words[-1], [])]


def _specs(heads: str, place: str, field: str) -> list[tuple[str, tuple[str, ...]]]:
    """(pattern, words): a text the pattern matches holds one of the words, ignoring case (see detect._find)."""
    role = rf"(?:{ART}\s+)?{MOD}(?:{heads})(?:e?s)?\b"
    somewhere = rf"(?:(?:an?|the|this|our|my)\s+)?{MOD}(?:{place}|{field})\b"
    lead = (
        rf"(?:{AS}\s+{role}{TAIL}(?:\s+hat)?"
        rf"|(?:(?:speaking|writing)\s+)?as\s+someone\s+who\s+(?:\w+\s+){{0,3}}?(?:(?:in|at|on|as)\s+)?{somewhere}[^,.;:!?\n]{{0,40}}?"
        rf"|(?:after|with|over)\s+{NUMBER}\s+(?:\w+\s+)?(?:years?|decades?)\s+(?:of\s+\w+\s+)?"
        rf"(?:as\s+{role}|(?:in|at|on)\s+{somewhere}){TAIL}"
        rf"|having\s+(?:been\s+{role}|(?:worked|practi[cs]ed|served|trained|spent\s+[\w\s-]{{0,20}}?)\s+"
        rf"(?:as\s+{role}|(?:\w+\s+){{0,2}}?(?:in|at|on)\s+{somewhere})|been\s+\w+ing\s+{NUMBER}\s+\w+){TAIL}"
        rf"|speaking\s+from\s+(?:my\s+)?(?:own\s+)?(?:\w+\s+)?experience{TAIL}"
        rf"|as\s+instructed"
        rf"|taking\s+my\s+(?:\w+\s+)?{STYLES}\s+(?:approach|stance|line)"
        rf"|(?:from|with)\s+{ART}\s+{MOD}(?:{heads})['\u2019]s\s+(?:perspective|point\s+of\s+view|standpoint|viewpoint))"
    )
    return [
        # "As an ED physician, I would...", "Honestly, as a nurse I...", "Having worked as a paramedic, I..."
        (rf"{CLAUSE_START}(?P<span>{lead}(?:\s*[,:]\s*|\s+))(?={FIRST}\b)", LEAD_WORDS),
        # "As an emergency physician, the first step is..." (not "As a nurse, you...")
        (rf"{SENTENCE_START}(?P<span>{lead}\s*+[,:]\s*+)(?!{NOT_FIRST}\b)", LEAD_WORDS),
        (rf"{SENTENCE_START}(?P<span>{lead}\s+)(?=the\s+first\b)", LEAD_WORDS),
        # "ED physician here.", "Nurse here, and...", "EM doc here - ..."
        (rf"{SENTENCE_START}(?P<span>(?:{ART}\s+)?{MOD}(?:{heads})(?:e?s)?\s+here\s*(?:[.,:;!]|-+)\s*)", ("here",)),
        # "I am an ED nurse", "I'm not a doctor", "I've been a nurse for 20 years", "I was a paramedic"
        (rf"(?P<span>\bI(?:\s+am|'m)\s+(?:not\s+)?(?:(?:also|just|only|actually|currently|myself|now|still)\s+)?"
         rf"(?:,\s*as\s+)?{ART}\s+{MOD}(?:{heads})(?:e?s)?\b{END_TAIL})", ("am", "'m")),
        (rf"(?P<span>\bI(?:'ve|\s+have|\s+had|'d)?\s+(?:(?:also|long|now|previously|once|myself|personally)\s+)?"
         rf"(?:been|was|became|used\s+to\s+be|qualified\s+as|trained\s+as)\s+"
         rf"(?:(?:working|practi[cs]ing|serving|employed)\s+as\s+)?{ART}\s+{MOD}(?:{heads})(?:e?s)?\b{END_TAIL})",
         ("been", "was", "became", "used", "qualified", "trained")),
        (rf"(?P<span>\bI(?:'ve|\s+have|\s+had|'m|\s+am)?\s+(?:(?:also|long|now|previously|been|currently)\s+)*"
         rf"(?:work(?:s|ed|ing)?|practi[cs](?:e|ed|ing)|serv(?:e|ed|ing)|train(?:ed|ing)?|qualified|answering|"
         rf"responding|speaking|writing|replying|acting)\s+as\s+{role}{END_TAIL})",
         ("work", "practi", "serv", "train", "qualified", "answering", "responding", "speaking", "writing", "replying",
          "acting")),
        # "I work in the ED", "I trained in emergency medicine", "I spent ten years in the emergency department"
        (rf"(?P<span>\bI(?:'ve|\s+have|\s+had|'m|\s+am)?\s+(?:(?:also|long|now|previously|been|currently)\s+)*"
         rf"(?:work(?:s|ed|ing)?|practi[cs](?:e|ed|ing)|train(?:ed|ing)?|spent\s+[\w\s-]{{0,20}}?|"
         rf"(?:been\s+)?nursing)\s+(?:(?:for\s+)?{NUMBER}\s+(?:years?|decades?)\s+)?(?:(?:in|at|on)\s+{somewhere}|(?:{field})\b))",
         ("work", "practi", "train", "spent", "nursing")),
        # "I am board certified in emergency medicine", "I've spent a decade working ER shifts"
        (rf"(?P<span>\bI(?:'m|\s+am)\s+(?:\w+\s+)?(?:board[- ]certified|certified|licensed|registered|qualified|"
         rf"trained|speciali[sz]ed)\s+(?:in\s+(?:{field})\b|as\s+{role}))",
         ("certified", "licensed", "registered", "qualified", "trained", "speciali")),
        (r"(?P<span>\bI(?:'ve|\s+have)?\s+(?:spent|worked|work|done|do|did|pulled)\b[^.!?\n]{0,40}?"
         r"\b(?:ED|ER|A&E|emergency|triage|night|resus)\s+shifts?\b)", ("shift",)),
        # "In my 15 years as an ER doc", "my take as an ED physician", "in my experience in the ER"
        (rf"(?P<span>\b(?:(?:in|from|during|through|with|over|based\s+on)\s+)?my\s+(?:[\w'-]+\s+){{0,4}}?"
         rf"(?:as\s+{role}|{EXPERIENCE}\s+(?:in|at|on|working\s+in)\s+{somewhere}){TAIL}(?:\s*,\s*)?)", ("my",)),
        (r"(?P<span>\b(?:(?:in|from|through|with|based\s+on)\s+)?my\s+(?:own\s+)?(?:(?:clinical|medical|nursing|"
         r"professional|personal)\s+)?(?:experience|practice|training|career|judge?ments?|background|expertise)\b"
         r"(?:\s*,\s*)?)", ("my",)),
        # "In the ED where I work", "at my clinic", "on my unit", "our triage nurses", "my patients"
        (rf"(?P<span>\b(?:(?:in|at|on)\s+{somewhere}\s+)?(?:where|in\s+which|at\s+which)\s+I\s+(?:currently\s+|"
         r"used\s+to\s+)?(?:work|practi[cs]e|trained|train|am\s+based)\b(?:\s*,\s*)?)", ("where", "which")),
        (rf"(?P<span>\b(?:(?:in|at|on|to|into|from)\s+)?(?:our|my)\s+(?:own\s+)?(?:(?:busy|local|small|rural|urban|"
         rf"large|\w+)\s+)?(?:{place}|{WORK_WORDS_RE})\b(?:\s*,\s*)?)", ("our", "my")),
        (rf"(?P<span>\b(?:we|us|those\s+of\s+us)\s+(?:here\s+)?(?:(?:in|at|on|who\s+work\s+in)\s+{somewhere}|"
         rf"{MOD}(?:{heads})s\b))", ("we", "us")),
        (rf"(?P<span>\bhere\s+in\s+(?:the|our)\s+(?:{place})\b)", ("here",)),
        (rf"\bI(?:\s+am|'m|\s+would|\s+will)?(?P<span>\s*,\s*as\s+{role}{TAIL}\s*,)", ("as",)),
        (r"(?P<span>\bI(?:'ve|\s+have)\s+been\s+(?:nursing|practi[cs]ing(?:\s+(?:medicine|nursing))?)\s+(?:for|since)\b)",
         ("nursing", "practi")),
        # "I've seen countless patients like this", "I see this all the time in the ED"
        (r"(?P<span>\bI(?:'ve|\s+have)?\s+(?:seen|treated|managed|cared\s+for|looked\s+after|triaged|admitted|"
         r"resuscitated|nursed)\s+(?:(?:so\s+)?many|countless|plenty\s+of|lots\s+of|a\s+lot\s+of|hundreds\s+of|"
         r"thousands\s+of|dozens\s+of|numerous|several)\s+(?:patients|cases|people|children|adults)\b)",
         ("seen", "treated", "managed", "cared", "looked", "triaged", "admitted", "resuscitated", "nursed")),
        (r"(?P<span>\bI\s+(?:see|treat|manage|triage|admit)\s+(?:this|these|patients|cases|it|them)\s+(?:\w+\s+){0,3}?"
         r"(?:all\s+the\s+time|often|daily|every\s+(?:day|week|shift)|regularly|routinely|on\s+every\s+shift)\b)",
         ("see", "treat", "manage", "triage", "admit")),
        # Style and instructions: "Being bold here", "I'll be cautious", "my cautious nature", "asked to be bold"
        (rf"(?P<span>\bbeing\s+(?:(?:very|a\s+bit|deliberately)\s+)?{STYLES}(?:\s+here)?(?:\s*[,:]\s*|(?=\s*[.;!-])))",
         STYLE_WORDS),
        (rf"(?P<span>\b(?:I'm|I\s+am|I'll|I\s+will|let\s+me|I'm\s+going\s+to|I\s+am\s+going\s+to)\s+(?:be\s+|being\s+)?"
         rf"(?:(?:a|an|very|quite|naturally|generally|always|inherently|deliberately|more)\s+)*{STYLES}\b"
         rf"(?:\s+(?:by\s+nature|here))?)", STYLE_WORDS),
        (rf"(?P<span>\bmy\s+(?:(?:natural|usual|own|general)\s+)?{STYLES}\s+(?:approach|style|nature|instincts?|"
         r"stance|side|self|tendency|disposition|personality|mindset)\b)", STYLE_WORDS),
        (rf"(?P<span>\b(?:I\s+(?:was|have\s+been|am)|I'(?:ve\s+been|m)|you)\s+(?:asked|told|instructed|prompted|"
         rf"supposed|meant|wanted)\s+(?:me\s+)?to\s+be\s+{STYLES})", STYLE_WORDS),
        (r"(?P<span>\bmy\s+(?:system\s+prompt|instructions|persona|assigned\s+role)\b)",
         ("system", "instructions", "persona", "assigned")),
        # Model self-identification.
        (rf"(?P<span>\b(?:I\s+am|I'm|my\s+name\s+is|this\s+is)\s+(?:{alternation(AI_NAMES)})\b"
         rf"(?:\s*,\s*{ART}\s+{MOD}(?:{alternation(AI_HEADS)})\b)?)", AI_NAME_WORDS),
        (rf"(?P<span>\b(?:developed|created|trained|built|made|designed|brought\s+to\s+you)\s+by\s+"
         rf"(?:{alternation(AI_VENDORS)})\b)", ("by",)),
    ]


WORK_WORDS_RE = alternation(WORK_WORDS)


@functools.lru_cache(maxsize=256)
def compiled(role: str) -> tuple[tuple[re.Pattern, tuple[str, ...]], ...]:
    """Each pattern with the words one of which a text must hold for it to match."""
    heads = alternation(CLINICAL_HEADS + AI_HEADS + role_parts(role))
    specs = _specs(heads, alternation(PLACES), alternation(FIELDS))
    return tuple((re.compile(s, re.IGNORECASE | re.MULTILINE), words) for s, words in specs)
