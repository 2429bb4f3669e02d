from rest_framework import serializers

from studies.models import ModelSpec


class JobProgressSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    percent = serializers.FloatField()
    elapsed_seconds = serializers.FloatField(allow_null=True)
    rate_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    is_active = serializers.BooleanField()
    created_at = serializers.CharField()
    error = serializers.CharField(allow_blank=True)


class FailedRowsSerializer(serializers.Serializer):
    error = serializers.CharField()
    rows = serializers.IntegerField()


class JobDetailSerializer(JobProgressSerializer):
    failed_rows = FailedRowsSerializer(many=True)


class JudgeJobStartSerializer(serializers.Serializer):
    judge = serializers.PrimaryKeyRelatedField(
        queryset=ModelSpec.objects.filter(is_judge=True), required=False, allow_null=True,
        help_text="One of the study's judges (its id); absent or null: the study's own judge")
    all_judges = serializers.BooleanField(default=False, help_text="Score with each of the study's judges")
