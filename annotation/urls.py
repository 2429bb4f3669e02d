from django.urls import path

from .views import admin, alerts, rater

app_name = "annotation"

urlpatterns = [
    path("rate/", rater.rater_home, name="rater_home"),
    path("rate/s/<str:code>/", rater.study_continue, name="rate_continue"),
    path("rate/s/<str:code>/history/", rater.study_history, name="rate_history"),
    path("rate/i/<str:code>/", rater.task_page, name="rate_task"),
    path("rate/i/<str:code>/draft/", rater.task_draft, name="rate_draft"),
    path("rate/i/<str:code>/flag/", rater.task_flag, name="rate_flag"),
    path("studies/<int:pk>/alerts/", alerts.study_alert_list, name="study_alerts"),
    path("studies/<int:pk>/dashboard/", admin.study_dashboard, name="study_dashboard"),
    path("studies/<int:pk>/flags/", admin.study_flag_queue, name="study_flags"),
    path("studies/<int:pk>/raters/", admin.study_raters, name="study_raters"),
]
