"""
Settings of the demo and test host, playing the LMS ("lms.djangoapp").

The plugin gets into INSTALLED_APPS, its settings and its URLs only through edx-django-utils'
get_plugin_apps / add_plugins / get_plugin_url_patterns, as in edx-platform.
"""

import hashlib
import json
import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from edx_django_utils.plugins import add_plugins, get_plugin_apps

from sandbox import plugins  # noqa: F401  (restricts the registry to SANDBOX_PLUGINS)
from sandbox import platform_modules  # noqa: F401  (edx-platform's retirement signals, under their names)

PROJECT_TYPE = "lms.djangoapp"
BASE_DIR = Path(__file__).resolve().parent

# Shaped like edx-platform's settings where they matter to a plugin (lms/envs/common.py): the
# platform's name is a lazy translation unless the YAML config replaces it, FEATURES is a dict of
# toggles (the old badges feature off), SERVICE_VARIANT names the service.
PLATFORM_NAME = _("Your Platform Name Here")
PLATFORM_DESCRIPTION = _("Your Platform Description Here")
SERVICE_VARIANT = "lms"
FEATURES = {
    "ENABLE_OPENBADGES": False,
    "CERTIFICATES_HTML_VIEW": True,
    "ENABLE_DISCUSSION_SERVICE": True,
    "ENABLE_COURSEWARE_SEARCH": False,
}

SECRET_KEY = os.environ.get("SANDBOX_SECRET_KEY", "sandbox-only-not-a-secret")
DEBUG = os.environ.get("SANDBOX_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "waffle",
    "eventtracking.django.apps.EventTrackingConfig",
    "completion",
    "sandbox.host",
] + get_plugin_apps(PROJECT_TYPE)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "waffle.middleware.WaffleMiddleware",
]

ROOT_URLCONF = "sandbox.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database():
    # SANDBOX_DB_NAME / _HOST / _PORT: another database or server (the integration tests make one
    # database per run, and put a TCP proxy they can stop between a worker and the server). The
    # test database is named after it, so test runs on one server with different names never meet.
    engine = os.environ.get("SANDBOX_DB", "sqlite")
    name = os.environ.get("SANDBOX_DB_NAME", "microcred")
    host = os.environ.get("SANDBOX_DB_HOST", "127.0.0.1")
    if engine == "postgresql":
        return {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres",
                "HOST": host, "PORT": os.environ.get("SANDBOX_DB_PORT", "5432"), "TEST": {"NAME": f"test_{name}"}}
    if engine == "mysql":
        # SANDBOX_DB_ISOLATION: e.g. "repeatable read", the server's own default (Django asks for read committed).
        options = {"charset": "utf8mb4"}
        if os.environ.get("SANDBOX_DB_ISOLATION"):
            options["isolation_level"] = os.environ["SANDBOX_DB_ISOLATION"]
        return {"ENGINE": "django.db.backends.mysql", "NAME": name, "USER": "root", "PASSWORD": "",
                "HOST": host, "PORT": os.environ.get("SANDBOX_DB_PORT", "3306"), "OPTIONS": options,
                "TEST": {"NAME": f"test_{name}", "CHARSET": "utf8mb4"}}
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("SANDBOX_SQLITE", BASE_DIR / "db.sqlite3")}


DATABASES = {"default": _database()}


def _cache():
    # One cache for every process of the host (runserver, Studio, management commands, workers), as
    # the platform's memcached or Redis is: a revocation made in one process is served by the others
    # at once. Files need no server; `make demo-data` empties the directory with the database.
    # The prefix names the database, so processes on different databases never share an entry
    # (the integration tests run several databases at once).
    database = DATABASES["default"]
    identity = "|".join(str(database.get(k, "")) for k in ("ENGINE", "HOST", "PORT", "NAME"))
    return {"default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("SANDBOX_CACHE_DIR", str(BASE_DIR / "cache")),
        "KEY_PREFIX": hashlib.sha256(identity.encode()).hexdigest()[:12],
        "OPTIONS": {"MAX_ENTRIES": 10000},
    }}


CACHES = _cache()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("SANDBOX_MEDIA_ROOT", BASE_DIR / "media")
# Where the LMS is seen from outside: credential ids, the did:web and links from Studio use it.
LMS_ROOT_URL = os.environ.get("SANDBOX_LMS_ROOT_URL", "http://127.0.0.1:8000")
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/microcred/my/"

# Celery runs tasks in-process in the demo; a real deployment uses the LMS workers (docs/workers.md).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("SANDBOX_CELERY_EAGER", "1") == "1"
# The LMS's queues and message format (edx-platform names them CELERY_DEFAULT_QUEUE, CELERY_QUEUES...,
# Celery's older names for these): JSON only, as the workers of the integration tests check.
CELERY_TASK_DEFAULT_QUEUE = "edx.lms.core.default"
CELERY_TASK_QUEUES = {"edx.lms.core.high": {}, "edx.lms.core.default": {}, "edx.lms.core.high_mem": {}}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_COMPRESSION = "gzip"
CELERY_BROKER_URL = os.environ.get("SANDBOX_CELERY_BROKER", "memory://")
# Broker transport options as JSON, e.g. for Redis {"global_keyprefix": "...", "visibility_timeout": 30}.
CELERY_BROKER_TRANSPORT_OPTIONS = json.loads(os.environ.get("SANDBOX_CELERY_BROKER_OPTIONS") or "{}")
# A worker that does not own its messages until a task ends (acks_late) must not keep the rest.
CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ.get("SANDBOX_CELERY_PREFETCH", "1"))
if os.environ.get("SANDBOX_CELERY_QUEUE"):
    MICROCRED_CELERY_QUEUE = os.environ["SANDBOX_CELERY_QUEUE"]
