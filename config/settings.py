"""Settings. Every deployment knob is an environment variable read here, and only here.

The README's configuration table lists each variable; keep the two in step.
"""
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state for the embedded defaults (SQLite, media, dev key)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a random key kept on disk so logins survive a restart.
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc from our own static files: the docs work offline
    "axes",
    "csp",
    "accounts",
    "studies",
    "annotation",
    "inference",
    "agreement",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiTextGuardMiddleware",  # /api/: NUL or invalid Unicode is a 400 before any lookup
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lockout flagged during authentication into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.role",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A connection outlives its request (opening one cost more than a rating page); a broken one is replaced.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    options = DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # psycopg prepares nothing without a threshold; Django's own queries bind on the client and are never
        # prepared, whatever it is: only config.db.prepared_cursor asks for it. Those statements find rows by
        # key, so one generic plan serves every value; left to choose, PostgreSQL kept planning the item's
        # query anew on every call once it had statistics.
        options.setdefault("prepare_threshold", 5)
        options["options"] = f"{options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
    else:
        options.setdefault("prepare_threshold", None)
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets the dev server read while an in-process task writes.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ---
# CACHE_URL (e.g. redis://redis:6379/1) names a cache that every web worker shares: sessions are then read
# from it (written through to the database), so a page costs no session query. Without one, each process
# has its own memory cache, which must not hold sessions (a logout in one worker would leave the session
# alive in the others): sessions then stay in the database.
CACHE_URL = env.str("CACHE_URL", default="")
CACHES = {"default": env.cache_url_config(CACHE_URL) if CACHE_URL
          else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = f"django.contrib.sessions.backends.{'cached_db' if CACHE_URL else 'db'}"

# Applied by every way an account gets a password: accounts.services.user_create (the create_user command,
# the demo) and the password-change page.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (django-axes): the login page, the Django admin login and the API's HTTP Basic. ---
# A username + client address pair is locked out after LOGIN_FAILURE_LIMIT failures in a row, for
# LOGIN_COOLOFF_MINUTES; attempts during a lockout do not extend it; a successful login clears the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before any password is checked
    "accounts.backends.ModelBackend",  # Django's, reading the session's user by a prepared statement
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The client address is REMOTE_ADDR (never a client-supplied header). Behind a reverse proxy every client
# shares the proxy's address, so the lockout is then per username; see docs/security.md.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Celery: no broker means tasks run in-process (the embedded default). ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"inference.tasks.*": {"queue": "gpu"}}
# Long generation chunks: a task is acknowledged only when done, so a killed worker's chunk is
# redelivered; one task at a time per worker so nothing waits behind a long chunk.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers unacked tasks after this many seconds; it must exceed the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600)
}
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 300

# --- REST API ---
# Session cookies always (browsers, with CSRF); HTTP Basic only where a deployment asks for it (scripts).
API_BASIC_AUTH = env.bool("API_BASIC_AUTH", default=False)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionAuthentication",
        *(["accounts.authentication.BasicAuthentication"] if API_BASIC_AUTH else []),
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Persona Paradox Lab API",
    "DESCRIPTION": "Case sets, personas, studies, generation, blinded rating and agreement reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies get their own components (files as binary, no read-only fields); every operation lists
    # its error statuses in the one error shape (config.exceptions).
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON, except where a view declares its media types (file uploads).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "config.exceptions.error_responses_hook"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StudyStatusEnum": "studies.choices.StudyStatus",
        "MemberRoleEnum": "studies.choices.MemberRole",
        "CaseFileFormatEnum": ["csv", "json", "jsonl"],
        "ReportFormatEnum": "agreement.models.ReportFormat",
    },
}

# --- Mail (dangerous-output notifications to a study's safety lead) ---
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="persona-lab@localhost")
# Clinicians' invitations: an emailed one-time link (on) or a one-time password shown once (off); unset:
# on unless mail goes to the console, memory or a file.
if "INVITATIONS_BY_EMAIL" in env.ENVIRON:
    INVITATIONS_BY_EMAIL = env.bool("INVITATIONS_BY_EMAIL")

