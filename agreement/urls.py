from django.urls import path

from . import views, views_planning, views_preregistration

app_name = "agreement"

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("studies/<int:study_id>/", views.study_report, name="study_report"),
    path("studies/<int:study_id>/build/", views.report_build, name="report_build"),
    path("<int:report_id>/resume/", views.report_resume, name="report_resume"),
    path("<int:report_id>/download/", views.report_download, name="report_download"),
    path("<int:report_id>/view/", views.report_view, name="report_view"),
    path("studies/<int:study_id>/preregistration/", views_preregistration.preregistration, name="preregistration"),
    path("studies/<int:study_id>/preregistration/download/", views_preregistration.preregistration_download,
         name="preregistration_download"),
    path("studies/<int:study_id>/plan/", views_planning.sample_size, name="sample_size"),
    path("studies/<int:study_id>/plan/apply/", views_planning.sample_size_apply, name="sample_size_apply"),
]
