"""REST API for a study's locked analysis plan: read it, lock it (the study's owner, while a draft), download it."""
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import error_responses
from studies.permissions import study_for

from ..models import Preregistration
from ..reports.preregistration import OUTCOMES
from ..selectors_preregistration import preregistration_of
from ..services_preregistration import EXPORT_FORMATS, preregistration_export, preregistration_lock
from .views import RESEARCH_ONLY


class OutcomeSerializer(serializers.Serializer):
    dimension = serializers.CharField(max_length=64, help_text="A dimension key of the study's rating schema")
    coefficient = serializers.ChoiceField(choices=list(OUTCOMES))


class PreregistrationLockSerializer(serializers.Serializer):
    """The plan as sent; the service checks it against the study (its dimensions, judge and parameters)."""

    hypotheses = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    primary_outcomes = OutcomeSerializer(many=True, allow_empty=False)
    secondary_outcomes = OutcomeSerializer(many=True, required=False, default=list)
    report_parameters = serializers.DictField(required=False, default=dict,
                                              help_text="As for a report; defaults filled in")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class PreregistrationSerializer(serializers.ModelSerializer):
    locked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    verification = serializers.SerializerMethodField()

    class Meta:
        model = Preregistration
        fields = ["study", "locked_at", "locked_by", "content_hash", "signature", "document", "verification"]
        read_only_fields = fields

    def get_verification(self, preregistration) -> dict[str, bool]:
        return preregistration.verify()


def _locked(study) -> Preregistration:
    preregistration = preregistration_of(study=study)
    if preregistration is None:
        raise NotFound("This study's analysis plan is not locked.")
    return preregistration


class PreregistrationApi(APIView):
    """GET: the study's locked analysis plan (404 while there is none). POST: lock it (201)."""

    permission_classes = RESEARCH_ONLY

    @extend_schema(responses={200: PreregistrationSerializer})
    def get(self, request, pk: int):
        return Response(PreregistrationSerializer(_locked(study_for(request.user, pk, "report"))).data)

    @extend_schema(request=PreregistrationLockSerializer, responses={201: PreregistrationSerializer, **error_responses(
        409, _409="The study is no longer a draft, or its plan is already locked")})
    def post(self, request, pk: int):
        study = study_for(request.user, pk, "report")
        payload = PreregistrationLockSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        preregistration = preregistration_lock(study=study, user=request.user, **payload.validated_data)
        return Response(PreregistrationSerializer(preregistration).data, status=status.HTTP_201_CREATED)


class PreregistrationExportApi(APIView):
    permission_classes = RESEARCH_ONLY

    @extend_schema(
        summary="Download the locked plan: JSON (document, hash, signature) or a standalone HTML page",
        parameters=[OpenApiParameter("as", str, enum=list(EXPORT_FORMATS), description="Default json")],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/html"): OpenApiTypes.STR},
    )
    def get(self, request, pk: int):
        preregistration = _locked(study_for(request.user, pk, "report"))
        content, content_type, filename = preregistration_export(
            preregistration=preregistration, fmt=request.query_params.get("as", "json"))
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
