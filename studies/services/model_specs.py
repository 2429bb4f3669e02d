"""Model specs: create and update with validation from the declared shapes (studies.shapes)."""
from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from config.exceptions import ApplicationError
from config.services import model_update

from ..models import Backend, ModelSpec, StudyStatus
from ..shapes import ENGINE_OPTIONS, SAMPLING, problems
from .audit import audit_record_for_studies

MODEL_SPEC_FIELDS = ("name", "backend", "model_path", "revision", "api_base", "api_key_env", "temperature", "top_p",
                     "max_tokens", "seed", "samples_per_prompt", "engine_options", "is_judge", "rubric_prompt")
# What a generated response or judge score depends on: frozen once the spec has produced any.
MODEL_SPEC_OUTPUT_FIELDS = ("backend", "model_path", "revision", "temperature", "top_p", "max_tokens", "seed",
                            "samples_per_prompt", "engine_options", "is_judge", "rubric_prompt")
SAMPLING_FIELDS = tuple(SAMPLING["properties"])
# A key variable is named for what it holds: the server's other secrets (SECRET_KEY, DATABASE_URL, ...) never match.
API_KEY_ENV = re.compile(r"^[A-Z][A-Z0-9_]{0,90}_API_KEY$")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(url) -> int | None:
    try:
        return url.port or DEFAULT_PORTS.get(url.scheme)
    except ValueError:
        return None


def _allowed_by(entry: str, url) -> bool:
    """A host name ("gpu", "*.example.org") or a URL prefix ("https://api.openai.com/v1") lets `url` through."""
    entry = entry.strip()
    if "://" not in entry:
        host = entry.lower()
        if host.startswith("*."):
            return url.hostname.endswith(host[1:])
        return url.hostname == host
    prefix = urlsplit(entry)
    return (url.scheme == prefix.scheme and url.hostname == prefix.hostname and _port(url) == _port(prefix)
            and (url.path.rstrip("/") + "/").startswith(prefix.path.rstrip("/") + "/"))


def api_base_problem(api_base: str) -> str | None:
    """Why a model server URL may not be used, or None. MODEL_API_BASE_ALLOWLIST lists what may be; empty
    allows any URL while DEBUG is on and none once it is off."""
    url = urlsplit(api_base)
    if url.scheme not in ("http", "https") or not url.hostname or " " in api_base or _port(url) is None:
        return "must be an http(s) URL such as http://gpu:8000/v1"
    if url.username or url.password:
        return "may not carry a user name or password; name the key's variable in api_key_env"
    allowlist = [e for e in settings.MODEL_API_BASE_ALLOWLIST if e.strip()]
    if not allowlist:
        return None if settings.DEBUG else (
            "is not allowed: no model server is (set MODEL_API_BASE_ALLOWLIST to the hosts or URL prefixes model "
            "servers may use)")
    if any(_allowed_by(entry, url) for entry in allowlist):
        return None
    return f"is not allowed: {url.hostname} is not in MODEL_API_BASE_ALLOWLIST ({', '.join(allowlist)})"


