"""Setup API: case sets and cases, personas, model specs, studies. Writes: admins; reads: admins and
researchers; clinicians: nothing (they must never see personas or models).

Every write goes through the same services as the admin pages and the management commands.
"""
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.permissions import IsResearcher, IsStudyAdmin, ReadOnly
from config.exceptions import error_responses, id_or_none

from ..models import Case
from ..permissions import study_for
from ..selectors import case_set_list, model_spec_list, persona_list, study_list
from ..services.case_sets import case_set_import
from ..services.members import study_member_remove, study_member_set, user_by_username
from ..services.model_specs import model_spec_create, model_spec_update
from ..services.personas import persona_create, persona_preview, persona_update
from ..services.studies import study_create, study_transition, study_update
from ..services.study_files import study_export, study_export_text, study_import
from . import serializers as s

SETUP_PERMISSIONS = [IsStudyAdmin | (IsResearcher & ReadOnly)]


class SetupViewSet(viewsets.GenericViewSet):
    permission_classes = SETUP_PERMISSIONS


@extend_schema_view(list=extend_schema(summary="List case sets (every version)"),
                    retrieve=extend_schema(summary="A case set"))
class CaseSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SetupViewSet):
    serializer_class = s.CaseSetSerializer

    def get_queryset(self):
        return case_set_list()

    @extend_schema(
        summary="Upload a case file (CSV, JSON, JSONL, .gz); dry_run=true previews without writing",
        request={"multipart/form-data": s.CaseSetUploadSerializer},
        responses={200: s.CaseSetImportResultSerializer, 201: s.CaseSetImportResultSerializer,
                   **error_responses(400, 409, _400="Invalid file or rows: extra is the import result with every "
                                                    "row error; nothing was written",
                                     _409="Conflicting case ids (extra.conflicting_ids), or another import "
                                          "at the same time; nothing was written")},
        description="201: cases were written. 200: a dry run, or nothing changed (the same cases are there). "
                    "400/409: {message, extra} where extra is the import result with every row error or the "
                    "conflicting ids; nothing was written. Format: docs/case-set-format.md.",
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request):
        form = s.CaseSetUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        result = case_set_import(file=data["file"], name=data["name"], owner=request.user,
                                 description=data["description"], new_version=data["new_version"],
                                 dry_run=data["dry_run"], format=data.get("format"),
                                 triage_scale=data["triage_scale"])
        payload = result.as_dict()
        if not result.ok:  # dry runs only (real imports raise): the same error shape and status as a real import
            code = status.HTTP_409_CONFLICT if result.outcome == "conflict" else status.HTTP_400_BAD_REQUEST
            return Response({"message": result.message, "extra": payload}, status=code)
        return Response(payload, status=status.HTTP_201_CREATED if result.changed and not result.dry_run
                        else status.HTTP_200_OK)


@extend_schema_view(list=extend_schema(summary="List cases", parameters=[
    OpenApiParameter("case_set", int, description="Only the cases of this case set")]))
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SetupViewSet):
    serializer_class = s.CaseSerializer

    def get_queryset(self):
        cases = Case.objects.order_by("case_set", "id")
        case_set = self.request.query_params.get("case_set")
        if case_set is not None and self.action == "list":
            cases = cases.filter(case_set=id_or_none(case_set))
        return cases


@extend_schema_view(list=extend_schema(summary="List personas (current versions; ?all=1 for every version)",
                                       parameters=[OpenApiParameter("all", bool)]))
class PersonaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SetupViewSet):
    serializer_class = s.PersonaSerializer

    def get_queryset(self):
        return persona_list(current_only=self.action == "list" and self.request.query_params.get("all") != "1")

    @extend_schema(summary="Create a persona", request=s.PersonaSerializer, responses={201: s.PersonaSerializer})
    def create(self, request):
        form = s.PersonaSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        persona = persona_create(**form.validated_data)
        return Response(s.PersonaSerializer(persona).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit a persona; one used by responses or a running study gets a new version instead",
        request=s.PersonaUpdateSerializer, responses={200: s.PersonaSerializer},
        description="The response is the persona that is now current: the same id, or a new version whose "
                    "`previous` is the edited one.",
    )
    def partial_update(self, request, pk=None):
        form = s.PersonaUpdateSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        persona = persona_update(persona=self.get_object(), actor=request.user, **form.validated_data)
        return Response(s.PersonaSerializer(persona).data)

    @extend_schema(summary="The exact messages a model receives from this persona for a case",
                   parameters=[s.PersonaPreviewQuerySerializer], responses=s.PersonaPreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        query = s.PersonaPreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        persona, case = self.get_object(), query.validated_data["case"]
        messages = persona_preview(persona=persona, case=case, study=query.validated_data.get("study"))
        return Response({"persona": persona.pk, "case": case.pk, "messages": messages})


class ModelSpecViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SetupViewSet):
    serializer_class = s.ModelSpecSerializer

    def get_queryset(self):
        return model_spec_list()

    @extend_schema(summary="Create a model spec (sampling parameters are validated)",
                   responses={201: s.ModelSpecSerializer})
    def create(self, request):
        form = s.ModelSpecSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        spec = model_spec_create(**form.validated_data)
        return Response(s.ModelSpecSerializer(spec).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Edit a model spec (generation settings are frozen once it produced outputs)")
    def partial_update(self, request, pk=None):
        spec = self.get_object()
        form = s.ModelSpecSerializer(spec, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        spec = model_spec_update(model_spec=spec, actor=request.user, **form.validated_data)
        return Response(s.ModelSpecSerializer(spec).data)


class StudyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SetupViewSet):
    serializer_class = s.StudySerializer

    def get_queryset(self):
        return study_list(user=self.request.user)

    def get_object(self):
        """A study the user may see (else 404); writes also need the study's admin role (else 403)."""
        action = "view" if self.request.method in SAFE_METHODS else "manage"
        return study_for(self.request.user, self.kwargs["pk"], action, queryset=self.get_queryset())

    @extend_schema(summary="The study's members and their roles (owner, admin, researcher)",
                   responses=s.StudyMemberSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # the whole list, never a page
    def members(self, request, pk=None):
        study = self.get_object()
        return Response(s.StudyMemberSerializer(study.members.select_related("user"), many=True).data)

    @extend_schema(summary="Add a member or change their role (the study's owners only)",
                   request=s.StudyMemberWriteSerializer, responses={200: s.StudyMemberSerializer,
                                                                    **error_responses(409)})
    @members.mapping.post
    def members_set(self, request, pk=None):
        study = study_for(request.user, pk, "members", queryset=self.get_queryset())
        form = s.StudyMemberWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        member = study_member_set(study=study, user=user_by_username(form.validated_data["username"]),
                                  role=form.validated_data["role"], by=request.user)
        return Response(s.StudyMemberSerializer(member).data)

    @extend_schema(summary="Remove a member (the study's owners only)", responses={204: None, **error_responses(409)})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<username>[^/]+)", url_name="member")
    def member_remove(self, request, pk=None, username=None):
        study = study_for(request.user, pk, "members", queryset=self.get_queryset())
        study_member_remove(study=study, username=username, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Create a draft study (the no-persona baseline is added)", request=s.StudyWriteSerializer,
                   responses={201: s.StudySerializer})
    def create(self, request):
        form = s.StudyWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        study = study_create(owner=request.user, **form.validated_data)
        return Response(s.StudySerializer(study).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Edit a study (what can change narrows with its status)", request=s.StudyWriteSerializer,
                   responses=s.StudySerializer)
    def partial_update(self, request, pk=None):
        form = s.StudyWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        study = study_update(study=self.get_object(), actor=request.user, **form.validated_data)
        return Response(s.StudySerializer(study).data)

    @extend_schema(summary="Move the study along draft -> generating -> rating -> closed",
                   request=s.StudyTransitionSerializer, responses={200: s.StudySerializer, **error_responses(409)})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        form = s.StudyTransitionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        study = study_transition(study=self.get_object(), to_status=form.validated_data["to_status"],
                                 user=request.user)
        return Response(s.StudySerializer(study).data)

    @extend_schema(
        summary="The study's configuration as one file (?as=yaml or ?as=json downloads it)",
        parameters=[OpenApiParameter("as", str, enum=["yaml", "json"], description="Download as a file")],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "application/yaml"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        study = self.get_object()
        fmt = request.query_params.get("as")
        if fmt not in ("yaml", "json"):
            return Response(study_export(study=study, actor=request.user))
        response = HttpResponse(study_export_text(study=study, fmt=fmt, actor=request.user),
                                content_type="application/yaml" if fmt == "yaml" else "application/json")
        response["Content-Disposition"] = f'attachment; filename="study-{study.pk}.{fmt}"'
        return response

    @extend_schema(summary="Create a draft study from an exported file", request={
        "multipart/form-data": s.StudyImportFileSerializer, "application/json": s.StudyImportDataSerializer,
    }, responses={201: s.StudySerializer},
        description="Either the exported file (multipart, `file`) or the exported object itself (JSON, `data`); "
                    "never both.")
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            parser_classes=[MultiPartParser, JSONParser])
    def import_(self, request):
        form = s.StudyImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        source = data["file"].read() if "file" in data else data["data"]
        study = study_import(data=source, owner=request.user, name=data.get("name"))
        return Response(s.StudySerializer(study).data, status=status.HTTP_201_CREATED)
