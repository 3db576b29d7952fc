"""Settings, all read from the environment (see .env.example and the README's configuration table).

With no environment at all the service runs on the embedded default: SQLite under var/, and Redis
on 127.0.0.1:6379 if it answers, else kombu's filesystem transport under var/ (config/celery.py).
Importing this module does no I/O: no network probe, no folder created.
"""

from __future__ import annotations

import os
from datetime import timedelta

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, VAR_DIR, env, redis_transport_options

DEBUG = env.bool("DEBUG", default=False)
_LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=_LOOPBACK_HOSTS)
# The embedded development key is only acceptable where nobody else can reach the service: DEBUG on,
# or ALLOWED_HOSTS naming loopback hosts only (make run, tests, CLI use). A deployment that serves a
# real host name (or sets LADDER_REQUIRE_SECRET_KEY=1) refuses to start without SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    _served_beyond_loopback = any(host not in _LOOPBACK_HOSTS for host in ALLOWED_HOSTS)
    if not DEBUG and (_served_beyond_loopback or env.bool("LADDER_REQUIRE_SECRET_KEY", default=False)):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in the environment when DEBUG is off and ALLOWED_HOSTS names a real host; "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    # The django-insecure- prefix makes `manage.py check --deploy` flag this key (security.W009).
    SECRET_KEY = "django-insecure-development-key-set-SECRET_KEY-in-production"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # failed sign-ins per username and per client address, in the database (config/urls.py)
    "registry",
    "evals",
]

