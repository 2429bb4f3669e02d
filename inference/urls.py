from django.urls import path, re_path

from . import views

app_name = "inference"

urlpatterns = [
    path("studies/<int:study_id>/jobs/", views.study_jobs, name="study_jobs"),
    path("studies/<int:study_id>/generate/", views.study_start, {"kind": "generate"}, name="study_generate"),
    path("studies/<int:study_id>/judge/", views.study_start, {"kind": "judge"}, name="study_judge"),
    path("studies/<int:study_id>/judge-pairwise/", views.study_pairwise_judge, name="study_judge_pairwise"),
    path("studies/<int:study_id>/responses/upload/", views.responses_upload, name="responses_upload"),
    path("studies/<int:study_id>/responses/upload/confirm/", views.responses_upload_confirm,
         name="responses_upload_confirm"),
    path("studies/<int:study_id>/responses/imports/<int:pk>/", views.responses_import_run,
         name="responses_import_run"),
    path("models/<int:spec_id>/try/", views.model_spec_try, name="model_spec_try"),
    re_path(r"^jobs/(?P<job_id>\d+)/(?P<action>cancel|retry-failed|resume)/$", views.job_action, name="job_action"),
]
