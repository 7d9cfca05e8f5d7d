"""TextPeak settings. Everything that differs between machines comes from the environment.

The README has the table of variables. With none set, the project runs on SQLite under
``var/`` with an embedded (filesystem) Celery broker; ``DATABASE_URL`` and ``REDIS_URL`` switch
to PostgreSQL and Redis.
"""

import ipaddress
import os
import secrets
import socket
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

from textpeak.env import env_bool, env_int, env_list, env_str
from textpeak.queues import celery_queues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TEXTPEAK_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", default=False)


def _secret(name: str, *, dev_default) -> str:
    """A secret from the environment; in DEBUG only, a per-checkout value kept under var/."""
    value = env_str(name)
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off.")
    path = VAR_DIR / f"dev-{name.lower()}"
    if not path.exists():
        path.write_text(dev_default())
        path.chmod(0o600)
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = _secret("DJANGO_SECRET_KEY", dev_default=lambda: secrets.token_urlsafe(50))
# Comma-separated Fernet keys; the first encrypts, all decrypt (MultiFernet), so keys rotate.
ENCRYPTION_KEYS = env_list(
    "TEXTPEAK_ENCRYPTION_KEYS", [_secret("TEXTPEAK_ENCRYPTION_KEYS", dev_default=_fernet_key)]
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "textpeak.accounts",
    "streams",
    "whatsapp",
    "webhooks",
]

MIDDLEWARE = [
    # First: every line logged for the request carries its id, whoever answers it.
    "textpeak.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before the API's token checks, so that their refusals are counted too.
    "textpeak.api_requests.APIRequestMetricsMiddleware",
    # Before sessions and CSRF: API calls carry a stream token, not a cookie.
    "streams.api_auth.StreamAPIMiddleware",
    # Requests from programs stop here and go straight to their view (MACHINE_PATHS).
    "textpeak.lib.machine.MachineEndpointsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages for people only: after the machine endpoints, which answer JSON or text.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A GET to a POST-only page: a page that says so, instead of an empty 405.
    "textpeak.views.MethodNotAllowedPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "textpeak.accounts.middleware.LoginRequiredMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into a response.
    "axes.middleware.AxesMiddleware",
]

# The project's own paths called by programs only: they skip the browser's middleware
# (textpeak/lib/machine.py), as do the stream types' (StreamType.machine_paths).
MACHINE_PATHS = ("/metrics",)

ROOT_URLCONF = "textpeak.urls"
WSGI_APPLICATION = "textpeak.wsgi.application"

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
                "textpeak.accounts.context_processors.membership",
            ],
        },
    },
]

DATABASES = {
    "default": environ.Env.db_url_config(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'textpeak.sqlite3'}"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for a lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Parameters sent apart from the SQL, and a statement run a fifth time on a connection is
    # prepared (Django turns that off unless told): PostgreSQL then skips parsing and planning
    # the send API's and the callback's INSERT. No connection pooler sits in between to lose them.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "streams:list"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (textpeak/accounts/lockout.py), each within the cool-off: failures for one
# e-mail from one address lock that pair out; failures for many different e-mails from one
# address lock the address out; failures for one e-mail from many different addresses lock the
# e-mail out, except from addresses it recently logged in from.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20)
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 10)
if min(AXES_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT, LOGIN_ACCOUNT_FAILURE_LIMIT) < 1:
    raise ImproperlyConfigured("The LOGIN_…_FAILURE_LIMIT settings must be at least 1.")
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_HANDLER = "textpeak.accounts.lockout.LoginLockoutHandler"
# Only the pair is axes' own: it is also all that a successful login resets.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "textpeak.accounts.lockout.login_identity"
AXES_CLIENT_IP_CALLABLE = "textpeak.lib.client_ip.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "textpeak.accounts.views.login_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Addresses of reverse proxies whose X-Forwarded-For is believed (IPs or CIDR ranges).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_CONFIG = environ.Env.email_url_config(env_str("EMAIL_URL") or "consolemail://")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TextPeak <no-reply@textpeak.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Production defaults are strict; a TLS-terminating proxy sets the forwarded proto.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages run only the site's own script files and style sheets: no inline script, handler or
# style, so text that reached a page as markup still could not run (README, Decisions).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Outbound integrations (used by the whatsapp and webhooks apps).
WHATSAPP_GRAPH_URL = env_str("WHATSAPP_GRAPH_URL", "https://graph.facebook.com").rstrip("/")
WHATSAPP_API_VERSION = env_str("WHATSAPP_API_VERSION", "v23.0")
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)

