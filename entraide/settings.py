"""Django settings. Every deploy-time choice comes from the environment (see DESIGN.md)."""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ENTRAIDE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
# A development key is only acceptable when nothing is served beyond this machine.
SECRET_KEY = os.environ.get("SECRET_KEY") or "entraide-insecure-development-key-change-me"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "ninja",  # so the API docs page uses the bundled Swagger UI, not a CDN
    "entraide.core",
    "entraide.places",
    "entraide.accounts",
    "entraide.feed",
    "entraide.aid",
    "entraide.messaging",
    "entraide.notifications",
    "entraide.live",
    "channels",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "entraide.core.middleware.ApiBodySizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "entraide.accounts.middleware.MemberLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "entraide.urls"
WSGI_APPLICATION = "entraide.wsgi.application"
ASGI_APPLICATION = "entraide.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "entraide" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "entraide.core.context_processors.entraide",
                "entraide.feed.context_processors.crises",
                "entraide.notifications.context_processors.bell",
                "entraide.live.context_processors.live",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'entraide.sqlite3'}",
        # Persistent on both backends: a new SQLite connection per request re-runs the PRAGMAs, re-reads the schema
        # and starts with a cold page cache (bench/feed.py: about 2.5 times fewer feed requests per second).
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while one writer writes; IMMEDIATE avoids lock upgrades failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("ENTRAIDE_PG_PREPARED", True):
    # Server-side parameters and prepared statements: a feed or search request then skips PostgreSQL's planning,
    # which cost more than running the queries (about 1 ms each, bench/feed.py). Set ENTRAIDE_PG_PREPARED=false
    # behind a connection pooler in transaction mode that cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it compiles the busiest searches (their estimated cost passes jit_above_cost) for about 6 ms each, more
    # than those queries then gain; the usual advice for short OLTP queries. No parallel workers either: PostgreSQL
    # planned two for a search over a large scope, whose start cost 5-6 ms of a 9 ms query (EXPLAIN ANALYZE on the
    # city of bench/feed.py), and a web request gains nothing from cores that other requests are using.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", "-c jit=off -c max_parallel_workers_per_gather=0")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "entraide"}}

# Background jobs (huey): SQLite storage beside the database by default, so nothing else needs to run; Redis
# when REDIS_URL is set. `entraide serve` starts the consumer unless ENTRAIDE_RUN_JOBS=false.
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "entraide", "url": REDIS_URL, "immediate": False}
else:
    HUEY = {"huey_class": "huey.SqliteHuey", "name": "entraide", "filename": str(VAR_DIR / "jobs.sqlite3"),
            "immediate": False}
HUEY["consumer"] = {"workers": 1, "worker_type": "thread", "periodic": True}
ENTRAIDE_RUN_JOBS = env_bool("ENTRAIDE_RUN_JOBS", True)

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: email is the login; our signup form adds display name and address.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_SIGNUP_FORM_CLASS = "entraide.accounts.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "entraide.accounts.adapter.AccountAdapter"
# The username is an internal random id; people are greeted by the name they chose.
ACCOUNT_USER_DISPLAY = "entraide.accounts.adapter.user_display"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/h/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "entraide" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# Email: console by default; SMTP when EMAIL_HOST is set.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Entraide <noreply@entraide.invalid>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Bodies larger than this are refused with 413 before anything reads them.
ENTRAIDE_MAX_BODY_BYTES = int(os.environ.get("ENTRAIDE_MAX_BODY_BYTES", str(64 * 1024)))