MIDDLEWARE = [
    "config.middleware.HealthCheckMiddleware",  # probes answer before host checks and the HTTPS redirect
    "config.middleware.RequestBodyLimitMiddleware",  # oversized or non-JSON API bodies refused unread
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the 429 lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ladder.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default serves a web process, a worker and beat at once: wait for locks.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://ladder")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# Sign-in brute force (django-axes, counted in the database so every web process and host agrees): after
# LADDER_LOGIN_FAILURE_LIMIT failed sign-ins for one username, or from one client address (the address the
# API throttles use, config/throttling.py), further attempts answer 429 for LADDER_LOGIN_COOLOFF_MINUTES.
# Covers the site's and the admin's sign-in forms; staff can clear a lockout with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LADDER_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LADDER_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "config.throttling.client_address"
# Failures expire after the cool-off, not on a successful sign-in: axes would delete every failure from the
# address, so an attacker signing in to an account of their own between guesses would never be locked.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "config.login.login_locked_out"
AXES_COOLOFF_MESSAGE = _("Too many failed sign-ins. Try again later.")
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- security -------------------------------------------------------------------------------
# HTTPS=1 says the site is served over TLS (directly or behind a proxy that sets X-Forwarded-Proto with
# BEHIND_PROXY=1): cookies become Secure, plain HTTP redirects to HTTPS and browsers get HSTS. Each
# default below can be overridden on its own. With HTTPS=1, DEBUG=0, SECRET_KEY and ALLOWED_HOSTS set,
# `python manage.py check --deploy` reports no issues (tests/ops/test_settings.py keeps it that way).
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
# Load balancers probe over plain HTTP on the container's own address.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
# How many reverse proxies in front of the web processes append to X-Forwarded-For. The client address
# that throttles and the sign-in limiter count is that many entries from the right of the header; with 0
# the header is ignored and the socket address counts (config/throttling.py).
TRUSTED_PROXIES = env.int("LADDER_TRUSTED_PROXIES", default=0)
USE_X_FORWARDED_HOST = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
# Django's own form limits, explicit: no page takes file uploads, so an upload is kept small and in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# Any request body larger than this answers 413 before anything reads it (config/middleware.py); the API
# takes JSON only, up to DATA_UPLOAD_MAX_MEMORY_SIZE.
REQUEST_BODY_MAX_SIZE = env.int("LADDER_MAX_REQUEST_BODY", default=1024 * 1024)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # Every API error answers {"error": {"code", "message", "field"?, "fields"?}} (config/api_errors.py),
    # and the schema documents that body on every operation's error responses (config/api_schema.py).
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.ErrorAwareAutoSchema",
    # The API reads JSON only: bodies over DATA_UPLOAD_MAX_MEMORY_SIZE answer 413 unread, any other media
    # type 415 (config/middleware.py refuses both before authentication could parse a form for CSRF).
    "DEFAULT_PARSER_CLASSES": ["config.api_errors.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Anonymous API clients are limited per address (LADDER_ANON_RATE); submissions per user (a scope on
    # the evaluations API). Counters live in CACHE_URL: use a shared cache (Redis) with several processes.
    # Per address means config.throttling.client_address: LADDER_TRUSTED_PROXIES decides how much of
    # X-Forwarded-For to believe (NUM_PROXIES, for any throttle that uses DRF's own get_ident).
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.AnonRateThrottle"],
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        # The daily quota, counted by evals.services from accepted runs only (no DRF throttle uses it).
        "submissions": env.str("LADDER_SUBMISSION_RATE", default="5/day"),
        # Submit POSTs per user, accepted or not: a guard against abuse, separate from the quota.
        "submit_burst": env.str("LADDER_SUBMIT_BURST_RATE", default="30/minute"),
        "anon": env.str("LADDER_ANON_RATE", default="1000/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Ladder API",
    "DESCRIPTION": "Registry of open and closed LLMs, evaluations and leaderboards.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: the service never loads assets from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Evaluation runs and Hub syncs both have a `status`: give each enum its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "EvalRunStatusEnum": "evals.models.EvalRun.Status",
        "SyncRunStatusEnum": "registry.models.SyncRun.Status",
    },
}

# --- Hugging Face Hub -------------------------------------------------------------------------
# HF_ENDPOINT and HF_TOKEN are read by huggingface_hub itself (HF_ENDPOINT at import time).
HF_ENDPOINT = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
HUB_TIMEOUT = env.float("LADDER_HUB_TIMEOUT", default=15.0)
HUB_MAX_RETRIES = env.int("LADDER_HUB_MAX_RETRIES", default=4)
HUB_BACKOFF_BASE = env.float("LADDER_HUB_BACKOFF", default=1.0)
# A person waits on the submit page/API while the Hub is asked: a short timeout and at most one quick retry
# there, so an unreachable Hub is reported within seconds (the background sync keeps the values above).
HUB_SUBMIT_TIMEOUT = env.float("LADDER_HUB_SUBMIT_TIMEOUT", default=4.0)
HUB_SUBMIT_MAX_RETRIES = env.int("LADDER_HUB_SUBMIT_MAX_RETRIES", default=1)
HUB_SYNC_AUTHORS = env.list("LADDER_SYNC_AUTHORS", default=[])
HUB_SYNC_LIMIT = env.int("LADDER_SYNC_LIMIT", default=200)
HUB_SYNC_INTERVAL_MINUTES = env.int("LADDER_SYNC_INTERVAL_MINUTES", default=120)
# A sync's soft time limit, seconds (the hard limit is 120 s later); a sync still "running" 600 s past it
# is marked failed as lost. A large first sync can take a while.
SYNC_SOFT_TIME_LIMIT = env.int("LADDER_SYNC_SOFT_TIME_LIMIT", default=3600)
# Community scores: a sync reads the open pull requests of a model at most once per this many minutes
# (0: every sync), and reads a PR's files again only when the model's open PRs or their heads changed.
HUB_SYNC_PR_INTERVAL_MINUTES = env.int("LADDER_SYNC_PR_INTERVAL_MINUTES", default=360)
# Publishing runs to the Hub as pull requests: a token with write access (never shown or logged), and the
# address this service is reached at, for the absolute run URLs the published files point to.
HUB_WRITE_TOKEN = env.str("LADDER_HUB_WRITE_TOKEN", default="")
PUBLIC_URL = env.str("LADDER_PUBLIC_URL", default="").rstrip("/")

# --- evaluations ------------------------------------------------------------------------------
LADDER_DATA_DIR = env.str("LADDER_DATA_DIR", default="")
# Results imports (evals/exchange): the largest results or samples file read, and the archive task's limit.
IMPORT_MAX_FILE_BYTES = env.int("LADDER_IMPORT_MAX_FILE_BYTES", default=64 * 1024 * 1024)
IMPORT_ARCHIVE_TIME_LIMIT = env.int("LADDER_IMPORT_ARCHIVE_TIME_LIMIT", default=6 * 3600)
EVAL_MAX_PARAMETERS = env.int("LADDER_EVAL_MAX_PARAMETERS", default=15_000_000_000)
EVAL_SOFT_TIME_LIMIT = env.int("LADDER_EVAL_SOFT_TIME_LIMIT", default=6 * 3600)
EVAL_TIME_LIMIT = env.int("LADDER_EVAL_TIME_LIMIT", default=EVAL_SOFT_TIME_LIMIT + 300)
# A running run's worker beats from a thread every EVAL_HEARTBEAT_INTERVAL seconds for the whole attempt
# (download and model loading included); a run with no beat for EVAL_HEARTBEAT_TIMEOUT is its worker's
# death. Every worker (and beat) reaps every EVAL_REAP_INTERVAL seconds (0: only beat), so a dead
# worker's run resumes within timeout + interval (90 s by default).
EVAL_HEARTBEAT_INTERVAL = env.float("LADDER_EVAL_HEARTBEAT_INTERVAL", default=15.0)
EVAL_HEARTBEAT_TIMEOUT = env.int("LADDER_EVAL_HEARTBEAT_TIMEOUT", default=60)
EVAL_REAP_INTERVAL = env.float("LADDER_EVAL_REAP_INTERVAL", default=30.0)
# Largest Hub download (safetensors weights + config/tokenizer files) a worker fetches for one model:
# the largest allowed model at 2 bytes per parameter (fp16/bf16), plus 2 GiB of slack.
EVAL_MAX_DOWNLOAD_BYTES = env.int("LADDER_EVAL_MAX_DOWNLOAD_BYTES", default=2 * EVAL_MAX_PARAMETERS + 2 * 1024**3)
EVAL_MAX_ATTEMPTS = env.int("LADDER_EVAL_MAX_ATTEMPTS", default=3)
# The dispatcher leaves a new run alone this long (its after-commit send is on the way), and sends a
# queued run again when its last message is older than EVAL_REDISPATCH_AFTER and nobody claimed it.
EVAL_DISPATCH_GRACE = env.int("LADDER_EVAL_DISPATCH_GRACE", default=10)
EVAL_REDISPATCH_AFTER = env.int("LADDER_EVAL_REDISPATCH_AFTER", default=EVAL_TIME_LIMIT + 600)
# Degenerate scores (evals/generative.py): a run is flagged, and does not rank until staff accept it, when a
# generative benchmark's answers are unparsed beyond EVAL_MAX_UNPARSED_SHARE, or when, among at least
# EVAL_COLLAPSE_MIN_ITEMS parsed answers of a generative benchmark, one answer makes up EVAL_COLLAPSE_SHARE.
EVAL_MAX_UNPARSED_SHARE = env.float("LADDER_EVAL_MAX_UNPARSED_SHARE", default=0.1)
EVAL_COLLAPSE_SHARE = env.float("LADDER_EVAL_COLLAPSE_SHARE", default=0.9)
EVAL_COLLAPSE_MIN_ITEMS = env.int("LADDER_EVAL_COLLAPSE_MIN_ITEMS", default=20)
# Seconds an evaluation task waits before retrying after a database error.
EVAL_DB_RETRY_DELAY = env.int("LADDER_EVAL_DB_RETRY_DELAY", default=30)

# Seconds a computed leaderboard may be served from cache (0 = never cache). Finished runs bump the
# cache generation at once; this bounds staleness only for changes made outside the services.
LEADERBOARD_CACHE_TTL = env.int("LADDER_LEADERBOARD_CACHE_TTL", default=300)
# Where web processes save each board's columnar copy, so a restarted worker starts from it instead of
# reading the whole board table (evals/selectors/leaderboard/snapshot.py); empty = off.
LEADERBOARD_SNAPSHOT_DIR = env.str("LADDER_LEADERBOARD_SNAPSHOT_DIR", default=str(VAR_DIR / "board"))
# Hydrated board rows each web process keeps per board and generation (evals/selectors/leaderboard/read.py
# RowMemo), so a row shown again is not read back and rendered again; 0 = off. 8-14 KB each (hydrated, with
# its API JSON and page HTML once rendered).
LEADERBOARD_ROW_MEMO = env.int("LADDER_LEADERBOARD_ROW_MEMO", default=1000)

# Closed-model endpoints (registry/services/endpoints.py): staff name a key VARIABLE per model, and the
# eval workers send its value as a Bearer token. Only variables with this prefix can be named, so the
# workers' other secrets (SECRET_KEY, DATABASE_URL, HF_TOKEN) can never be sent anywhere.
ENDPOINT_KEY_PREFIX = env.str("LADDER_ENDPOINT_KEY_PREFIX", default="LADDER_KEY_")
if not ENDPOINT_KEY_PREFIX.strip():
    raise ImproperlyConfigured("LADDER_ENDPOINT_KEY_PREFIX must not be empty (it keeps the workers' secrets unnamed)")
# http:// with a key sends it in clear text: only for a local server (a vLLM on the same host).
ENDPOINT_ALLOW_HTTP = env.bool("LADDER_ENDPOINT_ALLOW_HTTP", default=False)
# Loopback, private, link-local (169.254.169.254) targets reach inside the deployment: off by default.
ENDPOINT_ALLOW_PRIVATE = env.bool("LADDER_ENDPOINT_ALLOW_PRIVATE", default=False)
# The key variables (names, never values) the evaluation workers have, so a submission the workers cannot
# run is refused at once. Unset: the web process cannot know (compose keeps keys on the workers only) and
# the worker fails such a run at its start, naming the variable. `make run` sets it (one environment).
WORKER_KEY_VARIABLES = (
    None if os.environ.get("LADDER_WORKER_KEYS") is None else env.list("LADDER_WORKER_KEYS", default=[])
)

# The longest hard time limit of any task (an evaluation, or a Hub sync's soft limit + 120 s): a Redis
# broker's visibility timeout must outlast it.
LONGEST_TASK_TIME_LIMIT = max(EVAL_TIME_LIMIT, SYNC_SOFT_TIME_LIMIT + 120)

# --- Celery -----------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# Without CELERY_BROKER_URL the broker is the embedded default, chosen by config/celery.py when Celery
# first reads its configuration (importing settings neither probes Redis nor creates folders).
if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    if CELERY_BROKER_URL.startswith("redis"):
        CELERY_BROKER_TRANSPORT_OPTIONS = redis_transport_options(LONGEST_TASK_TIME_LIMIT)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True  # state lives on the rows, not in a result backend
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_ROUTES = {"evals.tasks.eval_run_execute_task": {"queue": "evals"}}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "hub-sync": {
        "task": "registry.tasks.hub_sync_task",
        "schedule": crontab(minute=0, hour=f"*/{max(1, HUB_SYNC_INTERVAL_MINUTES // 60)}"),
        "kwargs": {"trigger": "beat"},
    },
    "eval-runs-reap": {"task": "evals.tasks.eval_runs_reap_task", "schedule": EVAL_REAP_INTERVAL or 30.0},
    "eval-runs-dispatch": {"task": "evals.tasks.eval_runs_dispatch_task", "schedule": 30.0},
}

# Celery keeps Django's logging (JSON lines with the run id) instead of installing its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# LOG_FORMAT=json (default): one JSON object per line with time, level, logger, message and the run id
# of the evaluation or sync being worked on (config/logging.py); LOG_FORMAT=plain (default with DEBUG=1) for humans.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "run_context": {"()": "config.logging.RunContextFilter"},
        "quiet_polls": {"()": "config.logging.QuietPollFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [run=%(run_id)s] %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain" if DEBUG else "json"),
            "filters": ["run_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs every sign-in at INFO; its WARNINGs (failures, lockouts) are the ones worth keeping.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # runserver's access lines (make run), without the progress polls' (config.logging.QuietPollFilter).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False, "filters": ["quiet_polls"]},
    },
}
