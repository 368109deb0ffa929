"""Settings, read from environment variables (see README "Configuration").

The embedded default (no variables set) is SQLite in ./var and Celery's filesystem broker, so
`make run` needs no server. Production sets MIGRATOR_ENV=production, DATABASE_URL, REDIS_URL,
DJANGO_SECRET_KEY and MIGRATOR_FERNET_KEYS.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from migrator.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MIGRATOR_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

MIGRATOR_ENV = env_str("MIGRATOR_ENV", "development")
if MIGRATOR_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"MIGRATOR_ENV={MIGRATOR_ENV!r} must be development, production or test."
    )
PRODUCTION = MIGRATOR_ENV == "production"
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)


def _dev_secret(filename: str, make) -> str:
    """A secret kept in var/ for the embedded default; production must pass its own."""
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    FERNET_KEYS = env_list("MIGRATOR_FERNET_KEYS", [])
    if not FERNET_KEYS:
        raise ImproperlyConfigured("MIGRATOR_FERNET_KEYS is required in production.")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or _dev_secret(
        "dev-secret-key", lambda: secrets.token_urlsafe(50)
    )
    FERNET_KEYS = env_list("MIGRATOR_FERNET_KEYS", []) or [
        _dev_secret("dev-fernet.key", lambda: Fernet.generate_key().decode())
    ]

if PRODUCTION:
    # No default: "localhost" behind a proxy would accept any Host the proxy passes on.
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS is required in production (the host names this server answers)."
        )
else:
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "apps.core",
    "apps.stores",
    "apps.sandbox",
    "apps.projects",
    "apps.runs",
    "apps.conflicts",
    "apps.webhooks",
    "apps.reconciliation",
    "apps.redirects",
    "apps.golive",
    "apps.demo",
]

MIDDLEWARE = [
    # First: a sandbox's faults act like the network in front of the platform (apps/sandbox/).
    "apps.sandbox.faults.SandboxFaultMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "migrator.urls"
WSGI_APPLICATION = "migrator.wsgi.application"

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
            ],
        },
    }
]

# --- Database ------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'migrator.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Web server threads and the worker write to one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock up front (no upgrade deadlocks), timeout waits.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so an integration test's worker process can share it.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-migrator.sqlite3")}
else:
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery --------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
# A worker holds a batch this long and extends it after every write (heartbeat); a dead
# worker's batch is taken over once it expires.
BATCH_LEASE_SECONDS = env_int("MIGRATOR_BATCH_LEASE_SECONDS", 60, minimum=2)
# The reaper's period, and how long a live run may make no progress before its waiting
# batches are sent again (a broker may have lost them).
REAPER_INTERVAL_SECONDS = env_float("MIGRATOR_REAPER_INTERVAL", 30.0, minimum=1.0)
RUN_STALL_SECONDS = env_int("MIGRATOR_RUN_STALL_SECONDS", 300, minimum=5)
if REDIS_URL:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than a batch can take, so Redis does not hand a live batch to a second worker.
        "visibility_timeout": BATCH_LEASE_SECONDS * 4,
    }
else:
    # Tests get their own queue folder, so a test never feeds the `make run` worker.
    BROKER_DIR = VAR_DIR / ("test-broker" if MIGRATOR_ENV == "test" else "broker")
    (BROKER_DIR / "queue").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# How often beat re-evaluates every cutover plan's gates (the age of the last delta grows).
GOLIVE_EVALUATE_INTERVAL_SECONDS = env_float(
    "MIGRATOR_GOLIVE_EVALUATE_INTERVAL", 300.0, minimum=10.0
)
CELERY_BEAT_SCHEDULE = {
    "runs-reap": {"task": "runs.reap", "schedule": REAPER_INTERVAL_SECONDS},
    "golive-evaluate": {
        "task": "golive.evaluate_all",
        "schedule": GOLIVE_EVALUATE_INTERVAL_SECONDS,
    },
}
# Beat reads its entries from the database (django-celery-beat), so per-project schedules made
# in the dashboard or API reach it without a restart; the entries above are copied in at start.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Engine --------------------------------------------------------------------------------
# Public base URL of this server: sandbox stores are served under {PUBLIC_URL}/sandbox/.
PUBLIC_URL = env_str("MIGRATOR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
HTTP_TIMEOUT_SECONDS = env_float("MIGRATOR_HTTP_TIMEOUT", 30.0, minimum=0.1)
HTTP_MAX_ATTEMPTS = env_int("MIGRATOR_HTTP_MAX_ATTEMPTS", 5, minimum=1)
# First retry's backoff ceiling in seconds; it doubles per attempt (full jitter, capped at 20 s).
HTTP_BACKOFF_SECONDS = env_float("MIGRATOR_HTTP_BACKOFF", 0.5, minimum=0.0)
SOURCE_PAGE_SIZE = env_int("MIGRATOR_SOURCE_PAGE_SIZE", 100, minimum=1)
# The target stores' request budgets (apps/stores/ratelimit.py): "auto" shares one budget per
# store through Redis when there is one, else each worker process keeps its own (a 429 is then
# the server's word, waited out); "redis" insists on Redis; "local" never uses it.
RATE_LIMIT_BACKEND = env_str("MIGRATOR_RATE_LIMIT_BACKEND", "auto")
if RATE_LIMIT_BACKEND not in {"auto", "redis", "local"}:
    raise ImproperlyConfigured(
        f"MIGRATOR_RATE_LIMIT_BACKEND={RATE_LIMIT_BACKEND!r} must be auto, redis or local."
    )
RATE_LIMIT_REDIS_URL = env_str("MIGRATOR_RATE_LIMIT_REDIS_URL", REDIS_URL)
if RATE_LIMIT_BACKEND == "redis" and not RATE_LIMIT_REDIS_URL:
    raise ImproperlyConfigured(
        "MIGRATOR_RATE_LIMIT_BACKEND=redis needs REDIS_URL or MIGRATOR_RATE_LIMIT_REDIS_URL."
    )

# --- E-mail (go-live notifications) ---------------------------------------------------------
# The console backend by default (mail is printed, not sent); production sets SMTP. The test
# runner swaps in the locmem backend whatever this says.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "migrator@localhost")

# --- Auth, API -----------------------------------------------------------------------------
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "core:login"
if MIGRATOR_ENV == "test":
    # Hashing strength is not under test; speed is.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Migrator API",
    "DESCRIPTION": "Control plane for moving a live store to a new e-commerce platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Runs and batches both have a `status`; name each enum after its model's choices.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "apps.runs.choices.RunStatus",
        "BatchStatusEnum": "apps.runs.choices.BatchStatus",
        "RunKindEnum": "apps.runs.choices.RunKind",
    },
}

# --- Security ------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 3600, minimum=0)

# --- Static, i18n --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "apps.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("MIGRATOR_LOG_LEVEL", "INFO")},
    "loggers": {
        # httpx logs every request line at INFO; keep it at WARNING (URLs carry query strings).
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