# Badge platform accounts and the delivery policy as JSON (MICROCRED_PLATFORM_ACCOUNTS, MICROCRED_DELIVERY).
# The demo has three learners: `make demo` lowers the uptake reports' minimum cohort (10 by default)
# so that its reports show figures. A deployment keeps it at 10 or more (docs/reports.md).
if os.environ.get("SANDBOX_REPORT_MIN_COHORT"):
    MICROCRED_REPORT_MIN_COHORT = int(os.environ["SANDBOX_REPORT_MIN_COHORT"])
if os.environ.get("SANDBOX_PLATFORM_ACCOUNTS"):
    MICROCRED_PLATFORM_ACCOUNTS = json.loads(os.environ["SANDBOX_PLATFORM_ACCOUNTS"])
if os.environ.get("SANDBOX_DELIVERY_POLICY"):
    MICROCRED_DELIVERY = json.loads(os.environ["SANDBOX_DELIVERY_POLICY"])
# Facts per evaluation task (benchmarks/burst.py --evaluation-batch; the integration tests' racers).
if os.environ.get("SANDBOX_EVALUATION_BATCH"):
    MICROCRED_EVALUATION_BATCH = int(os.environ["SANDBOX_EVALUATION_BATCH"])

# edx-completion emits tracking events; the host keeps them nowhere.
EVENT_TRACKING_ENABLED = True
EVENT_TRACKING_BACKENDS = {}

# The awarding body's country: the EU Recommendation makes it mandatory, and a credential with EU
# microcredential details cannot be published without it (the name falls back to PLATFORM_NAME).
MICROCRED_ISSUER = {"country": "NL", "country_name": "Netherlands"}

# The standalone platform adapter of this host (courses and roles from its own tables).
MICROCRED_PLATFORM_ADAPTER = "sandbox.host.adapter.StandalonePlatformAdapter"

# JWT authentication for the REST API, shaped like the LMS's JWT_AUTH (edx-drf-extensions reads it):
# "Authorization: JWT <token>" with a token signed as the LMS signs them (RS512 with the private
# JWK, or HS256 with the issuer secret). The demo host makes a fresh key pair per process unless
# SANDBOX_JWT_PRIVATE_JWK gives one; an LMS has its own issuer and keys. The public JWK set must not
# be empty: edx-drf-extensions accepts any signature when it is (see docs/rest-api.md).
def _jwt_private_jwk():
    import json  # pylint: disable=import-outside-toplevel

    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    from jwt.algorithms import RSAAlgorithm  # pylint: disable=import-outside-toplevel

    jwk = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    return json.dumps({**jwk, "kid": "sandbox", "use": "sig"})


def _public_jwk_set(private_jwk):
    import json  # pylint: disable=import-outside-toplevel

    key = json.loads(private_jwk)
    return json.dumps({"keys": [{name: key[name] for name in ("kty", "n", "e", "kid", "use") if name in key}]})


_JWT_PRIVATE_JWK = os.environ.get("SANDBOX_JWT_PRIVATE_JWK") or _jwt_private_jwk()
_JWT_ISSUER = {
    "ISSUER": f"{LMS_ROOT_URL}/oauth2",
    "AUDIENCE": "microcred-sandbox",
    "SECRET_KEY": os.environ.get("SANDBOX_JWT_SECRET_KEY", "sandbox-jwt-only-not-a-secret-0123456789"),
}
JWT_AUTH = {
    "JWT_ISSUERS": [_JWT_ISSUER],
    "JWT_ISSUER": _JWT_ISSUER["ISSUER"],
    "JWT_AUDIENCE": _JWT_ISSUER["AUDIENCE"],
    "JWT_SECRET_KEY": _JWT_ISSUER["SECRET_KEY"],
    "JWT_ALGORITHM": "HS256",
    "JWT_SIGNING_ALGORITHM": "RS512",
    "JWT_PRIVATE_SIGNING_JWK": _JWT_PRIVATE_JWK,
    "JWT_PUBLIC_SIGNING_JWK_SET": _public_jwk_set(_JWT_PRIVATE_JWK),
    "JWT_VERIFY_EXPIRATION": True,
    "JWT_AUTH_HEADER_PREFIX": "JWT",
    "JWT_DECODE_HANDLER": "edx_rest_framework_extensions.auth.jwt.decoder.jwt_decode_handler",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"openedx_microcred": {"handlers": ["console"], "level": "INFO"}},
}

add_plugins(__name__, PROJECT_TYPE, "common")
