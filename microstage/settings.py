"""Microstage settings: one module, configured from the environment (django-environ).

Every knob is an environment variable; the README lists them. Defaults are safe for production
when MICROSTAGE_DEBUG is off; `make run` switches DEBUG on and points DATABASE_URL/REDIS_URL at
the embedded engines under .data/ unless they are already set.
"""
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("MICROSTAGE_DEBUG", default=False)
SECRET_KEY = env.str(
    "MICROSTAGE_SECRET_KEY",
    default="dev-insecure-microstage-key-change-me" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("MICROSTAGE_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("MICROSTAGE_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("MICROSTAGE_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
DATA_DIR = Path(env.str("MICROSTAGE_DATA_DIR", default=str(BASE_DIR / ".data")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "djstripe",
    "csp",
    # Microstage, bottom layer first (see DESIGN.md "Layers").
    "microstage",
    "commerce",
    "catalog",
    "groupbuys",
    "risk",
    "stock",
    "payouts",
    "fulfilment",
    "memberships",
    "events",
    "streaming",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The page language: account, cookie, Accept-Language, the event's own, default (microstage/i18n.py).
    "microstage.i18n.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "microstage.csp.SiteCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "microstage.middleware.CurrentCreatorMiddleware",
    "analytics.middleware.AnalyticsMiddleware",
]

ROOT_URLCONF = "microstage.urls"
WSGI_APPLICATION = "microstage.wsgi.application"
ASGI_APPLICATION = "microstage.asgi.application"
SITE_ID = 1

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
                "microstage.context_processors.platform",
            ],
            # Dates in the active language (microstage/formats/<lang>/formats.py DATE_PATTERNS).
            "builtins": ["microstage.templatetags.l10n_dates"],
        },
    },
]

