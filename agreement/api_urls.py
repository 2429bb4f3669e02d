from django.urls import path

from .api import planning, preregistration, views

app_name = "agreement-api"

urlpatterns = [
    path("reports/", views.ReportListCreateApi.as_view(), name="report-list"),
    path("reports/<int:pk>/", views.ReportDetailApi.as_view(), name="report-detail"),
    path("reports/<int:pk>/resume/", views.ReportResumeApi.as_view(), name="report-resume"),
    path("reports/<int:pk>/download/", views.ReportDownloadApi.as_view(), name="report-download"),
    path("studies/<int:pk>/preregistration/", preregistration.PreregistrationApi.as_view(), name="preregistration"),
    path("studies/<int:pk>/preregistration/export/", preregistration.PreregistrationExportApi.as_view(),
         name="preregistration-export"),
    path("studies/<int:pk>/sample-size/", planning.StudySampleSizeApi.as_view(), name="sample-size"),
]
