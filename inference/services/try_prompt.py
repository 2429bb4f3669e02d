"""Try one prompt: one real call through a model spec's backend, answered on the page that asked.

The call goes through `backend_for(spec)` like a generation job's, with the spec's sampling settings and
seed, but one request and one sample, a single attempt and a bounded wait: a server that does not answer
within the timeout is reported, never waited on. Every failure (a refused base URL, an unset key variable,
an unreachable server, an HTTP error) comes back as the result's `error`. One try at a time per user.
The vLLM offline engine is not started in a web process: it loads the model on the GPU worker.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from django.core.cache import cache

from config.exceptions import ApplicationError
from studies.models import Backend, ModelSpec

from ..backends import ChatRequest, SamplingSettings, TransientBackendError, backend_for

TIMEOUT_SECONDS = 60.0
MAX_PROMPT_CHARS = 50_000
LOCK_KEY = "try-prompt:user:{}"


@dataclass
class TryResult:
    messages: list[dict]
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = ""
    latency_s: float | None = None
    error: str = ""
    backend: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


def try_messages(*, system: str, user: str) -> list[dict]:
    """The messages sent: the system message always present (empty: an explicit empty one, as for the
    no-persona baseline), then the user message."""
    return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.strip()}]


def _check(spec: ModelSpec, user: str) -> None:
    if not user.strip():
        raise ApplicationError("Write a user message.", extra={"fields": {"user_message": "is required"}})
    if len(user) > MAX_PROMPT_CHARS:
        raise ApplicationError(f"The user message is longer than {MAX_PROMPT_CHARS:,} characters.",
                               extra={"fields": {"user_message": "is too long"}})
    dry_run = bool((spec.engine_options or {}).get("dry_run"))
    if spec.backend == Backend.VLLM and not dry_run:
        raise ApplicationError(
            f"'{spec.name}' runs on the vLLM offline engine, which loads the model on the GPU worker, not in the "
            "web server: try it through an OpenAI-compatible server (`vllm serve`) or run a generation job.")
    if spec.backend == Backend.IMPORTED and not dry_run:
        raise ApplicationError(f"'{spec.name}' holds imported responses: there is no model to call.")


def _bounded(backend, timeout: float):
    """One attempt, and the timeout, for a backend that retries and waits (the OpenAI-compatible client)."""
    if hasattr(backend, "max_attempts"):
        backend.max_attempts = 1
    if hasattr(backend, "timeout"):
        backend.timeout = min(float(backend.timeout), timeout)
    return backend


def _call(spec: ModelSpec, result: TryResult, timeout: float) -> None:
    try:
        backend = _bounded(backend_for(spec), timeout)
    except ApplicationError as exc:
        result.error = exc.message
        return
    result.backend = getattr(backend, "name", "")
    request = ChatRequest(key="try", messages=result.messages, seed=spec.seed)
    sampling = SamplingSettings(temperature=spec.temperature, top_p=spec.top_p, max_tokens=spec.max_tokens, n=1)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="try-prompt")
    started = time.monotonic()
    try:
        answers = pool.submit(backend.chat, [request], sampling).result(timeout=timeout)
    except FutureTimeout:
        result.error = f"No answer within {timeout:g} seconds; the call was abandoned."
    except (TransientBackendError, ApplicationError) as exc:
        result.error = str(getattr(exc, "message", exc))
    except Exception as exc:  # noqa: BLE001 - any failure of the call is shown on the page, never a 500
        result.error = f"{type(exc).__name__}: {exc}"
    else:
        answer = answers[0]
        result.text, result.error, result.finish_reason = answer.text, answer.error, answer.finish_reason
        result.prompt_tokens, result.completion_tokens = answer.prompt_tokens, answer.completion_tokens
        result.extra = {k: v for k, v in answer.extra.items() if k in ("attempts", "response_id")}
    finally:
        result.latency_s = time.monotonic() - started
        pool.shutdown(wait=False, cancel_futures=True)


def try_prompt(*, spec: ModelSpec, system: str, user: str, user_id=None,
               timeout: float = TIMEOUT_SECONDS) -> TryResult:
    """One call with these messages; refuses (ApplicationError) a second try by the same user while one runs."""
    _check(spec, user)
    lock = LOCK_KEY.format(user_id)
    if user_id is not None and not cache.add(lock, 1, timeout=int(timeout) + 30):
        raise ApplicationError("Your previous try is still waiting for its answer; try again when it has one.",
                               status_code=429)
    try:
        result = TryResult(messages=try_messages(system=system, user=user))
        _call(spec, result, timeout)
        return result
    finally:
        if user_id is not None:
            cache.delete(lock)