# --- Engines -------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/microstage")}
# A connection pool per process (psycopg_pool): under ASGI every request in flight runs in its own
# thread, so without a pool a rush of buyers opens one connection each and exhausts max_connections.
# With it, requests queue for one of MICROSTAGE_DB_POOL_MAX connections instead of failing.
DB_POOL_MAX = env.int("MICROSTAGE_DB_POOL_MAX", default=20)
if DB_POOL_MAX > 0 and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("MICROSTAGE_DB_POOL_MIN", default=1), DB_POOL_MAX),
        "max_size": DB_POOL_MAX,
        "timeout": env.float("MICROSTAGE_DB_POOL_TIMEOUT", default=30.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("MICROSTAGE_DB_CONN_MAX_AGE", default=0))
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# HTTP requests one web process works on at once (microstage/admission.py); the rest queue in order.
# Default: one per pooled database connection. 0 turns the limit off.
REQUEST_SLOTS = env.int("MICROSTAGE_REQUEST_SLOTS", default=DB_POOL_MAX if DB_POOL_MAX > 0 else 0)
DATABASES["default"].setdefault("TEST", {})
if env.str("MICROSTAGE_TEST_DB_NAME", default=""):
    DATABASES["default"]["TEST"]["NAME"] = env.str("MICROSTAGE_TEST_DB_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Tests shift every Redis database by this much so they never flush a running instance's data.
REDIS_DB_OFFSET = env.int("MICROSTAGE_REDIS_DB_OFFSET", default=0)


def redis_url(db: int, scheme_for_unix: str = "unix") -> str:
    """REDIS_URL with its database number replaced by `db` (TCP or unix-socket URLs)."""
    parts = urlsplit(REDIS_URL)
    if parts.scheme in ("unix", "redis+socket"):
        query = parse_qs(parts.query)
        query["db"] = [str(db + REDIS_DB_OFFSET)]
        return f"{scheme_for_unix}://{parts.path}?{urlencode(query, doseq=True)}"
    base = int((parts.path or "/0").strip("/") or 0)
    return urlunsplit((parts.scheme, parts.netloc, f"/{base + db + REDIS_DB_OFFSET}", parts.query, ""))


CACHES = {
    "default": {
        "BACKEND": "microstage.cache.SharedPoolRedisCache",  # one pool per process (microstage/cache.py)
        "LOCATION": redis_url(0),
        "KEY_PREFIX": "ms",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Channel layer: RedisPubSubChannelLayer, chosen by measurement (bench/chat_fanout.py: 500 websocket
# clients on one uvicorn, 100 chat messages at 5/s, 3 alternating rounds per layer). It publishes a
# group message once (18 Redis commands per chat message in all, vs 36 for RedisChannelLayer, which
# reads the group's member set and runs a capacity-checked Lua write per process on every send);
# latency was lower (median p50 55 vs 72 ms, p99 224 vs 238 ms; under machine load 86/455 vs
# 775/2026 ms), and RedisChannelLayer logged 108 "over capacity" drops during the 500-client join
# bursts (its per-process queue holds 100 messages) while pub/sub has no capacity to overflow.
# Pub/sub keeps nothing for a process that is briefly disconnected: clients resync on reconnect.
# MICROSTAGE_CHANNEL_LAYER=core switches to RedisChannelLayer (for the benchmark).
CHANNEL_LAYER_KIND = env.str("MICROSTAGE_CHANNEL_LAYER", default="pubsub")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer" if CHANNEL_LAYER_KIND == "core"
        else "microstage.channel_layer.SharedDecodePubSubChannelLayer",
        "CONFIG": {"hosts": [redis_url(2)], "prefix": "ms-ch"},
    }
}
# Live chat: messages per window per person (Redis sliding window, holds across web processes),
# and how often the viewer count may be broadcast per event.
# Counter frames (stock) of one burst of commits are coalesced into one frame per this many ms.
MICROSTAGE_REALTIME_COALESCE_MS = env.int("MICROSTAGE_REALTIME_COALESCE_MS", default=50)
CHAT_RATE_LIMIT = env.str("MICROSTAGE_CHAT_RATE_LIMIT", default="5/10")  # "<messages>/<seconds>"
CHAT_MAX_LENGTH = 500
PRESENCE_THROTTLE_SECONDS = env.float("MICROSTAGE_PRESENCE_THROTTLE_SECONDS", default=2.0)

# --- Celery --------------------------------------------------------------------------------
_unix_redis = urlsplit(REDIS_URL).scheme in ("unix", "redis+socket")
CELERY_BROKER_URL = redis_url(1, scheme_for_unix="redis+socket")
CELERY_RESULT_BACKEND = redis_url(1, scheme_for_unix="redis+socket")
if _unix_redis:
    # kombu/celery read the database from `virtual_host` for socket URLs.
    CELERY_BROKER_URL = CELERY_BROKER_URL.replace("db=", "virtual_host=")
    CELERY_RESULT_BACKEND = CELERY_RESULT_BACKEND.replace("db=", "virtual_host=")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(hours=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "expire-due-orders": {"task": "commerce.expire_due_orders", "schedule": 60.0},
    "promote-waiting-lists": {"task": "events.promote_waiting_lists", "schedule": 30.0},
    "settle-due-group-buys": {"task": "commerce.settle_due_group_buys", "schedule": 60.0},
    "streaming-preflight": {"task": "streaming.preflight_due", "schedule": 60.0},
    "streaming-check-encoders": {"task": "streaming.check_encoders", "schedule": 30.0},
    "send-due-notifications": {"task": "events.send_due_notifications", "schedule": 30.0},
    "sample-viewers": {"task": "analytics.sample_viewers", "schedule": 60.0},
    "renew-sandbox-memberships": {"task": "memberships.renew_sandbox_memberships", "schedule": 300.0},
    "run-due-payouts": {"task": "commerce.run_due_payouts", "schedule": 900.0},
}
# Anonymous event and discovery pages are cached under versions bumped by every change (events/page_cache.py);
# this is only the longest a copy lives.
PAGE_CACHE_SECONDS = env.int("MICROSTAGE_PAGE_CACHE_SECONDS", default=300)
# Page views are buffered in Redis and written in batches this often (analytics/pageview_buffer.py).
PAGEVIEW_FLUSH_SECONDS = env.float("MICROSTAGE_PAGEVIEW_FLUSH_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE["flush-page-views"] = {"task": "analytics.flush_page_views", "schedule": PAGEVIEW_FLUSH_SECONDS}
# Task modules beyond each app's tasks.py (autodiscovery finds only those).
CELERY_IMPORTS = ("streaming.preflight_tasks",)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
HEALTHZ_WORKER_TIMEOUT = env.float("MICROSTAGE_HEALTHZ_WORKER_TIMEOUT", default=5.0)
# /healthz answers the worker part from a result at most this old (one real ping per interval at most).
HEALTHZ_WORKER_INTERVAL = env.float("MICROSTAGE_HEALTHZ_WORKER_INTERVAL", default=5.0)
CELERY_BEAT_SCHEDULE["worker-heartbeat"] = {
    "task": "microstage.heartbeat", "schedule": max(1.0, HEALTHZ_WORKER_INTERVAL / 2),
    "options": {"expires": max(1.0, HEALTHZ_WORKER_INTERVAL / 2)}}

# --- Auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "microstage.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env.bool("MICROSTAGE_FAST_PASSWORD_HASHER", default=False):  # tests only: hashing is deliberately slow
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("MICROSTAGE_EMAIL_VERIFICATION", default="optional")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Microstage] "
ACCOUNT_ADAPTER = "microstage.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("MICROSTAGE_LOGIN_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "microstage.api.authentication.TokenAuthentication",  # DRF's, its read as fixed SQL
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "microstage.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["microstage.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "microstage.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Microstage API",
    "DESCRIPTION": "REST API v1 for check-in devices, pop-up POS and integrations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Payments ------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
if env.str("STRIPE_API_HOST", default=""):
    # Only when named (localstripe in tests): dj-stripe's deploy check warns whenever the setting exists.
    STRIPE_API_HOST = env.str("STRIPE_API_HOST")
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2024-12-18.acacia")
# Stripe Connect: orders of creators with a connected account become destination charges with an application fee.
STRIPE_CONNECT = env.bool("MICROSTAGE_STRIPE_CONNECT", default=False)
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith("sk_live_")
STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else STRIPE_SECRET_KEY
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
PAYMENTS_PROVIDER = env.str("MICROSTAGE_PAYMENTS_PROVIDER", default="stripe" if STRIPE_SECRET_KEY else "sandbox")
# Provider requests per second that group-buy settlement keeps to, across all workers (Stripe allows
# 25/s in test mode and 100/s live); the sandbox has no limit unless one is set (0 = none).
STRIPE_RATE_LIMIT = env.float("MICROSTAGE_STRIPE_RATE_LIMIT", default=100.0 if STRIPE_LIVE_MODE else 25.0)
SANDBOX_RATE_LIMIT = env.float("MICROSTAGE_SANDBOX_RATE_LIMIT", default=0.0)
# Participants settled at once (threads, each with its own database connection) per settling process.
SETTLE_CONCURRENCY = env.int("MICROSTAGE_SETTLE_CONCURRENCY", default=4)
PLATFORM_FEE_PERCENT = Decimal(env.str("MICROSTAGE_PLATFORM_FEE_PERCENT", default="5"))
# Creator payouts: a sale is pending until its show is over plus this many hours; weekly payouts run on
# this weekday (0 = Monday, UTC) and are expected in the bank this many days after they are sent.
PAYOUT_SETTLING_HOURS = env.int("MICROSTAGE_PAYOUT_SETTLING_HOURS", default=72)
PAYOUT_WEEKDAY = env.int("MICROSTAGE_PAYOUT_WEEKDAY", default=0)
PAYOUT_ARRIVAL_DAYS = env.int("MICROSTAGE_PAYOUT_ARRIVAL_DAYS", default=2)

# --- Streaming -----------------------------------------------------------------------------
# Where encoders publish (shown in the dashboard); `make run` starts nginx-rtmp on RTMP_PORT.
RTMP_HOST = env.str("MICROSTAGE_RTMP_HOST", default="127.0.0.1")
RTMP_BACKUP_HOST = env.str("MICROSTAGE_RTMP_BACKUP_HOST", default=RTMP_HOST)
RTMP_PORT = env.int("MICROSTAGE_RTMP_PORT", default=1935)
# Playback tokens are shared per window (CDN-cacheable) and live between one and two windows.
PLAYBACK_WINDOW_SECONDS = env.int("MICROSTAGE_PLAYBACK_WINDOW_SECONDS", default=300)
# nginx-rtmp's publish hooks answer only calls carrying this secret (`?secret=` in the hook URLs) or
# coming from an address in RTMP_HOOK_ALLOW (IPs or networks). Unset: generated into .data/.
RTMP_HOOK_SECRET = env.str("MICROSTAGE_RTMP_HOOK_SECRET", default="")
RTMP_HOOK_ALLOW = env.list("MICROSTAGE_RTMP_HOOK_ALLOW", default=[])

# Ed25519 key (base64 of 32 raw bytes) for ticket QR codes and receipts; generated under .data/ if unset.
SIGNING_KEY = env.str("MICROSTAGE_SIGNING_KEY", default="")

# --- Commerce defaults ---------------------------------------------------------------------
DEFAULT_CURRENCY = env.str("MICROSTAGE_CURRENCY", default="EUR").upper()
HOLD_SECONDS = env.int("MICROSTAGE_HOLD_SECONDS", default=600)
# How long a reservation waits for a stock pool's row lock before answering 409 `busy` (PostgreSQL
# lock_timeout, set for the reserving transaction only; commerce/inventory.py).
LOCK_TIMEOUT_MS = env.int("MICROSTAGE_LOCK_TIMEOUT_MS", default=3000)
# How long a waiting-list offer (an order reserved for the first in line) is held for them alone.
WAITLIST_OFFER_SECONDS = env.int("MICROSTAGE_WAITLIST_OFFER_SECONDS", default=1800)
# Against hoarding (commerce/holdlimits.py): open (unpaid) orders holding stock per account; units of
# one ticket tier or product one account may hold unpaid at once (0: the item's per-order maximum);
# and a shorter hold once a pool is nearly gone (less than RUSH_AVAILABILITY_PERCENT of it left).
MAX_OPEN_ORDERS_PER_ACCOUNT = env.int("MICROSTAGE_MAX_OPEN_ORDERS", default=5)
PER_PERSON_HOLD_LIMIT = env.int("MICROSTAGE_PER_PERSON_HOLD_LIMIT", default=0)
RUSH_HOLD_SECONDS = env.int("MICROSTAGE_RUSH_HOLD_SECONDS", default=180)
RUSH_AVAILABILITY_PERCENT = env.int("MICROSTAGE_RUSH_AVAILABILITY_PERCENT", default=20)
# How long a "sold out" seen under a pool's lock may refuse later requests without the lock
# (commerce/stock_snapshot.py); 0 turns the snapshots off.
STOCK_SNAPSHOT_SECONDS = env.float("MICROSTAGE_STOCK_SNAPSHOT_SECONDS", default=1.0)
# Reservations one web process receives at the same moment take their stock in one transaction (one
# lock wait and one commit for all; commerce/group_commit.py): at most this many at once; 1 turns it off.
RESERVE_BATCH_MAX = env.int("MICROSTAGE_RESERVE_BATCH_MAX", default=100)
# Checkout risk (risk/services.py): scores 0-100; at REVIEW a paid order waits for staff, at REFUSE
# checkout answers 409 risk_refused. X-Forwarded-For is trusted only behind a proxy of ours.
RISK_REVIEW_THRESHOLD = env.int("MICROSTAGE_RISK_REVIEW_THRESHOLD", default=70)
RISK_REFUSE_THRESHOLD = env.int("MICROSTAGE_RISK_REFUSE_THRESHOLD", default=95)
RISK_TRUST_X_FORWARDED_FOR = env.bool("MICROSTAGE_TRUST_X_FORWARDED_FOR", default=False)
# A referral pays its referrer only when the new fan's first paid order reaches this total.
REFERRAL_MIN_ORDER = env.str("MICROSTAGE_REFERRAL_MIN_ORDER", default="10.00")

# --- Email ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("MICROSTAGE_EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("MICROSTAGE_FROM_EMAIL", default="Microstage <hello@microstage.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Notifications: SMS provider by URL (console:// prints; twilio://SID:TOKEN@+15551234567 sends) and
# at most N messages per person and event in a window of seconds.
SMS_URL = env.str("MICROSTAGE_SMS_URL", default="console://")
NOTIFY_RATE_LIMIT = env.str("MICROSTAGE_NOTIFY_RATE_LIMIT", default="8/3600")
# Stream trouble the team hears about: input bitrate under this, more frames dropped than this between
# two health readings (the control room alerts and the owner and managers get a notification).
STREAM_MIN_BITRATE_KBPS = env.float("MICROSTAGE_STREAM_MIN_BITRATE_KBPS", default=300.0)
STREAM_MAX_DROPPED_FRAMES = env.int("MICROSTAGE_STREAM_MAX_DROPPED_FRAMES", default=30)

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
# Third-party browser code comes from npm and is served from node_modules, never copied in.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/hls", NODE_MODULES / "hls.js" / "dist"),
    ("vendor/chart", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/qr", NODE_MODULES / "html5-qrcode"),
    ("vendor/ed25519", NODE_MODULES / "@noble" / "ed25519"),
]
WHITENOISE_USE_FINDERS = env.bool("MICROSTAGE_STATIC_FROM_FINDERS", default=DEBUG)
WHITENOISE_AUTOREFRESH = DEBUG
# Uploaded media is best served from an origin of its own (a cookie-less storage or CDN domain), so
# nothing in it can ever act on the site: e.g. https://media.microstage-content.example/media/.
MEDIA_URL = env.str("MICROSTAGE_MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MICROSTAGE_MEDIA_ROOT", default=str(DATA_DIR / "media")))
_storage_backend = env.str("MICROSTAGE_STORAGE", default="filesystem")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production (after collectstatic); plain files in development/tests.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("MICROSTAGE_STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if _storage_backend == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("MICROSTAGE_S3_BUCKET"),
            "endpoint_url": env.str("MICROSTAGE_S3_ENDPOINT_URL", default=None),
            "custom_domain": env.str("MICROSTAGE_MEDIA_CDN_DOMAIN", default=None),
            "querystring_auth": True,
        },
    }
