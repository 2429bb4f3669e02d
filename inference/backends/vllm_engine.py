"""vLLM's offline engine (`vllm.LLM`): whole batches through one `LLM.chat` call.

One engine per worker process, created on first use and kept: loading a model takes minutes and vLLM
does not reliably free its memory when an engine is dropped. The GPU worker runs Celery's solo pool
(`celery -A config worker -Q gpu --pool=solo`): no process is forked after CUDA is initialised (CUDA
cannot survive a fork), the worker process is not daemonic so vLLM may start its engine-core process,
and nothing here runs at import time, so importing this module in a web process costs nothing.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .base import ChatRequest, ChatResult, SamplingSettings, TransientBackendError

logger = logging.getLogger(__name__)

# ModelSpec.engine_options keys that are ours, not vLLM engine arguments.
OWN_OPTIONS = {"dry_run", "delay_s"}


@dataclass
class _Engine:
    key: str
    llm: object
    info: dict


_ENGINE: _Engine | None = None


def engine_kwargs(*, model_path: str, revision: str = "", options: dict | None = None) -> dict:
    """`vllm.LLM` arguments: the settings' defaults, then the spec's engine options (dtype, ...)."""
    from django.conf import settings

    kwargs = {
        "model": model_path,
        "enable_prefix_caching": True,
        "gpu_memory_utilization": settings.VLLM_GPU_MEMORY_UTILIZATION,
        "max_model_len": settings.VLLM_MAX_MODEL_LEN,
        # Neutral defaults: sampling comes only from the spec (stored with each response), never from
        # the checkpoint's generation_config.json.
        "generation_config": "vllm",
        "seed": 0,
    }
    if revision and not Path(model_path).is_dir():
        kwargs["revision"] = revision  # a hub revision; for a local folder it is only a label (see info())
    kwargs.update({k: v for k, v in (options or {}).items() if k not in OWN_OPTIONS})
    return kwargs


def get_engine(**kwargs) -> _Engine:
    """The process's engine for these arguments; a different model replaces the current one."""
    global _ENGINE
    key = json.dumps(kwargs, sort_keys=True, default=str)
    if _ENGINE is not None and _ENGINE.key == key:
        return _ENGINE
    if _ENGINE is not None:
        logger.warning("replacing the vLLM engine (%s); run one GPU worker per model to avoid reloads",
                       _ENGINE.info.get("model"))
        engine_shutdown()
    import torch
    import vllm
    from vllm.platforms import current_platform

    if current_platform.is_cpu():
        # vLLM's CPU build crashes the engine ("CPU Generator does not use offset") when a seeded request's
        # prompt is split over two steps by chunked prefill; whole-prompt scheduling avoids it.
        kwargs = {"enable_chunked_prefill": False, **kwargs}
    started = time.monotonic()
    llm = vllm.LLM(**kwargs)
    model_config = llm.llm_engine.model_config
    device = current_platform.device_type
    if device == "cuda":
        device = f"cuda: {torch.cuda.get_device_name(0)}"
    info = {
        "engine": "vllm",
        "vllm_version": vllm.__version__,
        "torch_version": torch.__version__,
        "model": kwargs["model"],
        "revision": kwargs.get("revision", ""),
        "dtype": str(model_config.dtype).removeprefix("torch."),
        "device": device,
        "max_model_len": model_config.max_model_len,
        "prefix_caching": bool(kwargs.get("enable_prefix_caching")),
        "engine_args": {k: v for k, v in kwargs.items() if k != "model"},
    }
    logger.info("vLLM engine ready in %.1f s: %s", time.monotonic() - started, info)
    _ENGINE = _Engine(key=key, llm=llm, info=info)
    return _ENGINE


def engine_shutdown() -> None:
    """Stop the process's engine and its engine-core process (tests, scripts, switching models)."""
    global _ENGINE
    if _ENGINE is None:
        return
    engine, _ENGINE = _ENGINE, None
    core = getattr(getattr(engine.llm, "llm_engine", None), "engine_core", None)
    if core is not None and hasattr(core, "shutdown"):
        core.shutdown()
    del engine
    import gc

    gc.collect()


