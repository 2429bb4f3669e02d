"""/api/rating/...: clinicians' items by opaque code, and the admins' rater roster; the dashboard's drift."""
from django.urls import path

from .api import views

app_name = "annotation-api"

urlpatterns = [
    path("rating/studies/", views.EnrolmentListApi.as_view(), name="rating-enrolments"),
    path("rating/assignments/", views.AssignmentListApi.as_view(), name="rating-assignments"),
    path("rating/assignments/<str:code>/", views.AssignmentDetailApi.as_view(), name="rating-assignment"),
    path("rating/assignments/<str:code>/draft/", views.AssignmentDraftApi.as_view(), name="rating-draft"),
    path("rating/assignments/<str:code>/submit/", views.AssignmentSubmitApi.as_view(), name="rating-submit"),
    path("rating/assignments/<str:code>/flags/", views.AssignmentFlagApi.as_view(), name="rating-flags"),
    path("rating/admin/studies/<int:pk>/raters/", views.StudyRatersApi.as_view(), name="rating-study-raters"),
    path("rating/admin/studies/<int:pk>/raters/<str:username>/", views.StudyRaterDetailApi.as_view(),
         name="rating-study-rater"),
    path("rating/admin/studies/<int:pk>/rebalance/", views.StudyRebalanceApi.as_view(), name="rating-study-rebalance"),
    path("studies/<int:pk>/dashboard/drift/", views.StudyDriftApi.as_view(), name="study-dashboard-drift"),
]
