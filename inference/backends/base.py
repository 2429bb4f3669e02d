"""The one small interface every generation backend implements.

A batch of chat requests plus sampling settings goes in; one result per (request, sample) comes
out, in request order. Backends know nothing of Django: the job services turn rows into requests
and results into stored responses, so the vLLM engine, an OpenAI-compatible server and imported
files are interchangeable.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Protocol


class TransientBackendError(RuntimeError):
    """A failure worth retrying later (server overloaded, 429/5xx, timeout); the job's task retries it with
    backoff. Any other exception from a backend marks the batch's rows failed with its message."""


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    n: int = 1  # samples per prompt; a backend prefills the prompt once for all n where it can
    json_schema: dict | None = None  # structured output, where the backend supports it

    def as_dict(self) -> dict:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens, "n": self.n,
                **({"json_schema": self.json_schema} if self.json_schema else {})}


@dataclass(frozen=True)
class ChatRequest:
    key: str  # the caller's row key, echoed in results (idempotency is the caller's unique constraint)
    messages: list[dict]
    seed: int | None = None  # per-request seed: reproducible regardless of what else is in the batch


@dataclass
class ChatResult:
    key: str
    sample_index: int
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = ""
    seconds: float | None = None
    rendered_prompt: str = ""  # the prompt after the chat template, where the backend knows it
    error: str = ""  # non-empty: this row failed (recorded, retried alone later)
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


class ChatBackend(Protocol):
    name: str

    def chat(self, requests: list[ChatRequest], sampling: SamplingSettings) -> list[ChatResult]:
        """Return len(requests) * sampling.n results, grouped by request in input order."""

    def info(self) -> dict:
        """Provenance stored with every response: engine, versions, model revision, hardware."""


def iter_results(backend: ChatBackend, requests: list[ChatRequest],
                 sampling: SamplingSettings) -> Iterator[list[ChatResult]]:
    """A batch's results grouped per request: as each finishes where the backend streams them
    (`chat_iter`, e.g. vLLM), otherwise all once `chat` returns."""
    stream = getattr(backend, "chat_iter", None)
    if stream is not None:
        yield from stream(requests, sampling)
        return
    for _, results in groupby(backend.chat(requests, sampling), key=lambda result: result.key):
        yield list(results)
