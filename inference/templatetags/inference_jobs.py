"""`{% load inference_jobs %}{% study_jobs_panel study %}`: the jobs panel on an admin's study page."""
from django import template

register = template.Library()


@register.inclusion_tag("inference/_study_jobs.html", takes_context=True)
def study_jobs_panel(context, study):
    from ..views import panel_context

    request = context["request"]
    return {**panel_context(request, study), "csrf_token": context.get("csrf_token"), "request": request}


@register.filter
def duration(seconds) -> str:
    """12 s, 3 min 20 s, 2 h 05 min."""
    if seconds is None:
        return ""
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
