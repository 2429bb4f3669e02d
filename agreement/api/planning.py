"""POST /api/studies/{id}/sample-size/: the sample-size plan for a study, as the planning page shows it."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import error_responses
from studies.permissions import study_for

from ..metrics.sample_size import MAX_RATERS, STATISTICS, PlanInputError
from ..selectors_planning import ITEMS_GENERATED, ITEMS_PLANNED, study_design, study_sample_size_plan
from .views import RESEARCH_ONLY


class SampleSizeSerializer(serializers.Serializer):
    statistic = serializers.ChoiceField(choices=list(STATISTICS))
    expected = serializers.FloatField(min_value=0, max_value=1, help_text="The expected value, in [0, 1)")
    prevalence = serializers.ListField(
        child=serializers.FloatField(min_value=0, max_value=1), min_length=2, max_length=MAX_RATERS,
        help_text="One share per category, each strictly between 0 and 1, summing to 1")
    width = serializers.FloatField(min_value=0, max_value=2, help_text="Wanted full width of the interval, in (0, 2]")
    confidence = serializers.FloatField(min_value=0, max_value=1, default=0.95, help_text="Strictly between 0 and 1")
    raters_per_item = serializers.IntegerField(min_value=2, max_value=MAX_RATERS, default=2)
    n_raters = serializers.IntegerField(
        min_value=2, max_value=MAX_RATERS, required=False, allow_null=True, default=None,
        help_text="Raters in the pool; null: the same raters rate every item")


class DesignWidthSerializer(serializers.Serializer):
    statistic = serializers.CharField()
    expected = serializers.FloatField()
    kappa = serializers.FloatField(help_text="The model's pairwise kappa behind `expected` (differs for AC1)")
    prevalence = serializers.ListField(child=serializers.FloatField())
    n_items = serializers.IntegerField()
    raters_per_item = serializers.IntegerField()
    n_raters = serializers.IntegerField()
    confidence = serializers.FloatField()
    width = serializers.FloatField(help_text="Expected full width of the interval")
    se = serializers.FloatField()
    method = serializers.ChoiceField(choices=["closed_form", "simulation"])
    interval_method = serializers.ChoiceField(choices=["wald_fce_1969", "normal_simulated_sd"])
    reference = serializers.CharField()
    n_replicates = serializers.IntegerField(help_text="Simulated studies (0 for the closed form)")
    n_undefined = serializers.IntegerField(help_text="Simulated studies without variation, left out")
    simulated_items = serializers.IntegerField(allow_null=True, help_text="Items simulated when scaled by 1/sqrt(n)")
    seed = serializers.IntegerField(allow_null=True)


class SampleSizePlanSerializer(serializers.Serializer):
    target_width = serializers.FloatField()
    n_items = serializers.IntegerField()
    design = DesignWidthSerializer()
    capped = serializers.BooleanField()
    floored = serializers.BooleanField()
    messages = serializers.ListField(child=serializers.CharField())


class RatersPlanSerializer(serializers.Serializer):
    target_width = serializers.FloatField()
    raters_per_item = serializers.IntegerField(allow_null=True, help_text="null: not even the most raters reach it")
    design = DesignWidthSerializer()
    messages = serializers.ListField(child=serializers.CharField())


class StudyDesignSerializer(serializers.Serializer):
    items = serializers.IntegerField()
    items_source = serializers.ChoiceField(choices=[ITEMS_GENERATED, ITEMS_PLANNED])
    raters_per_response = serializers.IntegerField()
    raters_enrolled = serializers.IntegerField()
    anchor_items = serializers.IntegerField()
    categories = serializers.ListField(child=serializers.CharField())
    dimension = serializers.CharField(allow_blank=True)
    raters_editable = serializers.BooleanField()


class StudySampleSizeSerializer(serializers.Serializer):
    plan = SampleSizePlanSerializer()
    current = DesignWidthSerializer(allow_null=True, help_text="What the study's current design achieves")
    current_note = serializers.CharField(allow_null=True)
    raters_for_current_items = RatersPlanSerializer(allow_null=True)
    raters_note = serializers.CharField(allow_null=True)
    study_design = StudyDesignSerializer()


class StudySampleSizeApi(APIView):
    """The items and raters per item an interval of the wanted width needs, and what the study's current design
    gives. Nothing is written: set `raters_per_response` with PATCH /api/studies/{id}/ to apply a plan."""

    permission_classes = RESEARCH_ONLY

    @extend_schema(request=SampleSizeSerializer, responses={200: StudySampleSizeSerializer, **error_responses(
        400, _400="Invalid input, or values the planner refuses: shares not summing to 1, a width or value at a "
                  "bound, an AC1 below what chance gives (extra.fields names the input)")})
    def post(self, request, pk: int):
        study = study_for(request.user, pk, "report")
        payload = SampleSizeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = study_sample_size_plan(design=study_design(study=study), **payload.validated_data)
        except PlanInputError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        return Response(StudySampleSizeSerializer(result.to_dict()).data)
