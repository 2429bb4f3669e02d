"""Django admin for rating: enrolments (through the services, so a running study rebalances), flags to
resolve, and read-only views of assignments, comparisons and the append-only revision history."""
from django.contrib import admin, messages
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.admin import SetupAdmin

from .models import (
    Assignment,
    Comparison,
    ItemFlag,
    Preference,
    PreferenceAssignment,
    PreferenceRevision,
    Rating,
    RatingRevision,
    SafetyAlert,
    StudyRater,
)
from .services.alerts import safety_alert_resend
from .services.assignments import study_rater_add, study_rater_remove


class ReadOnlyAdmin(SetupAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StudyRater)
class StudyRaterAdmin(SetupAdmin):
    list_display = ("rater", "study", "is_active", "created_at")
    list_filter = ("is_active", "study")
    search_fields = ("rater__username", "study__name")
    fields = ("study", "rater")
    actions = ["remove_from_study"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # submitted work points at the enrolment's rater; remove instead

    def save_model(self, request, obj, form, change):
        try:
            obj.pk = study_rater_add(study=obj.study, rater=obj.rater, actor=request.user).pk
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description="Remove from the study (unseen work moves to the others)")
    def remove_from_study(self, request, queryset):
        for enrolment in queryset.select_related("study", "rater"):
            try:
                study_rater_remove(study=enrolment.study, rater=enrolment.rater, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)


@admin.register(ItemFlag)
class ItemFlagAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "study", "rater", "kind", "note", "resolved_at")
    list_filter = ("kind", "study", ("resolved_at", admin.EmptyFieldListFilter))
    actions = ["mark_resolved"]

    @admin.action(description="Mark resolved")
    def mark_resolved(self, request, queryset):
        queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())


@admin.register(SafetyAlert)
class SafetyAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "study", "status", "attempts", "recipient", "sent_at", "last_error")
    list_filter = ("status", "study")
    actions = ["send_again"]

    @admin.action(description="Send again (alerts not delivered)")
    def send_again(self, request, queryset):
        for alert in queryset.exclude(status="sent"):
            safety_alert_resend(alert=alert)


@admin.register(RatingRevision, PreferenceRevision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "revision", "changed_by", "reason", "created_at")
    list_filter = ("created_at",)


admin.site.register([Comparison, PreferenceAssignment, Preference], ReadOnlyAdmin)


admin.site.register([Assignment, Rating])
