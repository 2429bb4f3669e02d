"""Clinician pages. Only opaque codes and blinded case/response text ever reach these templates
(annotation.blinding); every view is for clinicians only and finds items among the user's own."""
import json
import uuid
from functools import lru_cache

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import login_required_for_role, role_required
from accounts.roles import CLINICIAN, user_has_role
from config.exceptions import ApplicationError
from config.pages import shown_as_message
from studies.models import StudyStatus
from studies.schema import study_schema

from ..api.serializers import TRUNCATED
from ..blinding import blinded_item, blinded_pair
from ..calibration import (
    calibration_count,
    calibration_feedback,
    calibration_progress,
    instructions_accept,
    instructions_due,
)
from ..models import AssignmentStatus, FlagKind, PreferenceAssignment
from ..rating_form import (
    GLOBAL_SHORTCUTS,
    PREFERENCE_SHORTCUTS,
    preference_payload,
    preference_steps,
    rating_payload,
    rating_steps,
)
from ..request_limits import json_body_check
from ..selectors.rating import (
    enrolment_for_rater,
    enrolment_of,
    rater_enrolments,
    rater_progress,
    rater_submitted_tasks,
    task_current_values,
    task_for_rater,
    task_kind,
    task_progress,
)
from ..services.ratings import item_flag_create, preference_submit, rating_submit, task_draft_save, task_mark_shown

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
KIND_SESSION_KEY = "rate_kind"


@require_GET
@role_required(CLINICIAN)
def rater_home(request):
    return render(request, "annotation/rater_home.html", {"enrolments": rater_enrolments(rater=request.user)})


def _found_or_refused(request, found):
    """A clinician's own item or enrolment, else 404; anyone without the clinician role gets a 403. The
    lookup read the roles along with the row; where it found nothing they are asked for separately."""
    if not user_has_role(request.user, CLINICIAN):
        raise PermissionDenied
    if found is None:
        raise Http404
    return found


def _enrolment_or_404(request, code):
    return _found_or_refused(request, enrolment_for_rater(rater=request.user, code=code))


@require_http_methods(["GET", "POST"])
@login_required_for_role
def study_continue(request, code):
    """Where the clinician left off, on whatever device: their first unsubmitted item. Before the first
    item, once: the study's instructions (and what the calibration items are), until they go on."""
    enrolment = _enrolment_or_404(request, code)
    is_open = enrolment.study.status == StudyStatus.RATING
    if is_open and request.method == "POST":
        instructions_accept(enrolment)
        return redirect("annotation:rate_continue", code=enrolment.code)
    if is_open and instructions_due(enrolment):
        return render(request, "annotation/rate/instructions.html", {
            "enrolment": enrolment, "progress": rater_progress(rater=request.user, study=enrolment.study),
            "study": enrolment.study, "calibration_count": calibration_count(enrolment),
        })
    if enrolment.next_code is not None and is_open:
        kind = "p" if enrolment.study.preference_mode else "a"
        if request.session.get(KIND_SESSION_KEY, "a") != kind:
            request.session[KIND_SESSION_KEY] = kind  # the item's page then looks in the right table first
        return redirect("annotation:rate_task", code=enrolment.next_code)
    return render(request, "annotation/rate/done.html", {
        "enrolment": enrolment, "progress": rater_progress(rater=request.user, study=enrolment.study)})


@require_GET
@role_required(CLINICIAN)
def study_history(request, code):
    enrolment = _enrolment_or_404(request, code)
    return render(request, "annotation/rate/history.html", {
        "enrolment": enrolment, "tasks": rater_submitted_tasks(rater=request.user, study=enrolment.study),
        "progress": rater_progress(rater=request.user, study=enrolment.study),
    })


def _task_or_404(request, code, progress=False):
    """The item, looked for first among the kind of item this clinician last opened (a study is either
    rating or side by side, so that is nearly always the right table); with `progress`, the rater's progress
    read along with it (for the page)."""
    kind = request.session.get(KIND_SESSION_KEY, "a")
    task = _found_or_refused(request, task_for_rater(rater=request.user, code=code, kind=kind, progress=progress))
    if task_kind(task) != kind:
        request.session[KIND_SESSION_KEY] = task_kind(task)
    return task


@require_http_methods(["GET", "POST"])
@login_required_for_role
def task_page(request, code):
    task = _task_or_404(request, code, progress=request.method == "GET")
    is_preference = isinstance(task, PreferenceAssignment)
    schema = study_schema(task.study)
    if request.method == "POST":
        payload = preference_payload(request.POST) if is_preference else rating_payload(schema, request.POST)
        common = {"rater": request.user, "reason": payload["reason"], "comment": payload["comment"],
                  "idempotency_key": request.POST.get("idempotency_key", ""),
                  "active_seconds": request.POST.get("active_seconds")}
        try:
            if is_preference:
                preference_submit(assignment=task, side=payload["side"], confidence=payload["confidence"], **common)
            else:
                rating_submit(assignment=task, values=payload["values"], is_dangerous=payload["is_dangerous"],
                              dangerous_rationale=payload["dangerous_rationale"], **common)
        except ApplicationError as exc:
            if exc.status_code == 404:
                raise Http404 from exc
            return _render_task(request, task, schema, payload, exc, status=exc.status_code)
        if task.is_calibration and not payload["reason"]:
            messages.success(request, "Saved. Here is how your answer compares with the reference.")
            return redirect("annotation:rate_task", code=task.code)
        messages.success(request, "Saved. Here is your next item." if not payload["reason"] else "Revision saved.")
        enrolment = enrolment_of(task)
        return redirect("annotation:rate_continue", code=enrolment.code)
    if task.study.status == StudyStatus.RATING:
        task_mark_shown(task=task)
    return _render_task(request, task, schema, task_current_values(task))


