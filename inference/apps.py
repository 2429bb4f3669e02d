from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Generation and judging"

    def ready(self):
        from studies.signals import study_transition_check

        from .services.jobs import jobs_block_transition

        study_transition_check.connect(jobs_block_transition, dispatch_uid="inference.jobs_block_transition")
