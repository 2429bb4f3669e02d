"""Settings for the test suite: the real settings with test-only safe values filled in."""
import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")
os.environ.setdefault("SECURE_COOKIES", "0")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Django's test client logs in with authenticate() and no request; the lockout backend then needs one.
AUTHENTICATION_BACKENDS = ["tests.accounts.auth_backends.LockoutBackend", *AUTHENTICATION_BACKENDS[1:]]  # noqa: F405
# HTTP Basic is listed so that a test can turn it on (settings.API_BASIC_AUTH); it is inert while off.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": [  # noqa: F405
    "accounts.authentication.SessionAuthentication", "accounts.authentication.BasicAuthentication"]}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One process: its memory cache is the shared cache a deployment names with CACHE_URL (sessions read from it).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