def _render_task(request, task, schema, current, error=None, status=200):
    is_preference = isinstance(task, PreferenceAssignment)
    errors = error.extra.get("fields", {}) if error else {}
    enrolment = enrolment_of(task)
    policy = task.study.leak_policy
    context = {
        "task": task, "enrolment": enrolment, "current": current, "errors": errors,
        "error_message": error.message if error else "",
        "is_submitted": task.status == AssignmentStatus.SUBMITTED,
        "is_closed": task.study.status != StudyStatus.RATING,
        "progress": task_progress(task, rater=request.user),
        "shortcuts_html": _fragment("annotation/rate/_shortcuts.html",
                                    shortcuts=PREFERENCE_SHORTCUTS if is_preference else GLOBAL_SHORTCUTS),
        "flag_kinds": FlagKind.choices,
        # A key reused for another answer (the Back button) gets a fresh one, so that submitting again saves.
        "idempotency_key": (not errors.get("idempotency_key") and request.POST.get("idempotency_key"))
        or uuid.uuid4().hex,
        "draft_url": reverse("annotation:rate_draft", kwargs={"code": task.code}),
        "flag_url": reverse("annotation:rate_flag", kwargs={"code": task.code}),
        "comment_allowed": schema.get("comment", True),
        "study_title": enrolment.study_title if enrolment else "",
        **_calibration_context(request, task, schema),
    }
    if is_preference:
        comparison = task.comparison
        context["pair"] = blinded_pair(comparison, left_is_a=task.left_is_a, leak_policy=policy)
        sides = (comparison.response_a, comparison.response_b)
        left, right = sides if task.left_is_a else sides[::-1]
        context["left_truncated"], context["right_truncated"] = _truncated(left), _truncated(right)
        context["steps"] = preference_steps(schema, current, errors)
        template = "annotation/rate/preference.html"
    else:
        context["item"] = blinded_item(task.response, leak_policy=policy)
        context["is_truncated"] = _truncated(task.response)
        context["steps"] = rating_steps(schema, current, errors)
        template = "annotation/rate/task.html"
    context["steps_html"] = _fragment("annotation/rate/_steps.html", steps=context["steps"],
                                      is_closed=context["is_closed"])
    return render(request, template, context, status=status)


def _fragment(template_name: str, **context) -> str:
    """A part of the page that is a pure function of plain data (no request, user or CSRF token), rendered
    once per process for each distinct `context`: a study's questions are the same on every fresh item, and
    rendering them was most of the page's template time. Not remembered under DEBUG, where templates are
    read again when they change."""
    if settings.DEBUG:
        return render_to_string(template_name, context)
    return _fragment_rendered(template_name, json.dumps(context, sort_keys=True))


@lru_cache(maxsize=256)
def _fragment_rendered(template_name: str, context_json: str) -> str:
    return render_to_string(template_name, json.loads(context_json))


def _truncated(response) -> bool:
    """The answer stopped at the generation's length limit (said on the page; nothing about the source)."""
    return response.finish_reason == TRUNCATED


def _calibration_context(request, task, schema) -> dict:
    if not task.is_calibration:
        return {"is_calibration": False}
    done, total = calibration_progress(rater=request.user, study=task.study)
    return {"is_calibration": True, "calibration_done": done, "calibration_total": total,
            "feedback": calibration_feedback(task, schema)}


@require_POST
@role_required(CLINICIAN)
def task_draft(request, code):
    """Autosave (called by rate.js): the form as it is now. Only a form body is read; anything else is
    refused (400, in the API's error shape) without being parsed."""
    task = _task_or_404(request, code)
    if request.content_type not in FORM_TYPES:
        try:
            json_body_check(request.body)
        except ApplicationError as exc:
            return JsonResponse({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
        return JsonResponse({"message": "Send the draft as a form.", "extra": {}}, status=400)
    if isinstance(task, PreferenceAssignment):
        payload = preference_payload(request.POST)
    else:
        payload = rating_payload(study_schema(task.study), request.POST)
    try:
        task = task_draft_save(task=task, rater=request.user, draft=payload,
                               active_seconds=request.POST.get("active_seconds"))
    except ApplicationError as exc:
        return JsonResponse({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    return JsonResponse({"saved_at": task.draft_saved_at.isoformat(), "active_seconds": task.active_seconds})


@require_POST
@role_required(CLINICIAN)
def task_flag(request, code):
    task = _task_or_404(request, code)
    with shown_as_message(request) as outcome:
        item_flag_create(task=task, rater=request.user, kind=request.POST.get("kind", ""),
                         note=request.POST.get("note", ""))
    if outcome.ok:
        messages.success(request, "Thank you: the problem was reported to the study team. You can still rate the item.")
    return redirect("annotation:rate_task", code=task.code)
