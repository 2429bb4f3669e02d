"""Pre-generated responses served through the backend interface, for generation jobs of an imported model.

The usual path for pre-generated responses is `manage.py import_responses` (inference.importers),
which validates every row against the study. This backend serves the same JSONL file
(docs/responses-jsonl.md) to a generation job instead: each request is answered with the file's row
for exactly the same prompt messages and sample index, so a response can never be filed under a
prompt it was not generated from. The file is `ModelSpec.engine_options["responses_file"]`; only its
rows naming this model are used. It must lie inside the IMPORTED_RESPONSES_DIR folder (a relative
name is read from there), and its size is checked before it is read.
"""
from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from studies.prompts import messages_hash

from .base import ChatRequest, ChatResult, SamplingSettings


class ImportedBackend:
    name = "imported"

    def __init__(self, *, model_name: str, path: str | Path | None, folder: str | Path | None = None):
        self.model_name = model_name
        self.path = confined_path(path, folder) if path else None
        self._rows: dict[tuple[str, int], dict] | None = None
        self._sha256 = ""

    @classmethod
    def from_spec(cls, spec) -> ImportedBackend:
        return cls(model_name=spec.name, path=(spec.engine_options or {}).get("responses_file"))

    def info(self) -> dict:
        self._load()
        return {"engine": "imported", "model": self.model_name, "file": str(self.path or ""),
                "file_sha256": self._sha256, "rows": len(self._rows or {})}

    def chat(self, requests: list[ChatRequest], sampling: SamplingSettings) -> list[ChatResult]:
        if self.path is None:
            return self._fail(requests, sampling, "this imported model has no responses file "
                                                  "(engine_options.responses_file); use `manage.py import_responses`")
        self._load()
        results = []
        for request in requests:
            digest = messages_hash(request.messages)
            for index in range(sampling.n):
                row = self._rows.get((digest, index))
                if row is None:
                    results.append(ChatResult(key=request.key, sample_index=index,
                                              error=f"{self.path.name} has no response of {self.model_name} to "
                                                    f"these prompt messages (sample {index})"))
                    continue
                results.append(ChatResult(
                    key=request.key, sample_index=index, text=row["text"],
                    prompt_tokens=row.get("prompt_tokens"), completion_tokens=row.get("completion_tokens"),
                    finish_reason=row.get("finish_reason") or "", rendered_prompt=row.get("rendered_prompt") or "",
                    extra={key: row[key] for key in ("seed", "sampling", "provenance") if row.get(key) is not None},
                ))
        return results

    def _load(self) -> None:
        """Index the file's rows for this model by (prompt messages hash, sample index)."""
        if self._rows is not None or self.path is None:
            return
        from django.conf import settings

        from config.exceptions import ApplicationError
        from studies.importers import FileRejected
        from studies.importers.readers import human_bytes, parse_file, read_upload
        from studies.importers.validator import string_problem

        limit = settings.CASE_UPLOAD_MAX_BYTES
        try:
            info = self.path.stat()  # the size first: a file over the limit is never read
            if not stat.S_ISREG(info.st_mode):
                raise ApplicationError(f"The responses file {self.path.name} is not a regular file.")
            if info.st_size > limit:
                raise FileRejected(f"The file is {human_bytes(info.st_size)}; the limit is {human_bytes(limit)} "
                                   "(CASE_UPLOAD_MAX_BYTES).")
            data, _name = read_upload(self.path, filename=self.path.name, max_bytes=limit)
        except OSError as exc:
            raise ApplicationError(f"The responses file {self.path.name} cannot be read: {exc.strerror}.") from None
        except FileRejected as exc:
            raise ApplicationError(f"{self.path.name}: {exc.message}") from None
        try:
            parsed = parse_file(data, filename=self.path.name, format="jsonl",
                                max_bytes=settings.CASE_UPLOAD_MAX_BYTES, max_rows=settings.CASE_UPLOAD_MAX_ROWS)
        except FileRejected as exc:
            raise ApplicationError(f"{self.path.name}: {exc.message}") from None
        rows = {}
        for record in parsed.records:
            row = record.values
            if row.get("model_name") != self.model_name:
                continue
            problem = string_problem(row)
            if problem:
                raise ApplicationError(f"{self.path.name}, row {record.row}: {problem}")
            if not (isinstance(row.get("prompt_messages"), list) and isinstance(row.get("text"), str)
                    and isinstance(row.get("sample_index"), int)):
                raise ApplicationError(f"{self.path.name}, row {record.row}: needs prompt_messages, text and "
                                       "sample_index; check the file with `manage.py import_responses --dry-run`")
            rows[(messages_hash(row["prompt_messages"]), row["sample_index"])] = row
        self._rows, self._sha256 = rows, hashlib.sha256(data).hexdigest()

    @staticmethod
    def _fail(requests, sampling, error: str) -> list[ChatResult]:
        return [ChatResult(key=r.key, sample_index=i, error=error) for r in requests for i in range(sampling.n)]


def confined_path(name: str | Path, folder: str | Path | None = None) -> Path:
    """`name` resolved inside `folder` (IMPORTED_RESPONSES_DIR); a path that leads anywhere else is refused.

    Symbolic links and ".." are resolved first, so neither can lead out of the folder.
    """
    from django.conf import settings

    from config.exceptions import ApplicationError

    root = Path(folder if folder is not None else settings.IMPORTED_RESPONSES_DIR).resolve()
    if not isinstance(name, str | Path) or "\x00" in str(name):
        raise ApplicationError("engine_options.responses_file must be a file name (text).")
    text = str(name)
    path = (root / text).resolve()  # an absolute name replaces root here, and is then checked like any other
    if not path.is_relative_to(root):
        raise ApplicationError(
            f"The responses file must be inside {root} (IMPORTED_RESPONSES_DIR); {text!r} is not. Put the file "
            "there and name it relative to that folder."
        )
    return path
