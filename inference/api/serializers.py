from rest_framework import serializers


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
