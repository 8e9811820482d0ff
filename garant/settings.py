"""Settings from environment variables, with safe defaults for a hospital server.

GARANT_DATA_DIR      where the SQLite file, uploads and the generated secret key live (./data)
DATABASE_URL         postgres://user@host:5432/db for production; SQLite in GARANT_DATA_DIR if unset
GARANT_SECRET_KEY    secret key; generated once into GARANT_DATA_DIR/secret_key if unset
GARANT_PSEUDONYM_KEY key of the patients' keyed pseudonyms (objections, deletion certificates);
                     generated once into GARANT_DATA_DIR/pseudonym_key if unset
GARANT_DEBUG         "1" to turn debug on (never in production)
GARANT_ALLOWED_HOSTS comma-separated host names (127.0.0.1,localhost)
GARANT_SESSION_IDLE_MINUTES  inactivity before the session expires (30)
GARANT_SECURE_COOKIES "1" behind HTTPS (also turns HSTS on)
GARANT_TRUSTED_PROXIES comma-separated addresses or networks of the reverse proxies (none):
                     only requests from them have X-Forwarded-For / X-Forwarded-Proto read
GARANT_SSO_CONFIG    OpenID Connect providers and claim mapping (YAML); single sign-on off if unset
GARANT_LOCAL_LOGIN   "all" or "breakglass" (default: breakglass when SSO is on, all otherwise)
GARANT_BREAKGLASS_USERS  comma-separated accounts allowed a password in breakglass mode
"""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


DATA_DIR = Path(os.environ.get("GARANT_DATA_DIR", Path.cwd() / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key(variable: str = "GARANT_SECRET_KEY", name: str = "secret_key") -> str:
    if key := os.environ.get(variable):
        return key
    path = DATA_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# The key of the patients' keyed pseudonyms (HMAC-SHA256 of the identifier): its own secret,
# not SECRET_KEY, so that rotating SECRET_KEY (sessions, signed tokens) does not lose every
# recorded objection; kept out of the backups with SECRET_KEY (docs/patients.md).
GARANT_PSEUDONYM_KEY = _secret_key("GARANT_PSEUDONYM_KEY", "pseudonym_key")
DEBUG = env_flag("GARANT_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("GARANT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("GARANT_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "ninja",  # serves the Swagger UI of /api/docs from its own static files, not a CDN
    "axes",
    "garant.core",
    "garant.registry",
    "garant.monitoring",
    "garant.compliance",
    "garant.oversight",  # human oversight: feedback events of the clinical software
    "garant.risks",  # risk analysis (AMDEC / FMEA) per system
    "garant.incidents",  # adverse events (FEI) and their regulatory reports
    "garant.patients",  # patients: notices, public register, rights, objections, deletion
    "garant.people",  # training catalogue and records, habilitation per tool
    "garant.lifecycle",
    "garant.governance",
    "garant.sso",  # single sign-on (OpenID Connect)
    "garant.demo",  # the `garant demo` command only (no models)
    "garant.operations",  # `garant backup` and `garant restore` (no models)
]

MIDDLEWARE = [
    "garant.core.security.TrustedProxyMiddleware",  # first: every other one sees the client
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "garant.core.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "garant.core.middleware.FrenchFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "garant.core.middleware.RejectNulMiddleware",
    "garant.core.security.ApiInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "garant.core.middleware.AuditContextMiddleware",
    "garant.core.middleware.ForcePasswordChangeMiddleware",
    "axes.middleware.AxesMiddleware",
    "garant.core.tenancy.TenancyMiddleware",  # views cannot read records unscoped
]

ROOT_URLCONF = "garant.urls"
WSGI_APPLICATION = "garant.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "garant.core.context_processors.garant",
            ],
        },
    }
]

_sqlite_path = DATA_DIR / "garant.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{_sqlite_path}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialise writers up front (no "database is locked" on upgrade),
    # which also serialises appends to the audit hash chain.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "garant.sso.backends.LocalBackend",  # passwords, refused to SSO-managed accounts
    "garant.sso.backends.SsoBackend",  # OpenID Connect, only through garant.sso.views
]
# Single sign-on (docs/accounts.md): off unless a providers file is given.
GARANT_SSO_CONFIG = os.environ.get("GARANT_SSO_CONFIG", "")
GARANT_LOCAL_LOGIN = os.environ.get("GARANT_LOCAL_LOGIN", "").strip().lower()
GARANT_BREAKGLASS_USERS = [
    u.strip() for u in os.environ.get("GARANT_BREAKGLASS_USERS", "").split(",") if u.strip()
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after a period of inactivity (shared workstations in care units).
SESSION_COOKIE_AGE = int(os.environ.get("GARANT_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_flag("GARANT_SECURE_COOKIES")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS only, for a year, once the site is served over HTTPS (not its other sub-domains).
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0

# Behind a reverse proxy: the addresses it connects from. Only their X-Forwarded-For gives the
# client's address (garant.core.security.TrustedProxyMiddleware), and only their
# X-Forwarded-Proto says that the request came in over HTTPS.
GARANT_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("GARANT_TRUSTED_PROXIES", "").split(",") if p.strip()
]
if GARANT_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy of every page (garant.core.security.SecurityHeadersMiddleware): no
# inline script, nothing from another site. Style attributes stay allowed ('unsafe-inline'
# in style-src): bar widths and charts are drawn with them. data: images are Swagger UI's.
GARANT_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}
GARANT_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

# Login throttling (django-axes): 5 failures for one user name from one address lock it 15 min.
AXES_FAILURE_LIMIT = int(os.environ.get("GARANT_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_CLIENT_IP_CALLABLE = "garant.core.security.client_ip"  # the address behind trusted proxies

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
FORMAT_MODULE_PATH = ["garant.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from the package; keeps it quiet
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the package: no collectstatic step needed
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "files"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# Delta Lake tables of the monitoring feeds (one folder per feed) and their monitoring state
GARANT_MONITORING_DIR = Path(
    os.environ.get("GARANT_MONITORING_DIR", DATA_DIR / "monitoring")
).resolve()
# The Delta tables may live in object storage instead (e.g. s3://bucket/garant, abfss://…,
# gs://…): its URI here, and delta-rs storage options (credentials, endpoint) as a JSON object
# in GARANT_MONITORING_STORAGE_OPTIONS. The monitoring state and its locks stay local.
GARANT_MONITORING_TABLES = os.environ.get("GARANT_MONITORING_TABLES", "")
GARANT_MONITORING_STORAGE_OPTIONS = json.loads(
    os.environ.get("GARANT_MONITORING_STORAGE_OPTIONS", "{}")
)

NINJA_PAGINATION_PER_PAGE = 50
NINJA_MAX_PER_PAGE_SIZE = 500  # ninja reads this name for PAGINATION_MAX_PER_PAGE_SIZE

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GARANT_LOG_LEVEL", "WARNING")},
}

GARANT_BRAND = _("Garant")
