"""Any OpenAI-compatible server (`vllm serve`, OpenAI itself): POST /v1/chat/completions over httpx.

Requests go out concurrently through a bounded thread pool (the server batches what is in flight).
Transient failures (429, 5xx, 408, timeouts, dropped connections) are retried with exponential
backoff and jitter, honouring Retry-After, a bounded number of times; any other 4xx is the caller's
mistake and fails at once with the server's message. A row that still fails comes back as
`ChatResult.error`, so one bad row never sinks the batch. Only when EVERY row failed transiently
(the server is down or overloaded) does the batch raise TransientBackendError, so that the job's
task retries it later instead of recording a whole chunk as failed.
"""
from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from .base import ChatRequest, ChatResult, SamplingSettings, TransientBackendError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
# How structured output is asked for: `response_format` (OpenAI; vLLM >= 0.12 maps it onto its own
# structured outputs), vLLM's `structured_outputs` body field, or both (vLLM only: OpenAI rejects
# unknown fields).
STRUCTURED_OUTPUT_MODES = ("response_format", "structured_outputs", "both", "none")


class _Failure(Exception):
    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None):
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class OpenAIServerBackend:
    name = "openai"

    def __init__(
        self,
        *,
        api_base: str,
        model: str,
        api_key: str = "",
        max_concurrency: int = 16,
        timeout: float = 120.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        structured_output: str = "response_format",
        extra_body: dict | None = None,
        sleep=time.sleep,
    ):
        if structured_output not in STRUCTURED_OUTPUT_MODES:
            raise ValueError(f"structured_output must be one of {STRUCTURED_OUTPUT_MODES}")
        self.api_base = api_base.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout = float(timeout)
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.structured_output = structured_output
        self.extra_body = dict(extra_body or {})
        self._sleep = sleep  # injectable so tests can see the waits without spending them
        self._info: dict | None = None

    @classmethod
    def from_spec(cls, spec) -> OpenAIServerBackend:
        """From a ModelSpec: `api_base`, `model_path` (the served model name), the key from the environment
        variable named by `api_key_env` (none when it is empty), and `engine_options` (max_concurrency,
        timeout, max_attempts, structured_output, extra_body) over the settings.

        The URL is checked against MODEL_API_BASE_ALLOWLIST again here, so a spec saved before the list
        changed sends nothing (and no key) to a server that is no longer allowed."""
        from django.conf import settings

        from config.exceptions import ApplicationError
        from studies.services.model_specs import api_base_problem

        if not spec.api_base:
            raise ApplicationError(f"Model {spec.name} uses an OpenAI-compatible server but has no API base URL.")
        problem = api_base_problem(spec.api_base)
        if problem:
            raise ApplicationError(f"Model {spec.name}: the API base URL {problem}.")
        options = spec.engine_options or {}
        try:
            return cls(
                api_base=spec.api_base,
                model=spec.model_path,
                api_key=_api_key(spec),
                max_concurrency=options.get("max_concurrency", settings.OPENAI_MAX_CONCURRENCY),
                timeout=options.get("timeout", settings.OPENAI_TIMEOUT_SECONDS),
                max_attempts=options.get("max_attempts", settings.OPENAI_MAX_ATTEMPTS),
                structured_output=options.get("structured_output", "response_format"),
                extra_body=options.get("extra_body"),
            )
        except (TypeError, ValueError) as exc:
            raise ApplicationError(f"Model {spec.name}: bad engine options: {exc}") from exc

    # --- the ChatBackend interface ---------------------------------------------------------------

    def info(self) -> dict:
        """Provenance: the server's own description of the served model, when /v1/models answers."""
        if self._info is None:
            info = {"engine": "openai-compatible", "api_base": self.api_base, "model": self.model}
            try:
                with self._client() as client:
                    response = client.get(f"{self.api_base}/models", timeout=min(self.timeout, 10.0))
                    response.raise_for_status()
                    models = response.json().get("data", [])
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                info["models_error"] = str(exc)[:300]
            else:
                info["server_models"] = [m.get("id") for m in models if isinstance(m, dict)]
                served = next((m for m in models if isinstance(m, dict) and m.get("id") == self.model), None)
                if served:
                    info.update({k: served[k] for k in ("root", "owned_by", "max_model_len") if k in served})
            self._info = info
        return dict(self._info)

    def chat(self, requests: list[ChatRequest], sampling: SamplingSettings) -> list[ChatResult]:
        if not requests:
            return []
        with self._client() as client, ThreadPoolExecutor(
            max_workers=min(self.max_concurrency, len(requests)), thread_name_prefix="openai"
        ) as pool:
            per_request = list(pool.map(lambda r: self._one(client, r, sampling), requests))
        failures = [results for results in per_request if results[0].error]
        if len(failures) == len(requests) and all(r[0].extra.get("transient") for r in failures):
            raise TransientBackendError(f"all {len(requests)} requests failed: {failures[0][0].error}")
        return [result for results in per_request for result in results]

    # --- one request ---------------------------------------------------------------------------------

    def body(self, request: ChatRequest, sampling: SamplingSettings) -> dict:
        body = {
            "model": self.model,
            "messages": request.messages,
            "n": sampling.n,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        schema = sampling.json_schema
        if schema and self.structured_output in ("response_format", "both"):
            body["response_format"] = {
                "type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        if schema and self.structured_output in ("structured_outputs", "both"):
            body["structured_outputs"] = {"json": schema}
        body.update(self.extra_body)
        return body

    def _one(self, client: httpx.Client, request: ChatRequest, sampling: SamplingSettings) -> list[ChatResult]:
        started = time.monotonic()
        attempts = 0
        try:
            payload, attempts = self._post_with_retries(client, self.body(request, sampling))
            try:
                return self._results(request, sampling, payload, seconds=time.monotonic() - started,
                                     attempts=attempts)
            except (AttributeError, TypeError, ValueError) as exc:
                raise _Failure(f"malformed response: {type(exc).__name__}: {exc}", transient=False) from exc
        except _Failure as failure:
            seconds = time.monotonic() - started
            extra = {"transient": failure.transient}
            return [ChatResult(key=request.key, sample_index=i, error=str(failure), seconds=seconds, extra=extra)
                    for i in range(sampling.n)]

    def _post_with_retries(self, client: httpx.Client, body: dict) -> tuple[dict, int]:
        url = f"{self.api_base}/chat/completions"
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._post(client, url, body), attempt
            except _Failure as failure:
                if not failure.transient:
                    raise
                if attempt == self.max_attempts:
                    raise _Failure(f"gave up after {attempt} attempts: {failure}", transient=True) from failure
                delay = self._delay(attempt, failure.retry_after)
                logger.info("retrying %s in %.1fs (attempt %d/%d): %s", url, delay, attempt, self.max_attempts,
                            failure)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, client: httpx.Client, url: str, body: dict) -> dict:
        try:
            response = client.post(url, json=body)
        except httpx.TimeoutException as exc:
            raise _Failure(f"timed out after {self.timeout:g}s ({type(exc).__name__})", transient=True) from exc
        except httpx.TransportError as exc:
            raise _Failure(f"connection error: {exc or type(exc).__name__}", transient=True) from exc
        status = response.status_code
        if status == 200:
            try:
                payload = response.json()
                if not isinstance(payload.get("choices"), list):
                    raise ValueError("no 'choices' list")
            except (ValueError, AttributeError) as exc:
                raise _Failure(f"malformed response from {url}: {exc}", transient=False) from exc
            return payload
        message = f"HTTP {status} from {url}: {_error_message(response)}"
        if status in RETRY_STATUSES or status >= 500:
            raise _Failure(message, transient=True, retry_after=_retry_after(response))
        raise _Failure(message, transient=False)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After is a floor (capped: never wait hours)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, max(self.backoff_max, 60.0)))
        return delay

    def _results(self, request, sampling, payload: dict, *, seconds: float, attempts: int) -> list[ChatResult]:
        usage = payload.get("usage") or {}
        choices = sorted(payload["choices"], key=lambda c: c.get("index", 0))
        # Usage is per request: completion tokens are per sample only when there is one sample.
        completion_tokens = usage.get("completion_tokens") if sampling.n == 1 else None
        extra = {"attempts": attempts, "usage": usage, "response_id": payload.get("id", "")}
        results = [
            ChatResult(
                key=request.key, sample_index=i, text=(choice.get("message") or {}).get("content") or "",
                prompt_tokens=usage.get("prompt_tokens"), completion_tokens=completion_tokens,
                finish_reason=choice.get("finish_reason") or "", seconds=seconds, extra=dict(extra),
            )
            for i, choice in enumerate(choices[: sampling.n])
        ]
        results += [
            ChatResult(key=request.key, sample_index=i, seconds=seconds, extra=dict(extra),
                       error=f"server returned {len(choices)} of {sampling.n} samples")
            for i in range(len(results), sampling.n)
        ]
        return results

    def _client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
        return httpx.Client(headers=headers, timeout=httpx.Timeout(self.timeout), limits=limits)


def _api_key(spec) -> str:
    """The key from the variable the spec names; "" when it names none. A named but unset variable is an error."""
    from config.exceptions import ApplicationError
    from studies.services.model_specs import API_KEY_ENV

    name = getattr(spec, "api_key_env", "") or ""
    if not name:
        return ""
    if not API_KEY_ENV.match(name):
        raise ApplicationError(f"Model {spec.name}: api_key_env {name!r} is not the name of an API key variable.")
    key = os.environ.get(name, "")
    if not key:
        raise ApplicationError(f"Model {spec.name}: the environment variable {name} (api_key_env) is not set in "
                               "this process.")
    return key


def _error_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)[:500]
        return str(error)[:500]
    return str(payload)[:500]


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
