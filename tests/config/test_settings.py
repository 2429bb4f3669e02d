"""Settings come from the environment with safe defaults; production refuses to start unsafe."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _settings_probe(env_overrides: dict, expr: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL",
                                                             "CELERY_BROKER_URL", "SECURE_COOKIES")}
    env.update(env_overrides, DJANGO_SETTINGS_MODULE="config.settings")
    code = f"import django; django.setup(); from django.conf import settings as s; print({expr})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_probe({"DEBUG": "0"}, "s.SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_defaults_are_sqlite_and_in_process_tasks():
    result = _settings_probe(
        {"SECRET_KEY": "x" * 50}, "s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3 True False"


def test_broker_url_switches_to_real_workers_and_database_url_to_postgres():
    result = _settings_probe(
        {"SECRET_KEY": "x" * 50, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
         "DATABASE_URL": "postgres://u:p@db.example:5432/lab"},
        "s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST']",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False django.db.backends.postgresql db.example"


def test_generation_tasks_are_routed_to_the_gpu_queue_and_acknowledged_late():
    from django.conf import settings

    assert settings.CELERY_TASK_ROUTES["inference.tasks.*"] == {"queue": "gpu"}
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


@pytest.mark.django_db
def test_api_errors_have_one_json_shape():
    from rest_framework.test import APIClient

    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"message", "extra"}


@pytest.mark.django_db
def test_openapi_schema_is_served_to_signed_in_users(api_as, researcher):
    response = api_as(researcher).get("/api/schema/")
    assert response.status_code == 200
    assert b"Persona Paradox Lab API" in response.content
