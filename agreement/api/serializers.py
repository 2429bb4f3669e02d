from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studies.permissions import studies_for

from ..models import Report, ReportFormat, ReportStatus


class ReportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id", "study", "format", "status", "progress", "progress_message", "parameters", "data_hash",
            "reused_from", "error", "created_at", "started_at", "finished_at", "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, report) -> str | None:
        if report.status != ReportStatus.DONE or not report.file:
            return None
        return reverse("agreement-api:report-download", args=[report.pk])


@extend_schema_field(OpenApiTypes.INT)
class StudyOfUser(serializers.PrimaryKeyRelatedField):
    """Only the studies the requesting user may report on (others read as unknown ids)."""

    def get_queryset(self):
        return studies_for(self.context["request"].user, "report")


class ReportRequestSerializer(serializers.Serializer):
    study = StudyOfUser()
    format = serializers.ChoiceField(choices=ReportFormat.choices)
    parameters = serializers.DictField(required=False, default=dict)
