"""REST API for importing pre-generated responses (admins only): one view over inference.importers."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStudyAdmin
from config.exceptions import error_responses
from studies.permissions import study_for

from ..importers import responses_import


class ResponseImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JSON Lines, optionally gzip-compressed (docs/responses-jsonl.md)")
    model = serializers.CharField(required=False, allow_blank=True, help_text="The model every row must name")
    dry_run = serializers.BooleanField(default=False, help_text="Validate and report; write nothing")


class ResponseImportResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    dry_run = serializers.BooleanField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    compressed = serializers.BooleanField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


class StudyResponsesImportApi(APIView):
    """POST (multipart): import a file of pre-generated responses into the study.

    201 when responses were added, 200 when nothing changed (a re-import) or for a dry run; 400 with
    every row error ({"message", "extra": {"errors": [...]}}) and nothing imported otherwise.
    """

    permission_classes = [IsAuthenticated & IsStudyAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ResponseImportInputSerializer},
                   responses={200: ResponseImportResultSerializer, 201: ResponseImportResultSerializer,
                              **error_responses(409, _409="Another import or a generation job wrote some of these "
                                                          "cells at the same time; nothing was imported")})
    def post(self, request, study_id: int):
        study = study_for(request.user, study_id, "manage")
        data = ResponseImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = responses_import(study=study, file=data.validated_data["file"],
                                  model_name=data.validated_data.get("model") or None,
                                  dry_run=data.validated_data["dry_run"])
        created = result.ok and result.created and not result.dry_run
        return Response(result.as_dict(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
