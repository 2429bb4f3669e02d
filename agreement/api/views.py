"""REST API for reports: researchers and admins only."""
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsResearcher, IsStudyAdmin
from config.downloads import download_filename
from config.exceptions import error_responses, id_or_none

from .. import selectors, services
from ..models import ReportStatus
from .serializers import ReportRequestSerializer, ReportSerializer

RESEARCH_ONLY = [IsAuthenticated & (IsResearcher | IsStudyAdmin)]


class ReportListCreateApi(generics.ListAPIView):
    """GET: reports, newest first (?study=<id> to filter). POST: queue a report (202)."""

    permission_classes = RESEARCH_ONLY
    serializer_class = ReportSerializer

    def get_queryset(self):
        queryset = selectors.reports_for(user=self.request.user)
        study = self.request.query_params.get("study")
        if study is not None:
            if id_or_none(study) is None:
                return queryset.none()
            queryset = queryset.filter(study_id=id_or_none(study))
        return queryset

    @extend_schema(parameters=[OpenApiParameter("study", int, required=False)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ReportRequestSerializer, responses={202: ReportSerializer})
    def post(self, request):
        payload = ReportRequestSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        report = services.report_request(
            study=payload.validated_data["study"], format=payload.validated_data["format"],
            parameters=payload.validated_data["parameters"], requested_by=request.user,
        )
        report.refresh_from_db()  # an in-process build has finished by now
        return Response(ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class ReportDetailApi(generics.RetrieveAPIView):
    permission_classes = RESEARCH_ONLY
    serializer_class = ReportSerializer

    def get_queryset(self):
        return selectors.reports_for(user=self.request.user)


class ReportResumeApi(APIView):
    """Queue a failed or stopped report again (its worker died mid-build): 202, or 409 when it is done or
    visibly building."""

    permission_classes = RESEARCH_ONLY

    @extend_schema(request=None, responses={202: ReportSerializer, **error_responses(
        409, _409="The report is done or still building; only a failed or stopped one can be resumed")})
    def post(self, request, pk: int):
        report = get_object_or_404(selectors.reports_for(user=request.user), pk=pk)
        report = services.report_resume(report=report)
        return Response(ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class ReportDownloadApi(APIView):
    permission_classes = RESEARCH_ONLY

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk: int):
        report = get_object_or_404(selectors.reports_for(user=request.user).select_related("study"), pk=pk)
        if report.status != ReportStatus.DONE or not report.file:
            raise NotFound("This report has no file yet.")
        return FileResponse(
            report.file.open("rb"), as_attachment=True,
            filename=download_filename(f"{report.study.name}-agreement-{report.data_hash[:12]}", report.format),
        )
