"""Serializers for the setup API: shapes only. Validation of meaning lives in the services."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Case, CaseSet, MemberRole, ModelSpec, Persona, Study, StudyStatus
from ..selectors import study_allowed_transitions, study_grid
from ..services.model_specs import MODEL_SPEC_FIELDS
from ..services.studies import OPTION_FIELDS
from ..shapes import (
    ENGINE_OPTIONS,
    RATING_SCHEMA,
    SAMPLING,
    STUDY_SETTINGS,
)


class CaseSetSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    case_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = CaseSet
        fields = ["id", "name", "version", "description", "owner", "content_hash", "source_filename", "case_count",
                  "created_at", "updated_at"]


class CaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Case
        fields = ["id", "case_set", "external_id", "vignette", "question", "task_type", "care_setting",
                  "reference_answer", "metadata", "content_hash"]


class CaseSetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, JSON (array), JSONL, or a .gz of one of them; UTF-8")
    name = serializers.CharField(max_length=200, help_text="Case set name (an existing one: add to it)")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    new_version = serializers.BooleanField(required=False, default=False,
                                           help_text="Create a new version from this file")
    dry_run = serializers.BooleanField(required=False, default=False,
                                       help_text="Check and report; write nothing")
    format = serializers.ChoiceField(choices=["csv", "json", "jsonl"], required=False,
                                     help_text="Override the file-name extension")
    triage_scale = serializers.CharField(required=False, default="ESI", help_text=(
        "The scale of the triage reference answers: \"ESI\" (default) or the case set's own ordered scale as "
        "a JSON object (name, ordered, most_urgent, levels)"))


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    text = serializers.CharField(help_text="row 17, care_setting: 'ICU ward' is not one of ...")


class CaseSetImportResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=["created", "appended", "new_version", "unchanged", "invalid",
                                               "conflict"])
    message = serializers.CharField()
    dry_run = serializers.BooleanField()
    name = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    case_set_id = serializers.IntegerField(allow_null=True)
    format = serializers.CharField()
    compressed = serializers.BooleanField()
    rows = serializers.IntegerField()
    added = serializers.IntegerField()
    already_present = serializers.IntegerField()
    content_hash = serializers.CharField()
    conflicting_ids = serializers.ListField(child=serializers.CharField())
    error_count = serializers.IntegerField()
    errors = RowErrorSerializer(many=True, help_text="At most 10,000; error_count has the total")
    preview = serializers.ListField(child=serializers.DictField(), help_text="The first normalised cases")


class PersonaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Persona
        fields = ["id", "slug", "version", "name", "role", "style", "is_medical", "is_baseline",
                  "system_prompt_template", "description", "previous", "is_current", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "is_baseline", "previous", "is_current", "created_at", "updated_at"]
        validators = []  # persona_create reports a taken slug in the project's error shape


class PersonaUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Persona
        fields = ["name", "role", "style", "is_medical", "system_prompt_template", "description"]
        extra_kwargs = {f: {"required": False} for f in fields}


class PersonaPreviewQuerySerializer(serializers.Serializer):
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    study = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all(), required=False,
                                               help_text="Use this study's task instructions")


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "user"])
    content = serializers.CharField(allow_blank=True)


class PersonaPreviewSerializer(serializers.Serializer):
    persona = serializers.IntegerField()
    case = serializers.IntegerField()
    messages = MessageSerializer(many=True, help_text="Exactly what the model receives; the baseline's system "
                                                       "message is present and empty")


def openapi_30(spec):
    """A JSON Schema (2020-12) shape written the way OpenAPI 3.0 says the same thing: a numeric
    exclusiveMinimum/Maximum becomes minimum/maximum with a boolean flag, and propertyNames listing the
    allowed keys becomes one property per key (with additionalProperties' schema) and no others."""
    if isinstance(spec, list):
        return [openapi_30(item) for item in spec]
    if not isinstance(spec, dict):
        return spec
    out = {key: openapi_30(value) for key, value in spec.items()}
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[flag], out[bound] = out[bound], True
    names = out.pop("propertyNames", None)
    if names is not None and "enum" not in names:
        out["x-propertyNames"] = names  # no OpenAPI 3.0 equivalent: documented, not enforced by the schema
    elif names is not None:
        value = out.get("additionalProperties", {})
        out["properties"] = {**{name: value for name in names["enum"]}, **out.get("properties", {})}
        out["additionalProperties"] = False
    return out


def shape_field(spec: dict, **kwargs) -> serializers.Field:
    """A field whose OpenAPI schema is the declared shape (studies.shapes); the service validates the value."""
    base = {"integer": serializers.IntegerField, "number": serializers.FloatField}.get(spec.get("type"),
                                                                                      serializers.JSONField)
    return extend_schema_field(openapi_30(spec))(type("ShapeField", (base,), {}))(**kwargs)


def _declared(shape: dict, name: str) -> serializers.Field:
    return shape_field(shape["properties"][name], required=False)


class ModelSpecSerializer(serializers.ModelSerializer):
    temperature = _declared(SAMPLING, "temperature")
    top_p = _declared(SAMPLING, "top_p")
    max_tokens = _declared(SAMPLING, "max_tokens")
    seed = _declared(SAMPLING, "seed")
    samples_per_prompt = _declared(SAMPLING, "samples_per_prompt")
    engine_options = shape_field(ENGINE_OPTIONS, required=False)

    class Meta:
        model = ModelSpec
        fields = ["id", *MODEL_SPEC_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class StudyGridSerializer(serializers.Serializer):
    cases = serializers.IntegerField()
    personas = serializers.IntegerField()
    models = serializers.IntegerField()
    responses = serializers.IntegerField(help_text="cases x personas x samples per prompt, summed over models")
    ratings = serializers.IntegerField(help_text="responses x raters per response")
    generated = serializers.IntegerField()


class StudySerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    grid = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = ["id", "name", "status", "owner", "case_sets", "personas", "model_specs", "judge", "extra_judges",
                  "rating_schema", "task_instructions", *OPTION_FIELDS, "grid", "allowed_transitions", "created_at",
                  "updated_at"]
        read_only_fields = ["status"]

    def get_grid(self, study) -> StudyGridSerializer:
        return StudyGridSerializer(study_grid(study=study)).data

    def get_allowed_transitions(self, study) -> list[str]:
        return list(study_allowed_transitions(study=study))


class StudyWriteSerializer(serializers.ModelSerializer):
    raters_per_response = _declared(STUDY_SETTINGS, "raters_per_response")
    anchor_items = _declared(STUDY_SETTINGS, "anchor_items")
    retest_fraction = _declared(STUDY_SETTINGS, "retest_fraction")
    assignment_seed = _declared(STUDY_SETTINGS, "assignment_seed")
    eligibility = _declared(STUDY_SETTINGS, "eligibility")
    task_instructions = _declared(STUDY_SETTINGS, "task_instructions")
    rating_schema = shape_field(RATING_SCHEMA, required=False, help_text="{} for the default clinician schema")

    class Meta:
        model = Study
        fields = ["name", "case_sets", "personas", "model_specs", "judge", "extra_judges", "rating_schema",
                  "task_instructions", *OPTION_FIELDS]
        extra_kwargs = {"name": {"validators": []}}  # the service reports a taken name in the project's shape


class StudyMemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=MemberRole.choices)
    added_at = serializers.DateTimeField(source="created_at")


class StudyMemberWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=MemberRole.choices)


class StudyTransitionSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=StudyStatus.choices)


class StudyImportFileSerializer(serializers.Serializer):
    """The import as the schema states it for multipart: the exported file."""

    file = serializers.FileField(help_text="A file written by export (YAML or JSON)")
    name = serializers.CharField(required=False, max_length=200, help_text="Import under another name")


class StudyImportDataSerializer(serializers.Serializer):
    """The import as the schema states it for JSON: the exported object."""

    data = serializers.DictField(help_text="The exported object itself (what export answers)")
    name = serializers.CharField(required=False, max_length=200, help_text="Import under another name")


class StudyImportSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="A file written by export (YAML or JSON)")
    data = serializers.JSONField(required=False, help_text="Or the exported object itself")
    name = serializers.CharField(required=False, max_length=200, help_text="Import under another name")

    def validate(self, attrs):
        if ("file" in attrs) == ("data" in attrs):
            raise serializers.ValidationError("Give either a file or data.")
        return attrs
