"""A deterministic stand-in for a model, for exercising the pipeline without one (tests, dry runs).

Selected by `ModelSpec.engine_options = {"dry_run": true}` (optionally `"delay_s"`: seconds per
request). Its text is a labelled hash of the prompt and seed, never anything that reads like an answer,
and its responses carry backend "dry-run" so they can never pass for model output.
"""
from __future__ import annotations

import hashlib
import json
import time

from .base import ChatRequest, ChatResult, SamplingSettings


class DryRunBackend:
    name = "dry-run"

    def __init__(self, *, model_path: str = "", delay_s: float = 0.0):
        self.model_path = model_path
        self.delay_s = float(delay_s)

    def info(self) -> dict:
        return {"engine": "dry-run", "model": self.model_path, "delay_s": self.delay_s}

    def chat(self, requests: list[ChatRequest], sampling: SamplingSettings) -> list[ChatResult]:
        results = []
        for request in requests:
            if self.delay_s:
                time.sleep(self.delay_s)
            rendered = json.dumps(request.messages, ensure_ascii=False, sort_keys=True)
            for sample in range(sampling.n):
                digest = hashlib.sha256(f"{rendered}|{request.seed}|{sample}".encode()).hexdigest()
                tokens = 1 + int(digest[:4], 16) % max(1, sampling.max_tokens)
                text = f"[dry run {digest[:12]}] " + " ".join(digest[i % 60:i % 60 + 4] for i in range(tokens - 1))
                results.append(ChatResult(
                    key=request.key, sample_index=sample, text=text.strip(), prompt_tokens=len(rendered.split()),
                    completion_tokens=tokens, finish_reason="length" if tokens == sampling.max_tokens else "stop",
                    seconds=self.delay_s, rendered_prompt=rendered,
                ))
        return results