def _as_number(value, kind: str):
    """Form and file values arrive as text: "0.7" is a number; anything else is left for the shape to refuse."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if kind == "integer" and number.is_integer() else number
    return value


def _text_problems(data: dict) -> dict:
    found = {}
    if not data["name"]:
        found["name"] = "is required"
    if data["backend"] not in Backend.values:
        found["backend"] = f"{data['backend']!r} is not one of {', '.join(Backend.values)}"
    if not data["model_path"]:
        found["model_path"] = "is required (hub id, local path or served model name)"
    if data["backend"] == Backend.OPENAI and not data["api_base"]:
        found["api_base"] = "is required for an OpenAI-compatible server (e.g. http://gpu:8000/v1)"
    if data["api_base"]:
        # Not Django's URLValidator: it refuses the bare host names of docker services (http://vllm:8000/v1).
        problem = api_base_problem(data["api_base"])
        if problem:
            found["api_base"] = problem
    if data["api_key_env"] and not API_KEY_ENV.match(data["api_key_env"]):
        found["api_key_env"] = ("must name an environment variable ending in _API_KEY (capital letters, digits and "
                                "_), such as OPENAI_API_KEY")
    if data["is_judge"] and not data["rubric_prompt"]:
        found["rubric_prompt"] = "is required for a judge"
    return found


def model_spec_clean(data: dict) -> dict:
    """Validated model-spec fields (sampling parameters included); raises ApplicationError with every problem."""
    data = {**{f: getattr(ModelSpec(), f) for f in MODEL_SPEC_FIELDS}, **data}
    for key in ("name", "model_path", "revision", "api_base", "api_key_env", "rubric_prompt"):
        data[key] = (data.get(key) or "").strip()
    data["is_judge"] = bool(data["is_judge"])
    for key in SAMPLING_FIELDS:
        data[key] = _as_number(data[key], SAMPLING["properties"][key]["type"])
    found = _text_problems(data)
    for key, messages in problems(SAMPLING, {k: data[k] for k in SAMPLING_FIELDS}).items():
        found[key] = messages[0]
    for key in SAMPLING_FIELDS:
        if isinstance(data[key], float) and not math.isfinite(data[key]):
            found[key] = "must be a finite number"
    if problems(ENGINE_OPTIONS, data["engine_options"]):
        found["engine_options"] = ENGINE_OPTIONS["x-problem"]
    if found:
        raise ApplicationError(
            "Invalid model spec: " + "; ".join(f"{k} {v}" for k, v in found.items()), extra={"fields": found}
        )
    for key in SAMPLING_FIELDS:
        if SAMPLING["properties"][key]["type"] == "integer":
            data[key] = int(data[key])
    return data


@transaction.atomic
def model_spec_create(**fields) -> ModelSpec:
    data = model_spec_clean(fields)
    if ModelSpec.objects.filter(name=data["name"]).exists():
        raise ApplicationError(f"A model spec named '{data['name']}' exists already.")
    return ModelSpec.objects.create(**data)


def model_spec_is_frozen(spec: ModelSpec) -> bool:
    return (spec.responses.exists() or spec.judge_scores.exists() or spec.pairwise_verdicts.exists()
            or spec.studies.exclude(status=StudyStatus.DRAFT).exists()
            or spec.judged_studies.exclude(status=StudyStatus.DRAFT).exists()
            or spec.extra_judged_studies.exclude(status=StudyStatus.DRAFT).exists())


def model_spec_check_update(spec: ModelSpec, changes: dict) -> tuple[dict, list[str]]:
    """(validated fields, names that change); refuses changes to what stored outputs depend on."""
    data = model_spec_clean({**{f: getattr(spec, f) for f in MODEL_SPEC_FIELDS}, **changes})
    changed = [f for f in MODEL_SPEC_FIELDS if getattr(spec, f) != data[f]]
    frozen = [f for f in changed if f in MODEL_SPEC_OUTPUT_FIELDS]
    if frozen and model_spec_is_frozen(spec):
        raise ApplicationError(
            f"'{spec.name}' has produced responses or belongs to a running study, so {', '.join(frozen)} cannot "
            "change (the stored outputs depend on them). Create a new model spec instead.",
            extra={"fields": {f: "frozen: create a new model spec" for f in frozen}},
        )
    if "name" in changed and ModelSpec.objects.filter(name=data["name"]).exclude(pk=spec.pk).exists():
        raise ApplicationError(f"A model spec named '{data['name']}' exists already.",
                               extra={"fields": {"name": "is taken"}})
    return data, changed


@transaction.atomic
def model_spec_update(*, model_spec: ModelSpec, actor=None, **changes) -> ModelSpec:
    unknown = sorted(set(changes) - set(MODEL_SPEC_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown model spec field(s): {', '.join(unknown)}.")
    spec = ModelSpec.objects.select_for_update().get(pk=model_spec.pk)
    data, _changed = model_spec_check_update(spec, changes)
    spec, changed = model_update(instance=spec, fields=MODEL_SPEC_FIELDS, data=data)
    if changed:
        studies = sorted({*spec.studies.all(), *spec.judged_studies.all(), *spec.extra_judged_studies.all()},
                         key=lambda study: study.pk)
        audit_record_for_studies(studies=studies, actor=actor, action="model_spec_updated",
                                 detail={"model_spec": spec.name, "changed": changed})
    return spec
