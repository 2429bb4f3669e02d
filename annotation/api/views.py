"""Rating API. Clinicians: their own items only, by opaque code (anyone else's code is a 404, never a
403 that would confirm it exists). Researchers cannot rate. Admins: who rates a study, and rebalancing.

Submissions are idempotent: send an `Idempotency-Key` header (or `idempotency_key`); a retry, a
double click or a second tab returns the rating already stored instead of creating another.
"""
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsClinician, IsStudyAdmin
from config.exceptions import ApplicationError, error_responses
from studies.models import StudyStatus
from studies.permissions import study_for

from ..models import PreferenceAssignment, StudyRater
from ..selectors.drift import study_drift
from ..selectors.rating import (
    assignment_next_for_rater,
    enrolment_of,
    rater_all_tasks,
    rater_enrolments,
    rater_progress,
    task_for_rater,
    task_submitted_values,
)
from ..services.assignments import assignment_rebalance, study_rater_add, study_rater_remove, study_raters_ensure
from ..services.ratings import item_flag_create, preference_submit, rating_submit, task_draft_save, task_mark_shown
from . import serializers as s
from .parsers import RATING_API_PARSERS

User = get_user_model()
# 400, 401, 403 and 404 are on every operation (config.exceptions.error_responses_hook); writes add 409.
ERRORS = error_responses(409)


class ClinicianApi(APIView):
    permission_classes = [IsClinician]
    parser_classes = RATING_API_PARSERS

    def task(self, code):
        task = task_for_rater(rater=self.request.user, code=code)
        if task is None:
            raise Http404
        return task


@extend_schema(summary="My studies, with progress and the code of my next item", tags=["rating"])
class EnrolmentListApi(ListAPIView):
    permission_classes = [IsClinician]
    serializer_class = s.EnrolmentSerializer
    pagination_class = None

    def get_queryset(self):
        enrolments = []
        for enrolment, progress in rater_enrolments(rater=self.request.user):
            enrolment._progress = progress
            enrolment._next = assignment_next_for_rater(rater=self.request.user, study=enrolment.study)
            enrolments.append(enrolment)
        return enrolments


@extend_schema(summary="My assignments (opaque codes only), in queue order", tags=["rating"])
class AssignmentListApi(ListAPIView):
    permission_classes = [IsClinician]
    serializer_class = s.TaskListSerializer

    def get_queryset(self):
        return rater_all_tasks(rater=self.request.user)

    def get_serializer_context(self):
        codes = dict(StudyRater.objects.filter(rater=self.request.user).values_list("study_id", "code"))
        return {**super().get_serializer_context(), "enrolment_codes": codes}


class AssignmentDetailApi(ClinicianApi):
    @extend_schema(summary="One of my items: the blinded case and response(s), the form schema, my draft and "
                           "what I submitted. Opening it records when (and as which of mine) it was first shown.",
                   responses={200: OpenApiTypes.OBJECT}, tags=["rating"])
    def get(self, request, code):
        task = self.task(code)
        if task.study.status == StudyStatus.RATING:
            task_mark_shown(task=task)
        data = s.task_detail(task, enrolment=enrolment_of(task), current=task_submitted_values(task),
                             progress=rater_progress(rater=request.user, study=task.study))
        return Response(data)


class AssignmentDraftApi(ClinicianApi):
    @extend_schema(summary="Autosave my unsubmitted answer", request=s.DraftSerializer,
                   responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["rating"])
    def put(self, request, code):
        task = self.task(code)
        form = s.DraftSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        task = task_draft_save(task=task, rater=request.user, draft=form.validated_data["draft"],
                               active_seconds=form.validated_data["active_seconds"])
        return Response({"saved_at": task.draft_saved_at, "status": task.status})

    post = put