# --- Uploads ---
CASE_UPLOAD_MAX_BYTES = env.int("CASE_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
CASE_UPLOAD_MAX_ROWS = env.int("CASE_UPLOAD_MAX_ROWS", default=200_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Inference ---
GENERATION_CHUNK_SIZE = env.int("GENERATION_CHUNK_SIZE", default=256)
VLLM_GPU_MEMORY_UTILIZATION = env.float("VLLM_GPU_MEMORY_UTILIZATION", default=0.9)
VLLM_MAX_MODEL_LEN = env.int("VLLM_MAX_MODEL_LEN", default=4096)
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_MAX_CONCURRENCY = env.int("OPENAI_MAX_CONCURRENCY", default=16)
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=300.0)  # one request, one attempt
OPENAI_MAX_ATTEMPTS = env.int("OPENAI_MAX_ATTEMPTS", default=5)  # per request, for 429/5xx/timeouts
JUDGE_MAX_ATTEMPTS = env.int("JUDGE_MAX_ATTEMPTS", default=3)  # judge calls per response before "unparseable"
# Pairs one pairwise judge job may plan (each is asked in both orders: two judge calls per pair).
PAIRWISE_JUDGE_MAX_PAIRS = env.int("PAIRWISE_JUDGE_MAX_PAIRS", default=5000)

# --- Import limits, model servers and report workers (docs/case-set-format.md, docs/responses-jsonl.md) ---
# A CSV header with more columns, or a CSV/JSONL line with more characters, refuses the whole file.
CASE_UPLOAD_MAX_COLUMNS = env.int("CASE_UPLOAD_MAX_COLUMNS", default=200)
CASE_UPLOAD_MAX_LINE_CHARS = env.int("CASE_UPLOAD_MAX_LINE_CHARS", default=2_000_000)
STUDY_FILE_MAX_BYTES = env.int("STUDY_FILE_MAX_BYTES", default=2 * 1024 * 1024)  # study export files
# Where a model spec's API base URL may point: host names ("gpu", "api.openai.com") or URL prefixes
# ("https://api.openai.com/v1"). Empty: any URL while DEBUG is on, none once it is off.
MODEL_API_BASE_ALLOWLIST = env.list("MODEL_API_BASE_ALLOWLIST", default=[])
# The only folder an imported model's engine_options.responses_file may name a file in.
IMPORTED_RESPONSES_DIR = Path(env.str("IMPORTED_RESPONSES_DIR", default=str(MEDIA_ROOT / "imported-responses")))
# A building report touches its heartbeat this often; one silent for REPORT_STALE_SECONDS is stale.
REPORT_HEARTBEAT_SECONDS = env.int("REPORT_HEARTBEAT_SECONDS", default=60)
REPORT_STALE_SECONDS = env.int("REPORT_STALE_SECONDS", default=900)
# Processes computing one report's independent sections side by side (forked; 1 = in the building process
# only), and parts its rating values are read in, side by side, on PostgreSQL. Fork is used on Linux only:
# elsewhere system libraries are not safe to use in a forked child.
REPORT_PROCESSES = env.int("REPORT_PROCESSES", default=min(4, os.cpu_count() or 1) if sys.platform == "linux" else 1)

# --- HTTPS and browser protections (docs/security.md) ---
# Cookies are HTTPS-only once DEBUG is off; SECURE_COOKIES=0 serves plain HTTP (a local compose stack).
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_COOKIES)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_COOKIES)
# Off unless set: only a deployment that is served over HTTPS end to end should turn these on.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)


def _proxy_ssl_header() -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https: trust that header, set by the TLS proxy, only."""
    value = env.str("SECURE_PROXY_SSL_HEADER", default="").strip()
    if not value:
        return None
    parts = tuple(p.strip() for p in value.split(","))
    if len(parts) != 2 or not parts[0].startswith("HTTP_") or not parts[1]:
        raise environ.ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be 'HTTP_<HEADER>,<value>', e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return parts


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every response that sets none of its own. No inline script or
# event handler anywhere: scripts are static files. Inline styles stay allowed: the report pages embed
# SVG charts, which style themselves with style attributes. img data: for the charts' bitmaps.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO: one line per chat completion drowns a generation run.
    # axes logs every successful login at INFO; failures and lockouts are WARNING and stay.
    "loggers": {"httpx": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
