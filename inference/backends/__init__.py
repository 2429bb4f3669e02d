"""Backends: the factory that turns a ModelSpec into the backend that serves it.

Each backend module is imported only when chosen, so a web process never imports vLLM or torch.
"""
from __future__ import annotations

from .base import ChatBackend, ChatRequest, ChatResult, SamplingSettings, TransientBackendError

__all__ = ["ChatBackend", "ChatRequest", "ChatResult", "SamplingSettings", "TransientBackendError", "backend_for"]


def backend_for(spec) -> ChatBackend:
    """The backend for a `studies.models.ModelSpec`."""
    from config.exceptions import ApplicationError
    from studies.choices import Backend

    options = dict(spec.engine_options or {})
    if options.get("dry_run"):
        from .dryrun import DryRunBackend

        return DryRunBackend(model_path=spec.model_path, delay_s=options.get("delay_s", 0.0))
    if spec.backend == Backend.VLLM:
        from .vllm_engine import VllmBackend

        return VllmBackend(model_path=spec.model_path, revision=spec.revision, options=options)
    if spec.backend == Backend.OPENAI:
        from .openai_server import OpenAIServerBackend

        return OpenAIServerBackend.from_spec(spec)
    if spec.backend == Backend.IMPORTED:
        from .imported import ImportedBackend

        return ImportedBackend.from_spec(spec)
    raise ApplicationError(f"Unknown backend {spec.backend!r} for model {spec.name}.")
