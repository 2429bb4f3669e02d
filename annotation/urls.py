from django.urls import path

from .views import alerts, rater

app_name = "annotation"

urlpatterns = [
    path("rate/", rater.rater_home, name="rater_home"),
    path("rate/s/<str:code>/", rater.study_continue, name="rate_continue"),
    path("rate/s/<str:code>/history/", rater.study_history, name="rate_history"),
    path("rate/i/<str:code>/", rater.task_page, name="rate_task"),
    path("rate/i/<str:code>/draft/", rater.task_draft, name="rate_draft"),
    path("rate/i/<str:code>/flag/", rater.task_flag, name="rate_flag"),
    path("studies/<int:pk>/alerts/", alerts.study_alert_list, name="study_alerts"),
]