# How stored media (HLS segments, clips, recordings, digital downloads) leaves after its access check:
# "nginx" answers with X-Accel-Redirect to MICROSTAGE_MEDIA_ACCEL_PREFIX (an `internal` location over
# MEDIA_ROOT, deploy/nginx-web.conf); "off" streams it from disk in chunks (development, no nginx).
# S3 storage always redirects to a presigned URL.
MICROSTAGE_MEDIA_ACCEL = env.str("MICROSTAGE_MEDIA_ACCEL", default="off").lower()
if MICROSTAGE_MEDIA_ACCEL not in ("nginx", "off"):
    raise ImproperlyConfigured("MICROSTAGE_MEDIA_ACCEL must be 'nginx' or 'off'")
MICROSTAGE_MEDIA_ACCEL_PREFIX = env.str("MICROSTAGE_MEDIA_ACCEL_PREFIX", default="/_media/")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- I18N / time ---------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# The languages the pages, emails and API messages are offered in. URLs stay the same for all of them.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Named date formats (DATE_FORMAT, SHORT_DATETIME_FORMAT, ...) per language, and the German reading of
# the English patterns templates still write: microstage/formats/<lang>/formats.py.
FORMAT_MODULE_PATH = ["microstage.formats"]
TIME_ZONE = env.str("MICROSTAGE_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Security (safe when DEBUG is off) -----------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("MICROSTAGE_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("MICROSTAGE_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("MICROSTAGE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy (django-csp; microstage/csp.py adds 'strict-dynamic' to pages that use the
# nonce and this host's websocket). No inline script anywhere: code lives in static/js as ES modules,
# data in json_script blocks and data attributes, so script-src has no 'unsafe-inline' and
# script-src-attr is 'none'. Styles keep 'unsafe-inline' (style attributes and
# the libraries' own inline styles); media and workers allow blob: for hls.js (MediaSource, workers).
_media_origins = [f"https://{d}" for d in [env.str("MICROSTAGE_MEDIA_CDN_DOMAIN", default="")] if d]
_s3_endpoint = env.str("MICROSTAGE_S3_ENDPOINT_URL", default="")
if _storage_backend == "s3":
    _media_origins.append(_s3_endpoint.rstrip("/") if _s3_endpoint else "https://*.amazonaws.com")
_csp_report_uri = env.str("MICROSTAGE_CSP_REPORT_URI", default="")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        # No event handler attributes anywhere (tests/test_script_style.py): none may run, whatever script-src says.
        "script-src-attr": ["'none'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_media_origins],
        "media-src": ["'self'", "blob:", *_media_origins],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *_media_origins],
        "worker-src": ["'self'", "blob:"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        **({"report-uri": [_csp_report_uri]} if _csp_report_uri else {}),
    },
}
FORMS_URLFIELD_ASSUME_HTTPS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("MICROSTAGE_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