class AssignmentSubmitApi(ClinicianApi):
    @extend_schema(
        summary="Submit (or, with a reason, revise) my answer",
        request=s.RatingSubmitSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)],
        responses={200: s.SubmitResultSerializer, **ERRORS}, tags=["rating"],
        description="Rating items take {values: {dimension: {value, confidence, cannot_assess}}, comment, "
                    "is_dangerous, dangerous_rationale}; preference items take {side: left|right|tie|both_unsafe, "
                    "confidence, comment}. A changed answer after submission needs `reason` (409 without).",
    )
    def post(self, request, code):
        task = self.task(code)
        key = request.headers.get("Idempotency-Key") or request.data.get("idempotency_key") or ""
        if isinstance(task, PreferenceAssignment):
            form = s.PreferenceSubmitSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            d = form.validated_data
            result = preference_submit(assignment=task, rater=request.user, side=d["side"], confidence=d["confidence"],
                                       comment=d["comment"], reason=d["reason"], idempotency_key=key,
                                       active_seconds=d["active_seconds"])
        else:
            form = s.RatingSubmitSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            d = form.validated_data
            result = rating_submit(assignment=task, rater=request.user, values=d["values"], comment=d["comment"],
                                   is_dangerous=d["is_dangerous"], dangerous_rationale=d["dangerous_rationale"],
                                   reason=d["reason"], idempotency_key=key, active_seconds=d["active_seconds"])
        following = assignment_next_for_rater(rater=request.user, study=task.study)
        return Response({"code": task.code, "status": "submitted", "revision": result.revision,
                         "next": following.code if following else None})


class AssignmentFlagApi(ClinicianApi):
    @extend_schema(summary="Flag a problem with one of my items", request=s.FlagSerializer,
                   responses={201: OpenApiTypes.OBJECT, **ERRORS}, tags=["rating"])
    def post(self, request, code):
        task = self.task(code)
        form = s.FlagSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item_flag_create(task=task, rater=request.user, **form.validated_data)
        return Response({"message": "Reported to the study team."}, status=status.HTTP_201_CREATED)


class StudyRatersApi(APIView):
    permission_classes = [IsStudyAdmin]
    parser_classes = RATING_API_PARSERS

    @extend_schema(summary="The clinicians enrolled in a study (admins)", responses=s.StudyRaterSerializer(many=True),
                   tags=["rating admin"])
    def get(self, request, pk):
        study = study_for(request.user, pk, "manage")
        study_raters_ensure(study=study)
        enrolments = StudyRater.objects.filter(study=study).select_related("rater").order_by("rater__username")
        return Response(s.StudyRaterSerializer(enrolments, many=True).data)

    @extend_schema(summary="Enrol a clinician; a running study rebalances unseen work (admins)",
                   request=s.StudyRaterSerializer, responses={201: s.StudyRaterSerializer, **ERRORS},
                   tags=["rating admin"])
    def post(self, request, pk):
        study = study_for(request.user, pk, "manage")
        user = User.objects.filter(username=request.data.get("username", "")).first()
        if user is None:
            raise ApplicationError("No such user.", extra={"fields": {"username": "unknown"}})
        enrolment = study_rater_add(study=study, rater=user, actor=request.user)
        return Response(s.StudyRaterSerializer(enrolment).data, status=status.HTTP_201_CREATED)


class StudyRaterDetailApi(APIView):
    permission_classes = [IsStudyAdmin]

    @extend_schema(summary="Remove a clinician: their submitted ratings stay, unseen work moves (admins)",
                   responses={204: None, **ERRORS}, tags=["rating admin"])
    def delete(self, request, pk, username):
        study = study_for(request.user, pk, "manage")
        study_rater_remove(study=study, rater=get_object_or_404(User, username=username), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StudyRebalanceApi(APIView):
    permission_classes = [IsStudyAdmin]

    @extend_schema(summary="Rebalance a running study's unseen work (admins)", request=None,
                   responses={200: s.PlanSummarySerializer, **ERRORS}, tags=["rating admin"])
    def post(self, request, pk):
        summary = assignment_rebalance(study=study_for(request.user, pk, "manage"))
        return Response(s.PlanSummarySerializer(summary).data)


class StudyDriftApi(APIView):
    permission_classes = [IsStudyAdmin]

    @extend_schema(
        summary="Each clinician's drift by ISO week: anchor agreement, test-retest, levels, time per item (admins)",
        responses={200: OpenApiTypes.OBJECT}, tags=["rating admin"],
        description="As the study dashboard's drift table: `weeks` in the site's time zone; each clinician's "
                    "`lines` (measure anchors, retest, levels or seconds, per dimension) hold one cell per week, "
                    "null where empty; `flags` follow `rule`.",
    )
    def get(self, request, pk):
        return Response(s.drift_data(study_drift(study=study_for(request.user, pk, "manage"))))