# The send API and the sending workers.
STREAM_API_REQUESTS_PER_SECOND = env_int("STREAM_API_REQUESTS_PER_SECOND", 100)
# A web process takes a stream's request slots this many seconds' worth at a time
# (textpeak.lib.ratelimit.admit): one at the default limit, 100 at 10,000 requests/s.
RATE_LEASE_SECONDS = 0.01
# What the API reads on every request (a token's stream, a stream's senders and templates) is
# kept this long in each web process: a disabled stream or a new template takes effect within it.
API_CACHE_SECONDS = env_int("API_CACHE_SECONDS", 5)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 2 * 1024 * 1024)
# An address may miss (an unknown stream token or callback id) this many times at once; its
# misses are forgotten at that many per window. Beyond, 429 without a database query
# (textpeak.lib.misses).
UNKNOWN_KEY_MISS_LIMIT = env_int("UNKNOWN_KEY_MISS_LIMIT", 10)
UNKNOWN_KEY_WINDOW_SECONDS = env_int("UNKNOWN_KEY_WINDOW_SECONDS", 60)
# Concurrent Cloud API calls of a worker process: a whole batch (outbox.BATCH_SIZE) at once,
# so that its sends leave at their rate-limit slots instead of waiting for a free thread.
SEND_THREADS = env_int("SEND_THREADS", 100)
SEND_MAX_ATTEMPTS = env_int("SEND_MAX_ATTEMPTS", 12)
# Meta's pair limit: seconds between a sender's messages to one recipient (0: not spaced).
SEND_PAIR_SECONDS = env_int("SEND_PAIR_SECONDS", 6)
SEND_RETRY_BASE_SECONDS = float(env_int("SEND_RETRY_BASE_SECONDS", 2))
SEND_CLAIM_SECONDS = env_int("SEND_CLAIM_SECONDS", 300)  # a dead worker's messages wait this long
# A batch records the outcomes of its calls as they return, those of this many seconds together:
# a worker killed mid-batch then repeats only the calls it had in flight, and a batch's hundred
# answers still cost a few statements, not a hundred.
SEND_RECORD_SECONDS = env_int("SEND_RECORD_MILLISECONDS", 10) / 1000
OUTBOX_SWEEP_AFTER_SECONDS = env_int("OUTBOX_SWEEP_AFTER_SECONDS", 120)
OUTBOX_SWEEP_LIMIT = 10_000
DEMO_STATUS_DELAY_SECONDS = 1.0
# A Meta POST kept by the callback and not stored this long is enqueued again by the sweeper.
INBOUND_SWEEP_AFTER_SECONDS = env_int("INBOUND_SWEEP_AFTER_SECONDS", 60)
# A status kept for a wamid not recorded yet (whatsapp.inbound.statuses): one still unknown after
# this long will never find its message (sent by another app on the number, or made up); a stream
# keeps at most so many, its oldest dropped first.
PENDING_STATUS_EXPIRY_SECONDS = env_int("PENDING_STATUS_EXPIRY_SECONDS", 24 * 3600)
PENDING_STATUSES_PER_STREAM = env_int("PENDING_STATUSES_PER_STREAM", 5000)

# Customer webhook deliveries (webhooks.deliveries, webhooks.transport).
DELIVERY_THREADS = env_int("DELIVERY_THREADS", 32)  # concurrent webhook requests per worker task
# One webhook request, from connecting to the last byte read.
DELIVERY_TIMEOUT_SECONDS = env_int("DELIVERY_TIMEOUT_SECONDS", 10)
# Seconds from a failed attempt to the next, one per retry (comma-separated), ±20 % jitter;
# after the last the delivery is failed. 10 s … 8 h, about 24 hours in all, 12 attempts.
DELIVERY_RETRY_SCHEDULE = tuple(
    float(seconds)
    for seconds in env_list(
        "DELIVERY_RETRY_SCHEDULE",
        ["10", "30", "60", "300", "900", "1800", "3600", "7200", "14400", "28800", "28800"],
    )
)
DELIVERY_CLAIM_SECONDS = env_int("DELIVERY_CLAIM_SECONDS", 180)  # a dead worker's deliveries wait
# The sweeper re-enqueues pending deliveries due this long ago and not claimed: lost by the
# broker, left by a dead worker, or retries too far away for a countdown.
DELIVERY_SWEEP_AFTER_SECONDS = env_int("DELIVERY_SWEEP_AFTER_SECONDS", 60)
DELIVERY_SWEEP_LIMIT = 10_000  # deliveries enqueued per sweep at most
# An endpoint failing without a single success for this long is disabled.
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 3)
# Test webhook: tests a stream may send a minute (one at a time).
WEBHOOK_TESTS_PER_MINUTE = env_int("WEBHOOK_TESTS_PER_MINUTE", 5)

