"""Serializers of the clinicians' rating API. Output carries opaque codes and blinded text only:
what a clinician may see is decided in annotation.blinding, never here."""
from rest_framework import serializers

from studies.models import StudyStatus
from studies.schema import study_schema

from ..blinding import blinded_item, blinded_pair
from ..models import AssignmentStatus, FlagKind, PreferenceAssignment, StudyRater

# An answer that stopped at the generation's length limit: clinicians are told it was cut off, nothing more.
TRUNCATED = "length"


def task_kind(task) -> str:
    return "preference" if isinstance(task, PreferenceAssignment) else "rating"


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    seconds_left = serializers.FloatField(allow_null=True)
    label = serializers.CharField()


class TaskListSerializer(serializers.Serializer):
    """One item of the clinician's queue; `study` is the clinician's enrolment code, not the study id."""

    code = serializers.CharField()
    kind = serializers.SerializerMethodField()
    status = serializers.CharField()
    position = serializers.IntegerField()
    study = serializers.SerializerMethodField()
    study_name = serializers.SerializerMethodField(help_text="The study's title for clinicians")
    submitted_at = serializers.DateTimeField(allow_null=True)

    def get_kind(self, task) -> str:
        return task_kind(task)

    def get_study_name(self, task) -> str:
        titles = self.context.setdefault("study_titles", {})
        if task.study_id not in titles:
            enrolment = StudyRater.objects.select_related("study").get(study_id=task.study_id, rater_id=task.rater_id)
            titles[task.study_id] = enrolment.study_title
        return titles[task.study_id]

    def get_study(self, task) -> str:
        return self.context["enrolment_codes"][task.study_id]


class EnrolmentSerializer(serializers.Serializer):
    code = serializers.CharField()
    study_name = serializers.CharField(source="study_title", help_text="The study's title for clinicians")
    is_open = serializers.SerializerMethodField()
    progress = ProgressSerializer(source="_progress")
    next = serializers.SerializerMethodField(help_text="Code of the next item to rate, or null")

    def get_is_open(self, enrolment) -> bool:
        return enrolment.study.status == StudyStatus.RATING

    def get_next(self, enrolment) -> str | None:
        return enrolment._next.code if enrolment._next is not None else None


def task_detail(task, *, enrolment, progress, current: dict) -> dict:
    """The full blinded item: case, response(s), the form's schema, the draft and what was submitted."""
    schema = study_schema(task.study)
    data = {
        "code": task.code, "kind": task_kind(task), "status": task.status, "position": task.position,
        "study": enrolment.code, "study_name": enrolment.study_title,
        "is_open": task.study.status == StudyStatus.RATING,
        "progress": ProgressSerializer(progress).data,
        "schema": {"dimensions": schema["dimensions"], "confidence_levels": schema.get("confidence_levels", []),
                   "comment": schema.get("comment", True)},
        "draft": task.draft or None,
        "submitted": current if task.status == AssignmentStatus.SUBMITTED else None,
        "submitted_at": task.submitted_at,
        "revision": None,
        "is_calibration": task.is_calibration,
    }
    if isinstance(task, PreferenceAssignment):
        pair = blinded_pair(task.comparison, left_is_a=task.left_is_a, leak_policy=task.study.leak_policy)
        data.update(case={"vignette_html": pair.vignette_html, "question_html": pair.question_html},
                    left_html=pair.left_html, right_html=pair.right_html,
                    sides=["left", "right", "tie", "both_unsafe"])
        sides = (task.comparison.response_a, task.comparison.response_b)
        left, right = sides if task.left_is_a else sides[::-1]
        data.update(left_truncated=left.finish_reason == TRUNCATED, right_truncated=right.finish_reason == TRUNCATED)
        if task.status == AssignmentStatus.SUBMITTED:
            data["revision"] = task.preference.revision
    else:
        item = blinded_item(task.response, leak_policy=task.study.leak_policy)
        data.update(case={"vignette_html": item.vignette_html, "question_html": item.question_html},
                    response_html=item.response_html, response_truncated=task.response.finish_reason == TRUNCATED)
        if task.status == AssignmentStatus.SUBMITTED:
            data["revision"] = task.rating.revision
    return data


