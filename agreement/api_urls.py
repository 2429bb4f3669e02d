from django.urls import path

from . import api

app_name = "agreement-api"

urlpatterns = [
    path("reports/", api.ReportListCreateApi.as_view(), name="report_list"),
    path("reports/<int:pk>/", api.ReportDetailApi.as_view(), name="report_detail"),
    path("reports/<int:pk>/download/", api.ReportDownloadApi.as_view(), name="report_download"),
]
