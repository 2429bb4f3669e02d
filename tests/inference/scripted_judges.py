"""Several judges served by one loopback OpenAI-compatible server, each answering as the test scripts it.

Test plumbing only: the answers are FIXTURES shaped like a judge's answer (the values a test chooses for
each judge and response), never model output. The judges go through the real pipeline: judge jobs,
inference.judge's prompt, structured-output request, parsing and validation, and JudgeScore rows.
"""
from __future__ import annotations

import json

from tests import factories
from tests.inference.openai_stub import FIXTURE_PREFIX, Reply, last_user_message

UNPARSEABLE = None  # in a script: this judge answers this response with text that is not JSON


def stub_judge(name: str, server):
    """A judge spec served by `server` under its own name (the request's "model" tells the judges apart)."""
    return factories.ModelSpecFactory(name=name, judge=True, backend="openai", api_base=server.url, model_path=name,
                                      temperature=0.0)


def scripted_replies(script: dict[str, dict[str, dict | None]]):
    """The server's `default`: script[judge name][response text] = {dimension: value} (or UNPARSEABLE)."""

    def reply(body: dict) -> Reply:
        user = last_user_message(body)
        answers = script[body["model"]]
        text = next(t for t in answers if f"Response to rate:\n<<<\n{t}\n>>>" in user)
        values = answers[text]
        if values is UNPARSEABLE:
            return Reply(text=f"{FIXTURE_PREFIX} no JSON here")
        return Reply(text=json.dumps({key: {"value": value, "confidence": "high"} for key, value in values.items()}))

    return reply