def prefix_order(requests: list[ChatRequest]) -> list[int]:
    """Indices of `requests` ordered so that shared prompt prefixes are adjacent.

    The system message (persona) comes first in every prompt, so sorting by it, then by the user
    turn (case), keeps prefix-cache blocks hot; identical prompts (samples of one cell) end up together.
    """
    return sorted(range(len(requests)), key=lambda i: json.dumps(requests[i].messages, ensure_ascii=False))


class VllmBackend:
    name = "vllm"

    def __init__(self, *, model_path: str, revision: str = "", options: dict | None = None):
        self.revision = revision
        self.kwargs = engine_kwargs(model_path=model_path, revision=revision, options=options)

    @property
    def engine(self) -> _Engine:
        return get_engine(**self.kwargs)

    def info(self) -> dict:
        return {**self.engine.info, "revision": self.revision}

    def sampling_params(self, request: ChatRequest, sampling: SamplingSettings):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = StructuredOutputsParams(json=sampling.json_schema) if sampling.json_schema else None
        return SamplingParams(n=sampling.n, temperature=sampling.temperature, top_p=sampling.top_p,
                              max_tokens=sampling.max_tokens, seed=request.seed, structured_outputs=structured)

    def chat(self, requests: list[ChatRequest], sampling: SamplingSettings) -> list[ChatResult]:
        by_key: dict[str, list[ChatResult]] = {}
        for results in self.chat_iter(requests, sampling):
            by_key[results[0].key] = results
        return [result for request in requests for result in by_key[request.key]]

    def chat_iter(self, requests: list[ChatRequest], sampling: SamplingSettings) -> Iterator[list[ChatResult]]:
        """The batch's results request by request, as each finishes (all its samples together).

        All requests go to the engine at once, as `LLM.chat` does (`enqueue_chat` is its first half),
        and the engine is stepped here as in `LLM.chat`'s second half; yielding each finished request
        lets the caller store results while the engine-core process keeps generating the rest.
        """
        if not requests:
            return
        llm = self.engine.llm
        batch = [requests[i] for i in prefix_order(requests)]
        started = time.monotonic()
        unfinished: set[str] = set()
        try:
            # enqueue_chat answers internal ids ("7-1a2b3c4d"); outputs carry the caller-facing part ("7").
            request_ids = [rid.split("-", 1)[0] for rid in llm.enqueue_chat(
                [r.messages for r in batch], [self.sampling_params(r, sampling) for r in batch], use_tqdm=False)]
            by_id = dict(zip(request_ids, batch, strict=True))
            unfinished = set(request_ids)
            while unfinished and llm.llm_engine.has_unfinished_requests():
                for output in llm.llm_engine.step():
                    if not output.finished or output.request_id not in unfinished:
                        continue
                    unfinished.discard(output.request_id)
                    yield self._results(by_id[output.request_id], output, time.monotonic() - started, len(batch))
            if unfinished:
                raise RuntimeError(f"the vLLM engine dropped {len(unfinished)} request(s) without an output")
        except Exception as exc:
            if type(exc).__name__ != "EngineDeadError":
                raise
            engine_shutdown()  # a dead engine never recovers; the retried task starts a fresh one
            raise TransientBackendError(f"the vLLM engine died: {exc}") from exc
        finally:
            if unfinished and _ENGINE is not None:
                llm.llm_engine.abort_request(sorted(unfinished))  # the caller stopped early: leave the engine clean

    def _results(self, request: ChatRequest, output, seconds: float, batch_size: int) -> list[ChatResult]:
        rendered = output.prompt or self.render(request.messages)
        return [
            ChatResult(
                key=request.key, sample_index=completion.index, text=completion.text,
                prompt_tokens=len(output.prompt_token_ids or []), completion_tokens=len(completion.token_ids),
                finish_reason=completion.finish_reason or "", seconds=seconds, rendered_prompt=rendered,
                extra={"batch_size": batch_size},
            )
            for completion in sorted(output.outputs, key=lambda c: c.index)
        ]

    def render(self, messages: list[dict]) -> str:
        tokenizer = self.engine.llm.get_tokenizer()
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
