from django.contrib import admin

from .models import RaterProfile


@admin.register(RaterProfile)
class RaterProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "specialty", "years_in_practice")
    list_filter = ("specialty",)
