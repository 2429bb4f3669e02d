"""`{% load safety_alerts %}{% study_alerts_summary study %}`: on an admin's study page, how many
dangerous-output alerts were not delivered, with a link to the study's alerts."""
from django import template

register = template.Library()


@register.inclusion_tag("annotation/_alerts_summary.html")
def study_alerts_summary(study):
    from ..selectors.alerts import study_alerts_undelivered_count

    return {"study": study, "undelivered": study_alerts_undelivered_count(study=study)}
