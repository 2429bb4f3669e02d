"""REST API for the pairwise judge (admins only: verdicts name personas): start a job, list the verdicts."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import BIGINT_MAX, ApplicationError, id_or_none
from studies.models import ModelSpec
from studies.permissions import study_for

from .. import selectors, services
from ..pairwise import INCONSISTENT, pair_verdict
from ..services.pairwise import PAIRS_BASELINE, PAIRS_MODES
from .serializers import JobDetailSerializer
from .views import ADMIN_ONLY, job_detail_data


class PairwiseJudgeStartSerializer(serializers.Serializer):
    pairs = serializers.ChoiceField(
        choices=PAIRS_MODES, default=PAIRS_BASELINE,
        help_text='"baseline": each persona against the no-persona baseline; "all": every two personas (capped '
                  "per job by PAIRWISE_JUDGE_MAX_PAIRS). Always within one case, model and sample")
    judge = serializers.PrimaryKeyRelatedField(
        queryset=ModelSpec.objects.filter(is_judge=True), required=False, allow_null=True,
        help_text="A judge model's id; absent or null: the study's judge")


class PairwiseResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    persona = serializers.CharField(source="persona.name")
    is_baseline = serializers.BooleanField(source="persona.is_baseline")


class PairwiseVerdictSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    judge = serializers.CharField(source="judge.name")
    response_a = PairwiseResponseSerializer(help_text="The pair's response with the lower id")
    response_b = PairwiseResponseSerializer()
    order = serializers.ChoiceField(choices=["ab", "ba"], help_text='"ab": response a was shown first')
    choice = serializers.ChoiceField(choices=["a", "b", "tie"], allow_null=True,
                                     help_text="The better response (canonical terms); null: unparseable")
    parse_ok = serializers.BooleanField()
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    raw_text = serializers.CharField(allow_blank=True)
    pair_verdict = serializers.SerializerMethodField(
        help_text=f'The pair\'s verdict from both orders: their choice when they agree, "{INCONSISTENT}" when '
                  "not, null while either order has no valid choice")

    def get_pair_verdict(self, verdict) -> str | None:
        return pair_verdict(verdict.choice, verdict.other_choice)


class StudyPairwiseJudgeStartApi(APIView):
    """POST: have a judge compare the study's responses two by two, each pair in both orders."""

    permission_classes = ADMIN_ONLY

    @extend_schema(request=PairwiseJudgeStartSerializer, responses={201: JobDetailSerializer})
    def post(self, request, study_id: int):
        study = study_for(request.user, study_id, "manage")
        options = PairwiseJudgeStartSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        job = services.pairwise_judge_job_start(study=study, user=request.user, **options.validated_data)
        job.refresh_from_db()  # an in-process run (no broker) has finished by now
        return Response(JobDetailSerializer(job_detail_data(job)).data, status=status.HTTP_201_CREATED)


class StudyPairwiseVerdictListApi(ListAPIView):
    """GET: the study's pairwise verdicts, one per pair and order, each with its pair's verdict."""

    permission_classes = ADMIN_ONLY
    serializer_class = PairwiseVerdictSerializer

    @extend_schema(parameters=[OpenApiParameter("judge", {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
                                                description="Only this judge model's verdicts")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        study = study_for(self.request.user, self.kwargs["study_id"], "manage")
        judge = self.request.query_params.get("judge")
        if judge is not None and id_or_none(judge) is None:
            raise ApplicationError("judge must be a model id.", extra={"fields": {"judge": "not an id"}})
        return selectors.pairwise_verdicts(study=study, judge_id=id_or_none(judge))
