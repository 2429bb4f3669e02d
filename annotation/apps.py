from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Rating"

    def ready(self):
        from studies.signals import study_status_changed, study_transition_check

        from .services.alerts import safety_contact_check
        from .services.assignments import assignments_plan_on_rating

        study_status_changed.connect(assignments_plan_on_rating, dispatch_uid="annotation.plan_on_rating")
        study_transition_check.connect(safety_contact_check, dispatch_uid="annotation.safety_contact_check")