# Product settings.
ENTRAIDE_REQUIRE_VERIFICATION = env_bool("ENTRAIDE_REQUIRE_VERIFICATION", True)
ENTRAIDE_TILE_URL = os.environ.get("ENTRAIDE_TILE_URL", "")
ENTRAIDE_TILE_ATTRIBUTION = os.environ.get("ENTRAIDE_TILE_ATTRIBUTION", "")
ENTRAIDE_GEOCODER_URL = os.environ.get("ENTRAIDE_GEOCODER_URL", "")
ENTRAIDE_GEOCODER_KIND = os.environ.get("ENTRAIDE_GEOCODER_KIND", "ban")
ENTRAIDE_COUNTRY = os.environ.get("ENTRAIDE_COUNTRY", "FR")
ENTRAIDE_BLUR_RESOLUTION = 9
ENTRAIDE_GEOLOCATION_MAX_ACCURACY_M = int(os.environ.get("ENTRAIDE_GEOLOCATION_MAX_ACCURACY_M", "100"))
ENTRAIDE_CODE_MAX_ATTEMPTS = 5
# Feed.
ENTRAIDE_EDIT_WINDOW_MINUTES = int(os.environ.get("ENTRAIDE_EDIT_WINDOW_MINUTES", "60"))
ENTRAIDE_MAX_IMAGE_BYTES = int(os.environ.get("ENTRAIDE_MAX_IMAGE_BYTES", str(5 * 1024 * 1024)))
ENTRAIDE_MAX_IMAGE_PIXELS = int(os.environ.get("ENTRAIDE_MAX_IMAGE_PIXELS", str(40_000_000)))
# Atom feeds of official announcements, off unless the operator wants them public.
ENTRAIDE_ATOM_FEEDS = env_bool("ENTRAIDE_ATOM_FEEDS", False)
# Memory for first feed pages in each server process, checked against the feed clocks (feed/page_cache.py); 0: off.
ENTRAIDE_FEED_PAGE_CACHE_MB = float(os.environ.get("ENTRAIDE_FEED_PAGE_CACHE_MB", "64"))
# PostgreSQL: each process keeps the feed's bearer-token readers and the feed clocks in memory, forgetting what changes
# as PostgreSQL announces it (LISTEN/NOTIFY, feed/reader_cache.py). False: every feed request reads them instead.
# Off by default behind a pooler in transaction mode (ENTRAIDE_PG_PREPARED=false), through which LISTEN hears nothing.
ENTRAIDE_READER_CACHE = env_bool("ENTRAIDE_READER_CACHE", env_bool("ENTRAIDE_PG_PREPARED", True))

# Mutual aid. Minutes the helpers asked have before the search widens, then again before the request goes to the
# neighbourhood's informer: "urgent=15,normal=60,low=240".
ENTRAIDE_AID_DELAYS_MINUTES = {"urgent": 15, "normal": 60, "low": 240} | {
    k.strip(): int(v) for k, v in (pair.split("=") for pair in os.environ.get("ENTRAIDE_AID_DELAYS", "").split(",") if "=" in pair)}
ENTRAIDE_AID_NOTIFY_FIRST = int(os.environ.get("ENTRAIDE_AID_NOTIFY_FIRST", "3"))  # helpers asked at once
ENTRAIDE_AID_RADIUS_M = int(os.environ.get("ENTRAIDE_AID_RADIUS_M", "1000"))  # first search radius
ENTRAIDE_AID_WIDE_RADIUS_M = int(os.environ.get("ENTRAIDE_AID_WIDE_RADIUS_M", "3000"))  # after widening
ENTRAIDE_AID_MAX_HELPER_RADIUS_M = 5000

# Where links in emails point (no request to build them from in a background job).
ENTRAIDE_SITE_URL = os.environ.get("ENTRAIDE_SITE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")

# Live updates (Django Channels). Without REDIS_URL the in-memory layer only reaches the same process, so
# `entraide serve` then serves pages and WebSockets from one ASGI process (uvicorn); with it, gunicorn serves
# pages and uvicorn the WebSockets, and events cross processes and machines through Redis.
# Pub/sub: one Redis message per group and event, heard once by each server process (the list-based core layer
# writes one per listening connection: p50 870 ms against 91 ms at 1,000 clients, bench/live.py under daphne).
# An event sent while a server is cut off from Redis is lost to its pages, which show it on reload. The socket
# timeout must outlast the layer's 5 s blocking reads, or redis-py drops busy connections.
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                  "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# The WebSocket address pages connect to: empty means the page's own host and port, path /ws/v1/events.
ENTRAIDE_WS_URL = os.environ.get("ENTRAIDE_WS_URL", "")

# Conversations.
ENTRAIDE_MESSAGE_MAX_CHARS = int(os.environ.get("ENTRAIDE_MESSAGE_MAX_CHARS", "4000"))

# Notifications: quiet hours by default (members change theirs), and how email sending retries.
ENTRAIDE_QUIET_HOURS = os.environ.get("ENTRAIDE_QUIET_HOURS", "22:00-07:00")
ENTRAIDE_DIGEST_HOUR = int(os.environ.get("ENTRAIDE_DIGEST_HOUR", "7"))  # local time (TIME_ZONE)
ENTRAIDE_EMAIL_MAX_ATTEMPTS = int(os.environ.get("ENTRAIDE_EMAIL_MAX_ATTEMPTS", "6"))
ENTRAIDE_EMAIL_LEASE_SECONDS = int(os.environ.get("ENTRAIDE_EMAIL_LEASE_SECONDS", "300"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
