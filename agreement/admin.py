from django.contrib import admin

from .models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "study", "format", "status", "progress", "data_hash", "created_at", "finished_at")
    list_filter = ("format", "status")
    readonly_fields = [f.name for f in Report._meta.fields]
