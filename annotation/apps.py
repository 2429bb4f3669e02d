from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Rating"

    def ready(self):
        from studies.signals import study_status_changed

        from .services.assignments import assignments_plan_on_rating

        study_status_changed.connect(assignments_plan_on_rating, dispatch_uid="annotation.plan_on_rating")
