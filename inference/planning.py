"""Pure planning helpers for generation jobs: per-row seeds and chunking. No Django here."""
from __future__ import annotations

import hashlib


def row_seed(*, base_seed: int, case_key: str, persona_key: str, sample_index: int) -> int:
    """A 31-bit seed for one grid cell, from the model's base seed and stable natural keys.

    Natural keys (case set name/version + external id, persona slug/version) rather than database ids,
    so the same study set up in another database samples with the same seeds. The model is not part of
    the key: two models with the same base seed get the same seed per cell (a paired design).
    """
    key = f"{base_seed}|{case_key}|{persona_key}|{sample_index}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


def chunk_of(position: int, chunk_size: int) -> int:
    """The chunk (Celery task) number of the row at `position` in the job's planned order."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    return position // chunk_size
