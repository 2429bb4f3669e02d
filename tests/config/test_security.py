"""Browser-facing protections: a strict Content-Security-Policy on every app page, no inline script in any
template, and production settings that pass Django's deployment check."""
import os
import re
import subprocess
import sys

import pytest
from django.urls import reverse

from tests import factories
from tests.config.test_settings import ROOT, _settings_probe

TEMPLATES = ROOT / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in header.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [None, "clinician", "researcher", "admin"])
def test_every_app_page_has_a_strict_content_security_policy(client, role):
    if role:
        client.force_login(factories.UserFactory(role=role))
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_the_django_admin_and_error_pages_have_the_policy_too(client):
    client.force_login(factories.admin())
    assert "script-src 'self'" in client.get(reverse("admin:index"))["Content-Security-Policy"]
    assert "script-src 'self'" in client.get("/no-such-page/")["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_api_docs_page_runs_without_inline_script(client):
    client.force_login(factories.researcher())
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script on the API docs page"
    csp = _directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]  # Swagger UI from our own static files (drf-spectacular-sidecar)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_no_template_has_inline_script_event_handlers_or_javascript_urls():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in pattern.finditer(text)]
    assert not offenders, offenders


PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k3Jv9-production-like-secret-4fQm2xT8pLw7Rz1NbYc6HdE0sGuVoA5iKjM",
    "ALLOWED_HOSTS": "lab.example.org",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def test_deployment_settings_come_from_the_environment():
    expr = ("s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SECURE_SSL_REDIRECT, "
            "s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE")
    result = _settings_probe(PRODUCTION_ENV, expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "31536000 True True True ('HTTP_X_FORWARDED_PROTO', 'https') True True"
    plain = _settings_probe({"SECRET_KEY": "x" * 50}, expr)
    assert plain.stdout.strip() == "0 False False False None True True"  # cookies secure once DEBUG is off
    dev = _settings_probe({"DEBUG": "1", "SECRET_KEY": "x" * 50, "SESSION_COOKIE_SECURE": "1"}, expr)
    assert dev.stdout.strip() == "0 False False False None True False"


def test_a_malformed_proxy_header_setting_is_refused():
    result = _settings_probe({"SECRET_KEY": "x" * 50, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, "1")
    assert result.returncode != 0 and "SECURE_PROXY_SSL_HEADER" in result.stderr


def test_production_like_settings_pass_the_deployment_check():
    # Not the test run's own relaxations (browser tests allow sync database calls from async code).
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "SECRET_KEY", "SECURE_COOKIES", "DATABASE_URL", "CELERY_BROKER_URL",
                        "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
