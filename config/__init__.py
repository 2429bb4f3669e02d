# Load the Celery app with Django so @shared_task uses it (standard Celery+Django wiring).
from .celery import app as celery_app

__all__ = ("celery_app",)