class DimensionValueSerializer(serializers.Serializer):
    value = serializers.CharField(required=False, allow_blank=True, default="")
    confidence = serializers.CharField(required=False, allow_blank=True, default="")
    cannot_assess = serializers.BooleanField(required=False, default=False)


class _SubmissionCommon(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Required when changing an already submitted answer")
    active_seconds = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    idempotency_key = serializers.CharField(required=False, allow_blank=True, default="", max_length=64,
                                            help_text="Or the Idempotency-Key header: a retry returns the same rating")


class RatingSubmitSerializer(_SubmissionCommon):
    values = serializers.DictField(child=DimensionValueSerializer(), help_text="Per dimension key")
    is_dangerous = serializers.BooleanField(required=False, default=False)
    dangerous_rationale = serializers.CharField(required=False, allow_blank=True, default="")


class PreferenceSubmitSerializer(_SubmissionCommon):
    side = serializers.ChoiceField(choices=["left", "right", "tie", "both_unsafe"], help_text="As shown: A=left")
    confidence = serializers.CharField()


class DraftSerializer(serializers.Serializer):
    draft = serializers.DictField(help_text="The form as it is now, in the submit payload's shape")
    active_seconds = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)


class FlagSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SubmitResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField()
    revision = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)


class StudyRaterSerializer(serializers.Serializer):
    username = serializers.CharField(source="rater.username")
    is_active = serializers.BooleanField(read_only=True)


class PlanSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    items = serializers.IntegerField()
    raters = serializers.IntegerField()
    strategy = serializers.CharField()
    min_load = serializers.IntegerField()
    max_load = serializers.IntegerField()
    anchors = serializers.IntegerField()
    repeats = serializers.IntegerField()
    min_pair_overlap = serializers.IntegerField(allow_null=True)


def _tally(tally) -> dict:
    return {"compared": tally.compared, "agreeing": tally.agreeing, "share": tally.share}


def _drift_cell(measure: str, cell):
    if cell is None or measure == "seconds":
        return cell
    if measure == "anchors":
        return _tally(cell)
    if measure == "retest":
        return {**_tally(cell), "kappa": cell.kappa}
    levels = cell.scale.levels
    return {"n": cell.n, "counts": dict(zip(levels, cell.counts, strict=True)),
            "shares": dict(zip(levels, cell.shares, strict=True)), "mean": cell.mean}


def drift_data(drift) -> dict:
    """annotation.selectors.drift.StudyDrift as JSON: each line's cells follow `weeks`, null where empty."""
    return {
        "time_zone": drift.time_zone, "rule": drift.rule, "min_kappa_pairs": drift.min_kappa_pairs,
        "weeks": [{"start": week.start.isoformat(), "label": week.label} for week in drift.weeks],
        "dimensions": [{"key": s.key, "label": s.label, "levels": list(s.levels), "ordinal": s.ordinal,
                        "kappa_weights": s.kappa_weights} for s in drift.scales],
        "raters": [{
            "username": rater.enrolment.rater.get_username(), "is_active": rater.enrolment.is_active,
            "lines": [{"measure": line.measure, "dimension": line.scale.key if line.scale else None,
                       "cells": [_drift_cell(line.measure, cell) for cell in line.cells]} for line in rater.lines],
            "flags": [{"measure": flag.measure, "dimension": flag.scale.key,
                       "baseline_weeks": [week.label for week in flag.baseline_weeks],
                       "baseline": _tally(flag.baseline), "last_week": flag.last_week.label, "last": _tally(flag.last)}
                      for flag in rater.flags],
        } for rater in drift.raters],
    }
