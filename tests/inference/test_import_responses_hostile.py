"""Responses files that must never reach the database or the server's disk beyond one folder.

A lone surrogate or a NUL in a row is a row error (PostgreSQL stores neither in text); the imported
backend reads only files inside IMPORTED_RESPONSES_DIR, and checks a file's size before reading it.
"""
import io
import json
import os
import pathlib

import pytest

from config.exceptions import ApplicationError
from inference.backends import backend_for
from inference.backends.base import ChatRequest, SamplingSettings
from inference.importers import responses_import
from studies.models import Response
from tests.inference.test_import_responses import jsonl, row
from tests.inference.test_import_responses import study as study  # noqa: F401  (the fixture)


def escaped(line: dict, old: str, new: str) -> str:
    """The row as a JSON line with `old` replaced by a raw JSON escape (json.dumps would re-escape it)."""
    return json.dumps(line).replace(old, new)


@pytest.mark.parametrize(("field", "escape", "message"), [
    ("text", "\\ud800", "contains a lone surrogate (U+D800), which is not a character"),
    ("text", "\\u0000", "contains a NUL character (U+0000), which cannot be stored"),
    ("rendered_prompt", "\\udfff", "contains a lone surrogate (U+DFFF), which is not a character"),
    ("finish_reason", "\\u0000", "contains a NUL character (U+0000), which cannot be stored"),
])
def test_a_lone_surrogate_or_nul_in_a_row_is_a_row_error(study, field, escape, message):  # noqa: F811
    line = row(study, **{field: "MARK"})
    result = responses_import(study=study, file=io.BytesIO(
        jsonl([row(study, sample=1), escaped(line, "MARK", f"before {escape} after")])), filename="r.jsonl",
        dry_run=True)
    assert not result.ok
    assert [str(e) for e in result.errors] == [f"row 2, {field}: {message}"]
    assert not Response.objects.exists()


def test_a_nul_in_provenance_is_refused_and_a_real_import_raises(study):  # noqa: F811
    line = row(study, provenance={"engine": "MARK"})
    with pytest.raises(ApplicationError) as caught:
        responses_import(study=study, file=io.BytesIO(jsonl([escaped(line, "MARK", "x\\u0000")])),
                         filename="r.jsonl")
    assert caught.value.extra["errors"][0]["text"] == (
        "row 1, provenance: contains a NUL character (U+0000), which cannot be stored")
    assert not Response.objects.exists()


def imported(study, name):  # noqa: F811
    spec = study.model_specs.get(name="model-a")
    spec.backend, spec.engine_options = "imported", {"responses_file": name}
    return spec


def test_the_imported_backend_reads_only_inside_its_folder(study, tmp_path, settings):  # noqa: F811
    folder, outside = tmp_path / "responses", tmp_path / "secret"
    folder.mkdir(), outside.mkdir()
    (outside / "passwd.jsonl").write_bytes(jsonl([row(study)]))
    (folder / "inside.jsonl").write_bytes(jsonl([row(study)]))
    os.symlink(outside / "passwd.jsonl", folder / "link.jsonl")
    settings.IMPORTED_RESPONSES_DIR = folder

    for name in (str(outside / "passwd.jsonl"), "../secret/passwd.jsonl", "link.jsonl", "/etc/passwd"):
        with pytest.raises(ApplicationError, match=r"must be inside .* \(IMPORTED_RESPONSES_DIR\)"):
            backend_for(imported(study, name))
    for name in ("inside.jsonl", str(folder / "inside.jsonl")):
        assert backend_for(imported(study, name)).info()["rows"] == 1
    with pytest.raises(ApplicationError, match="must be a file name"):
        backend_for(imported(study, ["inside.jsonl"]))


def test_the_imported_backend_checks_the_size_before_reading(study, tmp_path, settings, monkeypatch):  # noqa: F811
    settings.IMPORTED_RESPONSES_DIR = tmp_path
    settings.CASE_UPLOAD_MAX_BYTES = 1024
    with open(tmp_path / "big.jsonl", "wb") as fh:  # a sparse 10 GB file: reading it would take the worker down
        fh.truncate(10 * 1024**3)

    def no_read(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(pathlib.Path, "read_bytes", no_read)
    monkeypatch.setattr("builtins.open", no_read)
    backend = backend_for(imported(study, "big.jsonl"))
    with pytest.raises(ApplicationError, match=r"^big.jsonl: The file is 10.0 GB; the limit is 1.0 KB"):
        backend.info()


def test_the_imported_backend_refuses_a_nul_in_a_served_row(study, tmp_path, settings):  # noqa: F811
    settings.IMPORTED_RESPONSES_DIR = tmp_path
    line = row(study, text="MARK")
    (tmp_path / "r.jsonl").write_text(escaped(line, "MARK", "a\\u0000b") + "\n")
    backend = backend_for(imported(study, "r.jsonl"))
    with pytest.raises(ApplicationError, match=r"^r.jsonl, row 1: contains a NUL character"):
        backend.chat([ChatRequest(key="1", messages=line["prompt_messages"])], SamplingSettings())
