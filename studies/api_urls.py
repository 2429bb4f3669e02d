"""/api/case-sets/, cases/, personas/, model-specs/, studies/: what a study is made of."""
from rest_framework.routers import SimpleRouter

from .api import views

app_name = "studies-api"

router = SimpleRouter()
router.register("case-sets", views.CaseSetViewSet, basename="case-set")
router.register("cases", views.CaseViewSet, basename="case")
router.register("personas", views.PersonaViewSet, basename="persona")
router.register("model-specs", views.ModelSpecViewSet, basename="model-spec")
router.register("studies", views.StudyViewSet, basename="study")
urlpatterns = router.urls
