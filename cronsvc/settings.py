"""cronsvc settings: one module, driven by the environment.

With nothing set, it runs on embedded defaults (SQLite, kombu's filesystem broker,
console email) so `make run` works on a fresh machine. README.md lists every variable.
"""

import os
from pathlib import Path

import environ
import structlog
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from cronsvc import task_names

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()


def read_secret_key() -> str:
    """SECRET_KEY from the environment, else the ignored local file `make run` writes."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    key_file = BASE_DIR / ".secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    raise ImproperlyConfigured("Set SECRET_KEY, or run `make secret` to write one to .secret_key.")


SECRET_KEY = read_secret_key()
DEBUG = env.bool("DEBUG", default=False)
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="cronsvc")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = [SITE_URL]

# A site served over TLS takes requests only over it (plain HTTP is redirected), tells
# browsers to keep to it for a year (HSTS, this host only: the domain's other hosts are
# not ours to bind), and its cookies travel only over it.
SITE_IS_HTTPS = SITE_URL.startswith("https://")
SECURE_SSL_REDIRECT = SITE_IS_HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if SITE_IS_HTTPS else 0
# Load balancers and container healthchecks ask for /healthz over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = SITE_IS_HTTPS
CSRF_COOKIE_SECURE = SITE_IS_HTTPS
# Behind N reverse proxies the client address is N hops back in X-Forwarded-For, and the
# proxy says in X-Forwarded-Proto whether the client came over TLS. With none, both
# headers come from the client itself, who could forge them: only REMOTE_ADDR and the
# connection count.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PROXY_COUNT > 0 else None
SECURE_CONTENT_TYPE_NOSNIFF = True
# Other sites learn our origin from a link, never a page's path (which holds job ids).
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; empty turns it off.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Every process (gunicorn workers, beat, Celery workers) writes its counters here;
# /metrics adds them up. Set before prometheus_client creates any metric.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
# Comma-separated Fernet keys for target credentials: the first encrypts, all
# decrypt, so a new key goes in front and `manage.py rotate_encryption_keys` follows.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
MAX_JOBS_PER_PROJECT = env.int("MAX_JOBS_PER_PROJECT", default=1000)
# Across all the projects a member owns.
MAX_JOBS_PER_MEMBER = env.int("MAX_JOBS_PER_MEMBER", default=1000)
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="120/minute")
# Dev and tests only: lets jobs target loopback and private networks.
ALLOW_PRIVATE_TARGETS = env.bool("ALLOW_PRIVATE_TARGETS", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "accounts",
    "jobs",
    "alerts",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # allauth's sign-in stages, and its "sign in again first" for sensitive actions.
    "allauth.account.middleware.AccountMiddleware",
    # A project that requires two-factor sign-in sends members without it to set it up.
    "accounts.middleware.TwoFactorRequiredMiddleware",
]

# Scripts, styles, fonts and frames come only from our own static files (npm packages and
# static/), so an injected <script>, on* attribute or style="" does nothing. Images may
# also be data: URIs (Pico's icons, the authenticator app's QR code). htmx's own
# indicator styles are off (templates/base.html); static/css/cronsvc.css has them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "cronsvc.urls"
WSGI_APPLICATION = "cronsvc.wsgi.application"

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
                "cronsvc.context_processors.site",
                "accounts.context_processors.project",
            ],
        },
    },
]


def database_config() -> dict:
    config = env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cronsvc.sqlite3'}")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # Web, beat and worker share the file: WAL lets readers run beside the
        # writer, and IMMEDIATE transactions take the write lock up front so a
        # busy database waits (timeout) instead of failing mid-transaction.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    else:
        config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# allauth's backend (sign-in by email), loading a member with whether their address is
# confirmed in the same query.
AUTHENTICATION_BACKENDS = ["accounts.backends.AuthenticationBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Emails are unique ignoring case (a functional constraint the check cannot see).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Sign-up, sign-in, email addresses and passwords: django-allauth (accounts/adapter.py
# adapts it). Members sign in with an email address they have confirmed; there are no
# usernames.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# The link in the email opens a page with a button: mail scanners that follow links
# confirm nothing.
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
# Only the browser that signed up is signed in by confirming (allauth keeps that in its
# session); a link opened anywhere else just confirms.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# The browser that set a new password from the emailed link signs in (through 2FA, if on).
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
# Sign-up, sign-in and password reset answer the same whether or not an address has an
# account; the owner of a taken address gets an email instead.
ACCOUNT_PREVENT_ENUMERATION = True
# A reset asked for an address with no account sends nothing, so the form cannot be used
# to mail strangers.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Sessions last SESSION_COOKIE_AGE (two weeks), as before: no "Remember me" box.
ACCOUNT_SESSION_REMEMBER = True
# Sensitive actions (a new API key, deleting the account, 2FA settings) ask again for the
# password or a second factor, unless given in the last 5 minutes. Not by an emailed code:
# sign-in codes are off.
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "mfa")
# A member's addresses (sign-in and alert addresses); each new one is confirmed by email.
ACCOUNT_MAX_EMAIL_ADDRESSES = 5

# Failed sign-ins lock out unknown devices, never the member's own (accounts/lockout.py):
# LOGIN_FAILURE_LIMIT failures within LOGIN_COOLOFF_MINUTES.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_COOLOFF_MINUTES = env.int("LOGIN_COOLOFF_MINUTES", default=15)
LOGIN_FAILURES = f"{LOGIN_FAILURE_LIMIT}/{LOGIN_COOLOFF_MINUTES}m/key"
# allauth's rate limits ("count/period/per", per ip, user or key; a sliding window in
# CACHES). Those not named keep allauth's defaults: signup 20/m/ip, reset_password
# 20/m/ip,5/m/key, reset_password_from_key 20/m/ip, confirm_email 1/3m/key (a new
# confirmation email at most every 3 minutes per address), manage_email 10/m/user,
# change_password 5/m/user, reauthenticate 10/m/user.
ACCOUNT_RATE_LIMITS = {
    # Every sign-in attempt per address: off, because it would let anyone behind a
    # shared address hold the member's own devices out. Failures are limited below.
    "login": None,
    # allauth's own: wrong 2FA codes per member.
    "login_failed": LOGIN_FAILURES,
    # accounts/lockout.py: wrong passwords from devices that never signed in to the
    # account, per account and (across accounts) per address.
    "login_failed_unknown_device": f"10/m/ip,{LOGIN_FAILURES}",
    # accounts/lockout.py: wrong passwords from one device the member signed in on.
    "login_failed_known_device": LOGIN_FAILURES,
}
# The sign-in rate limits read the client address PROXY_COUNT hops back.
ALLAUTH_TRUSTED_PROXY_COUNT = PROXY_COUNT

# Two-factor sign-in (allauth.mfa): an authenticator app, passkeys and security keys, and
# recovery codes. Whoever turns one on is asked for it at every sign-in.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = SITE_NAME
# Browsers allow WebAuthn only over https, or on localhost.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or SITE_URL.startswith(
    ("http://localhost", "http://127.0.0.1", "http://[::1]")
)
# The sessions page (allauth.usersessions) lists the sessions made by signing in; it does
# not write "last seen" on every request.
USERSESSIONS_TRACK_ACTIVITY = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise warns (per request) about a missing folder before the first collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# CSS and JS come from npm packages (package.json), served by WhiteNoise.
STATICFILES_DIRS = [
    ("pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    BASE_DIR / "static",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cronsvc <cronsvc@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    BROKER_DIR = VAR_DIR / "broker"
    (BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# Rate limits (accounts/limits.py) live in the cache, so it must be shared between
# processes: with a Redis broker it defaults to the same Redis (Django prefixes its keys),
# on one machine without one to files under VAR_DIR.
CACHES = {
    "default": env.cache_url(
        "CACHE_URL",
        default=CELERY_BROKER_URL
        if CELERY_BROKER_URL.startswith("redis")
        else f"filecache://{VAR_DIR / 'cache'}",
    )
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "ops.scheduler:Scheduler"
# An execution batch holds a worker thread while it waits for its second and its
# answers; the system's own tasks (dispatch tick, sweeps, emails, heartbeat) have a
# queue and worker of their own so they never wait behind a burst of batches.
CELERY_TASK_DEFAULT_QUEUE = "system"
EXECUTIONS_QUEUE = "executions"
# Test runs wait on a member's target for up to MAX_TIMEOUT_SECONDS: never in a web
# process, never behind the batches. The system worker takes them too; a queue of their
# own lets an operator give them a worker of their own.
TEST_RUNS_QUEUE = "test_runs"
CELERY_TASK_ROUTES = {
    task_names.EXECUTE_BATCH: {"queue": EXECUTIONS_QUEUE},
    task_names.TEST_RUN: {"queue": TEST_RUNS_QUEUE},
}
CELERY_TIMEZONE = "UTC"
# Every process proves it is alive this often; ten missed and it is taken for dead, and
# the runs its worker claimed are finished as lost (ops/liveness.py). Often, so a worker
# that died before a run's second is known not to have sent it.
HEARTBEAT_SECONDS = env.int("HEARTBEAT_SECONDS", default=1)

# The engine. Each tick claims jobs due within the horizon, so their requests can
# be queued ahead and fired on the scheduled second.
DISPATCH_INTERVAL_SECONDS = env.int("DISPATCH_INTERVAL_SECONDS", default=5)
DISPATCH_HORIZON_SECONDS = env.int("DISPATCH_HORIZON_SECONDS", default=15)
# The longest a job may wait for its answer (the job form's and API's limit).
MAX_TIMEOUT_SECONDS = 30
if CELERY_BROKER_URL.startswith("redis"):
    # A message delivered but not acknowledged (its worker died holding it) comes back
    # after this long, not the default hour. A live worker holds a batch for the horizon,
    # the longest timeout and the writing of its results, retries included; past that, a
    # second copy is harmless (a claim takes only pending executions).
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = (
        DISPATCH_HORIZON_SECONDS + MAX_TIMEOUT_SECONDS + 90
    )
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=1000)
EXECUTIONS_PER_MESSAGE = env.int("EXECUTIONS_PER_MESSAGE", default=200)
# A slot found later than this is missed (beat or workers were down), not run late.
MISSED_AFTER_SECONDS = env.int("MISSED_AFTER_SECONDS", default=60)
AUTO_DISABLE_AFTER = env.int("AUTO_DISABLE_AFTER", default=25)
# Each worker process keeps one connection pool: at most this many connections to one
# host at a time (a burst of jobs on one site queues for them instead of flooding it),
# kept open this long between calls so every-minute jobs reuse them.
CONNECTIONS_PER_HOST = env.int("CONNECTIONS_PER_HOST", default=100)
# Isolation between projects in each firing loop: at most this many of one project's
# requests in flight at once (its others wait, no one else's do); a host whose
# connections fail or time out this many times in a row gets its circuit opened.
IN_FLIGHT_PER_PROJECT = env.int("IN_FLIGHT_PER_PROJECT", default=100)
CIRCUIT_FAILURES = env.int("CIRCUIT_FAILURES", default=20)
# Lookups: the system's nameservers unless these are given (host or host:port, comma-separated).
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=5)
# Target ports a job may call (checked when saved and at connect): not SSH, SMTP or
# database ports on someone else's host.
ALLOWED_TARGET_PORTS = env.str("ALLOWED_TARGET_PORTS", default="80,443,1024-65535")
KEEPALIVE_SECONDS = env.int("KEEPALIVE_SECONDS", default=75)
MANUAL_RUNS_PER_MINUTE = env.int("MANUAL_RUNS_PER_MINUTE", default=10)
TEST_RUNS_PER_MINUTE = env.int("TEST_RUNS_PER_MINUTE", default=5)
# A web request waits at most this long for the lookup that checks a new URL's host; past
# it the URL is accepted, and checked again at connect time like every request.
SAVE_TIME_DNS_TIMEOUT_SECONDS = env.float("SAVE_TIME_DNS_TIMEOUT_SECONDS", default=2)
RECOVERY_INTERVAL_SECONDS = env.int("RECOVERY_INTERVAL_SECONDS", default=10)
# A pending execution whose message was sent this long ago was lost with the broker.
REQUEUE_AFTER_SECONDS = env.int("REQUEUE_AFTER_SECONDS", default=60)
RETENTION_DAYS = env.int("RETENTION_DAYS", default=30)
KEEP_EXECUTIONS_PER_JOB = 100

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.KeyRolePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.MemberThrottle"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cronsvc API",
    "DESCRIPTION": (
        "Cron jobs that call URLs: create and manage them, read their executions. "
        "Every path is scoped to the project of the API key in the Authorization header: "
        "another project's objects are 404. Read-scope keys may only GET; changing jobs "
        "needs a write key of a member, admin or owner of the project."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Served from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Executions, test runs and alert deliveries each have a `status`, with their own choices.
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "jobs.models.Execution.Status",
        "TestRunStatusEnum": "jobs.models.TestRun.Status",
        "DeliveryStatusEnum": "alerts.models.Delivery.Status",
    },
}

# Structured logs (structlog): JSON lines with an `event` name and ids in production,
# readable lines with LOG_FORMAT=plain (what `make run` uses).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
structlog.configure(
    # Filtered first: a line for a quiet logger costs no formatting.
    processors=[
        structlog.stdlib.filter_by_level,
        *LOG_CHAIN,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def quiet_loggers(log_format: str, level: str) -> dict:
    """The plain console (`make run`) shows what a member looks for: one line per
    execution result (jobs.engine.results) and a tick line when it claimed something.
    Celery's per-task lines, beat's sends and the heartbeats come back at DEBUG. JSON logs
    keep everything they had, and leave out the per-execution line, a cost at volume."""
    if log_format != "plain":
        return {"jobs.engine.results": {"level": "WARNING"}}
    if level.upper() == "DEBUG":
        return {}
    noisy = [
        "celery.app.trace",  # task succeeded
        "celery.worker.strategy",  # task received
        "celery.beat",  # sending due task
        "ops.tasks",  # workers' heartbeats
        "ops.scheduler",  # beat's heartbeat
        "jobs.engine.worker",  # execution.failed, which the result line says too
    ]
    return {name: {"level": "WARNING"} for name in noisy}


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": structlog.stdlib.ProcessorFormatter,
            "foreign_pre_chain": [*LOG_CHAIN, structlog.stdlib.ExtraAdder()],
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.dev.ConsoleRenderer(colors=False)
                if LOG_FORMAT == "plain"
                else structlog.processors.JSONRenderer(),
            ],
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}, **quiet_loggers(LOG_FORMAT, LOG_LEVEL)},
}
# Celery logs through the same handlers instead of installing its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
