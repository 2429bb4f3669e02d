"""What every server-rendered page does with a service's refusal."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import messages

from .exceptions import ApplicationError


@dataclass
class Outcome:
    ok: bool = False
    error: ApplicationError | None = None


def error_text(exc: ApplicationError) -> str:
    """The message, with any per-field problems it does not already name."""
    fields = [f"{name} {problem}" for name, problem in exc.extra.get("fields", {}).items()
              if str(problem) not in exc.message]
    return " ".join([exc.message, *fields]) if fields else exc.message


@contextmanager
def shown_as_message(request) -> Iterator[Outcome]:
    """Run a service call for a page: an ApplicationError becomes an error message, never a 500.

        with shown_as_message(request) as outcome:
            study = study_create(...)
        if outcome.ok:
            return redirect(...)
    """
    outcome = Outcome()
    try:
        yield outcome
    except ApplicationError as exc:
        outcome.error = exc
        messages.error(request, error_text(exc))
    else:
        outcome.ok = True