# Retention (README, Retention): days each kind of row is kept, unless support set an account's
# own in admin; the purge runs on beat in short batches, for at most RETENTION_PURGE_SECONDS.
RETENTION_CONTENT_DAYS = env_int("RETENTION_CONTENT_DAYS", 30)
RETENTION_PAYLOAD_DAYS = env_int("RETENTION_PAYLOAD_DAYS", 30)
RETENTION_DELIVERY_DAYS = env_int("RETENTION_DELIVERY_DAYS", 30)
RETENTION_MESSAGE_DAYS = env_int("RETENTION_MESSAGE_DAYS", 90)
RETENTION_PURGE_SECONDS = env_int("RETENTION_PURGE_SECONDS", 20)

# Celery. Without REDIS_URL the broker is kombu's filesystem transport under var/: it is
# shared by every process on this machine, which is what `make run` starts.
REDIS_URL = env_str("REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"

# The cache (beta access, the send API's senders and templates) is shared by every process, so
# clearing an entry in one is seen by all: Redis when there is one, else files under var/.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "textpeak-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "visibility_timeout": 3600,
        # A publisher retries once, at once: with Redis down a request must not hang for
        # seconds; the rows are committed and the sweepers enqueue them later.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
    }
else:
    BROKER_DIR.mkdir(exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        # The exchange-to-queue table; kombu's default is "control" in the current directory,
        # which would split publishers and workers started from different folders.
        "control_folder": str(BROKER_DIR / "control"),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks of row ids committed this close together are published together (textpeak.lib.tasks).
# 50 ms: long enough that a burst of send API requests shares a publish, and no longer than a
# Cloud API call takes, so a message is not noticeably later.
TASK_COALESCE_SECONDS = 0.05
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES, CELERY_TASK_DEFAULT_QUEUE = celery_queues()
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection after every task unless told to keep
# it for this many tasks: a new PostgreSQL backend for each batch of 100 sends, and none of
# its statements ever prepared. Connections follow CONN_MAX_AGE instead (textpeak/celery.py).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "beta-access-notifications": {
        "task": "textpeak.accounts.tasks.sweep_beta_access_notifications",
        "schedule": 60.0,
    },
    "outbox": {"task": "whatsapp.tasks.sweep_outbox", "schedule": 30.0},
    "inbound-payloads": {"task": "whatsapp.tasks.sweep_payloads", "schedule": 30.0},
    # Meta sends no template events to per-account callback overrides.
    "whatsapp-catalogues": {"task": "whatsapp.tasks.refresh_catalogues", "schedule": 3600.0},
    # Each real stream's token, permissions, subscription and callback URL, checked with Meta.
    "whatsapp-credentials": {"task": "whatsapp.tasks.check_all_credentials", "schedule": 86400.0},
    "pending-statuses": {"task": "whatsapp.tasks.purge_pending_statuses", "schedule": 3600.0},
    # Customer webhook deliveries due for a retry or lost by the broker.
    "webhook-deliveries": {"task": "webhooks.tasks.sweep_deliveries", "schedule": 30.0},
    # Retention: rows past their period, a little at a time.
    "purge-messages": {"task": "whatsapp.tasks.purge_expired_messages", "schedule": 300.0},
    "purge-deliveries": {"task": "webhooks.tasks.purge_expired_deliveries", "schedule": 300.0},
}

# "text" for people, "json" (one object a line) for a log collector; the request id, stream
# uid and message uuid a line is about are in both (textpeak.logcontext).
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
_LOG_LAYOUT = "%(asctime)s %(levelname)s %(name)s %(message)s"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "textpeak.logcontext.ContextFilter"}},
    "formatters": {
        "text": {"()": "textpeak.logcontext.TextFormatter", "format": _LOG_LAYOUT},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": _LOG_LAYOUT,
            # Django hands its request objects to its log records: their text holds the path
            # (a callback URL's key), which the message gives already, its key hidden.
            "reserved_attrs": [*RESERVED_ATTRS, "request"],
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# Celery's workers keep this configuration (its format and ids) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Metrics (textpeak/metrics.py): every process (gunicorn's workers, Celery's) keeps its figures
# in files in a folder of its host's under METRICS_DIR, which /metrics adds up. A host of its own
# (a container) because process ids say nothing across hosts: two containers' processes often
# have the same. prometheus_client reads the variable when it is first imported, which is after
# the settings.
METRICS_DIR = Path(env_str("METRICS_DIR") or VAR_DIR / "metrics")
PROMETHEUS_MULTIPROC_DIR = METRICS_DIR / socket.gethostname()
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)
# /metrics and /healthz?detail answer this bearer token, or these addresses (IPs or CIDR ranges,
# X-Forwarded-For believed only from TRUSTED_PROXIES); with neither set, nobody.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
try:
    METRICS_ALLOWED_IPS = tuple(
        ipaddress.ip_network(network, strict=False) for network in env_list("METRICS_ALLOWED_IPS")
    )
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {error}") from None

# Absolute links in e-mails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
