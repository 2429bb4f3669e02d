"""The Celery app. Routing: generation and judge tasks go to the `gpu` queue, the rest to `default`."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("persona_lab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
