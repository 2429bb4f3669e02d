from django.urls import path

from . import views

app_name = "studies"

urlpatterns = [
    path("studies/", views.study_list, name="study_list"),
    path("studies/new/", views.study_create, name="study_create"),
    path("studies/import/", views.study_import, name="study_import"),
    path("studies/<int:pk>/", views.study_detail, name="study_detail"),
    path("studies/<int:pk>/edit/", views.study_edit, name="study_edit"),
    path("studies/<int:pk>/transition/", views.study_transition, name="study_transition"),
    path("studies/<int:pk>/export/", views.study_export, name="study_export"),
    path("studies/<int:pk>/members/", views.study_member_set, name="study_member_set"),
    path("studies/<int:pk>/members/<str:username>/remove/", views.study_member_remove, name="study_member_remove"),
    path("case-sets/", views.case_set_list, name="case_set_list"),
    path("case-sets/upload/", views.case_set_upload, name="case_set_upload"),
    path("case-sets/upload/confirm/", views.case_set_upload_confirm, name="case_set_upload_confirm"),
    path("case-sets/<int:pk>/", views.case_set_detail, name="case_set_detail"),
    path("personas/", views.persona_list, name="persona_list"),
    path("personas/new/", views.persona_create, name="persona_create"),
    path("personas/load-library/", views.persona_library_load, name="persona_library_load"),
    path("personas/<int:pk>/", views.persona_detail, name="persona_detail"),
    path("personas/<int:pk>/edit/", views.persona_edit, name="persona_edit"),
]
