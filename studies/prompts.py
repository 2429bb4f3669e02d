"""The chat messages a model receives for one (persona, case): pure functions over plain objects.

The persona is a system message; the case (vignette, question, and the study's instruction for the
task type) is the user message. The no-persona baseline sends an explicit EMPTY system message:
many chat templates (SmolLM2, Qwen2.5) insert their own default system prompt ("You are a helpful
assistant...") when none is given, which would silently turn the baseline into a persona.
"""
from __future__ import annotations

import hashlib
import json
from string import Formatter

PLACEHOLDERS = ("role", "style", "task_type", "care_setting")

# Discrete-answer tasks ask for the level and a stated confidence in a fixed, parseable form.
DEFAULT_TASK_INSTRUCTIONS = {
    "triage": (
        "Assign an Emergency Severity Index (ESI) level from 1 (most urgent) to 5 (least urgent) and state "
        "how confident you are. Explain briefly, then end with exactly these two lines:\n"
        "ESI level: <1-5>\n"
        "Confidence: <0-100>%"
    ),
}


class PromptTemplateError(ValueError):
    pass


def template_placeholders(template: str) -> set[str]:
    """The {names} a template uses; raises PromptTemplateError for malformed or unknown ones."""
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise PromptTemplateError(f"malformed template: {exc}") from exc
    unknown = names - set(PLACEHOLDERS)
    if unknown or "" in names:
        raise PromptTemplateError(
            f"unknown placeholder(s) {sorted(unknown) or ['{}']}; allowed: {', '.join(PLACEHOLDERS)}"
        )
    return names


def render_system_prompt(persona, case) -> str:
    """The persona's system prompt for this case ('' for the baseline)."""
    template = persona.system_prompt_template or ""
    template_placeholders(template)
    values = {
        "role": persona.role,
        "style": persona.style,
        "task_type": case.task_type.replace("_", " "),
        "care_setting": case.care_setting.replace("_", " "),
    }
    return template.format(**values).strip()


def build_user_prompt(case, task_instructions: dict | None = None) -> str:
    instructions = {**DEFAULT_TASK_INSTRUCTIONS, **(task_instructions or {})}
    parts = [case.vignette.strip(), case.question.strip()]
    extra = instructions.get(case.task_type, "")
    if extra:
        parts.append(extra.strip())
    return "\n\n".join(p for p in parts if p)


def build_messages(*, persona, case, task_instructions: dict | None = None) -> list[dict]:
    """OpenAI-style messages. The system message is always present (empty for the baseline)."""
    return [
        {"role": "system", "content": render_system_prompt(persona, case)},
        {"role": "user", "content": build_user_prompt(case, task_instructions)},
    ]


def messages_hash(messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
