"""Settings for Hengdian Studio Booking.

Every deployment knob is read from an environment variable. Production is the
default: with ``DJANGO_DEBUG`` unset the app is in production mode and refuses
to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``. Development says so
explicitly with ``DJANGO_DEBUG=1`` (``make run`` and the test suite do), and
then the other defaults work on a fresh machine (SQLite, Redis on localhost).
"""

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"The environment variable {name} must be set when DJANGO_DEBUG is off "
            "(off is the default; set DJANGO_DEBUG=1 for local development, as `make run` does)."
        )
    return value


def _env(name: str, cast, default):
    """Read ``name`` with ``cast``; a malformed value names the variable."""
    try:
        return cast(name, default=default)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"The environment variable {name} is invalid: {exc}") from exc


# --- Core -------------------------------------------------------------------
# Off unless asked for: a server started with no environment must not run in
# debug mode with a public secret key.
DEBUG = _env("DJANGO_DEBUG", env.bool, False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-only-for-local-runs")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = _required("SECRET_KEY")
    ALLOWED_HOSTS = [h for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Before the admin, so its translated fields appear side by side in the admin's forms.
    "modeltranslation",
    "hengdian.apps.StudioAdminConfig",  # django.contrib.admin with the studio's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "csp",
    "django_countries",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "simple_history",
    "bookings",
    "workshops",
    "hengdian.apps.HengdianConfig",  # wiring across both apps: the sweep, the demo data
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "hengdian.headers.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session is read: it drops cookies holding a NUL.
    "hengdian.middleware.RejectNulBytesMiddleware",
    # Before anything reads the body (CSRF does).
    "hengdian.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a change made in a request is recorded under that request's user.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Marks a session verified once staff give a code from their authenticator.
    "django_otp.middleware.OTPMiddleware",
    "hengdian.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it sees the result of authentication attempts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hengdian.urls"
WSGI_APPLICATION = "hengdian.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "bookings.context_processors.email_language_offer",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Each web or worker process keeps its connection between requests: opening one per
# request costs PostgreSQL a new server process and its catalogue caches, which on a
# small machine took CPU from the requests themselves in a burst. 0 closes it after each.
DATABASES["default"]["CONN_MAX_AGE"] = _env("CONN_MAX_AGE", env.int, 60)
if DATABASES["default"]["CONN_MAX_AGE"] < 0:
    raise ImproperlyConfigured("The environment variable CONN_MAX_AGE must be 0 or more seconds.")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two writers
    # queue up instead of one failing half-way with "database is locked"; the
    # timeout is how long a writer waits for its turn.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": _env("SQLITE_TIMEOUT", env.int, 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not memory, so threads each get their own connection.
    _sqlite_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_sqlite_file.with_name(f"test-{_sqlite_file.name}"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ---------------------------------------------------------------
AUTH_USER_MODEL = "bookings.User"
AUTHENTICATION_BACKENDS = [
    # Axes must come first so that locked-out attempts never reach the check.
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
LOGIN_REDIRECT_URL = "bookings:list"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # a new member has three days to set a password

# Staff need a second factor (TOTP, or a one-time backup code) for the admin;
# their sessions end after a working day without activity, crews keep Django's
# two weeks.
OTP_TOTP_ISSUER = "Hengdian Studio Booking"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # nobody reads a device's secret back from the admin
STAFF_SESSION_IDLE = timedelta(hours=_env("STAFF_SESSION_IDLE_HOURS", env.float, 9.0))
if STAFF_SESSION_IDLE.total_seconds() < 300:
    raise ImproperlyConfigured("The environment variable STAFF_SESSION_IDLE_HOURS must be at least 0.1.")

# Repeated failed logins lock out that username from that address for a while.
AXES_FAILURE_LIMIT = _env("AXES_FAILURE_LIMIT", env.int, 5)
AXES_COOLOFF_TIME = timedelta(minutes=_env("AXES_COOLOFF_MINUTES", env.int, 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "bookings.views.locked_out"
AXES_RESET_ON_SUCCESS = True
# The log-in form posts the email in a field called "username" (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
# One account, one count, however its email is capitalised or padded.
AXES_USERNAME_CALLABLE = "bookings.lockout.lockout_username"
AXES_VERBOSE = False
# The lockout and the registration rate limit read the client's address the same way.
AXES_CLIENT_IP_CALLABLE = "hengdian.clientip.client_ip"

# --- Client address ---------------------------------------------------------
# How many proxies stand in front of the app servers, each appending to
# X-Forwarded-For: 0 reads REMOTE_ADDR only (the header is the client's to
# forge); 1 for the README's TLS-terminating proxy. Too low, and every client
# shares the proxy's address; too high, and clients choose their own.
TRUSTED_PROXIES = _env("TRUSTED_PROXIES", env.int, 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("The environment variable TRUSTED_PROXIES cannot be negative.")

# --- Booking rules ----------------------------------------------------------
BOOKING_HOLD_HOURS = _env("BOOKING_HOLD_HOURS", env.int, 48)  # a request holds the set this long
BOOKING_MAX_DAYS = _env("BOOKING_MAX_DAYS", env.int, 30)
BOOKING_DEFAULT_DAYS = 7
BOOKING_MAX_DAYS_AHEAD = _env("BOOKING_MAX_DAYS_AHEAD", env.int, 365)


def _fee_tiers(name: str, default: str) -> tuple[tuple[int, int], ...]:
    """Parse ``14:0,7:30,0:60`` into ((14, 0), (7, 30), (0, 60)): from so many days before the first
    shoot day on, cancelling costs that percentage of the quoted total (bookings/fees.py)."""
    value = env.str(name, default=default)
    tiers: dict[int, int] = {}
    for entry in value.split(","):
        days, sep, percent = entry.strip().partition(":")
        if not (sep and days.strip().isdigit() and percent.strip().isdigit()) or int(percent) > 100:
            raise ImproperlyConfigured(
                f"The environment variable {name} is invalid: {entry.strip()!r} in {value!r}; use "
                "days:percent pairs, percent 0 to 100, e.g. 14:0,7:30,0:60."
            )
        if int(days) in tiers:
            raise ImproperlyConfigured(f"The environment variable {name} names {int(days)} days twice.")
        tiers[int(days)] = int(percent)
    if 0 not in tiers:
        raise ImproperlyConfigured(
            f"The environment variable {name} needs a tier for 0 days (the last days before the start)."
        )
    return tuple(sorted(tiers.items(), reverse=True))


# Cancelling a confirmed booking costs a share of its quote, by how many days before the first shoot day.
CANCELLATION_FEE_TIERS = _fee_tiers("CANCELLATION_FEE_TIERS", "14:0,7:30,0:60")


# --- Invoices ----------------------------------------------------------------
def _percent(name: str, default: str) -> Decimal:
    value = env.str(name, default=default).strip()
    try:
        percent = Decimal(value)
    except InvalidOperation:
        percent = Decimal(-1)
    if not (Decimal(0) <= percent <= Decimal(100)) or percent.as_tuple().exponent < -2:
        raise ImproperlyConfigured(
            f"The environment variable {name} is invalid: {value!r}; use a percentage from 0 to 100, e.g. 6 or 6.5."
        )
    return percent


# Numbers run HD-INV-2027-000001, HD-INV-2027-000002 … without a gap, starting again each year.
INVOICE_NUMBER_PREFIX = env.str("INVOICE_NUMBER_PREFIX", default="HD-INV").strip()
if not re.fullmatch(r"[A-Z][A-Z0-9-]{0,14}[A-Z0-9]", INVOICE_NUMBER_PREFIX):
    raise ImproperlyConfigured(
        "The environment variable INVOICE_NUMBER_PREFIX is invalid: use 2 to 16 capital letters, digits and dashes."
    )
# VAT on the quoted total, shown apart on every invoice.
VAT_PERCENT = _percent("VAT_PERCENT", "6")
# Payment terms: a deposit of DEPOSIT_PERCENT of the total within DEPOSIT_DAYS of the invoice, the
# balance by the day before the first shoot day (the deposit never later than that).
DEPOSIT_PERCENT = _percent("DEPOSIT_PERCENT", "30")
DEPOSIT_DAYS = _env("DEPOSIT_DAYS", env.int, 7)
if DEPOSIT_DAYS < 0:
    raise ImproperlyConfigured("The environment variable DEPOSIT_DAYS cannot be negative.")
# The studio's bank details printed on invoices, for the crew's transfer (对公转账).
# Empty in production until set; in development, placeholders marked as such, so the demo's
# invoices, emails and pages show where the account goes.
STUDIO_BANK_ACCOUNT_NAME = env.str(
    "STUDIO_BANK_ACCOUNT_NAME", default="Hengdian World Studios (development placeholder)" if DEBUG else ""
)
STUDIO_BANK_NAME = env.str("STUDIO_BANK_NAME", default="Example Bank, Dongyang branch" if DEBUG else "")
STUDIO_BANK_ACCOUNT = env.str("STUDIO_BANK_ACCOUNT", default="0000 0000 0000 0000 000" if DEBUG else "")
STUDIO_BANK_SWIFT = env.str("STUDIO_BANK_SWIFT", default="XXXXCNXX" if DEBUG else "")
# Whether a deposit still unpaid the day after it falls due cancels the plan by itself (the parts
# not yet begun, on CANCELLATION_FEE_TIERS as of that day), or only flags it for the booking desk.
UNPAID_DEPOSIT_CANCELS = _env("UNPAID_DEPOSIT_CANCELS", env.bool, False)


# --- Workshops --------------------------------------------------------------
def _rate(name: str, default: str) -> tuple[int, int]:
    """Parse a rate such as ``10/m`` into (requests, seconds)."""
    value = env.str(name, default=default)
    periods = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    count, _sep, period = value.partition("/")
    if not (count.isdigit() and int(count) > 0 and period in periods):
        raise ImproperlyConfigured(
            f"The environment variable {name} is invalid: {value!r}; use a count per s, m, h or d, e.g. 10/m."
        )
    return int(count), periods[period]


# A confirmed place in a session with a fee must be paid within WORKSHOP_PAYMENT_DAYS of being
# confirmed, and never later than WORKSHOP_PAYMENT_CLOSES_DAYS before the session starts (a place
# confirmed later than that has until the end of the next day). An unpaid place is released the day
# after its deadline, to the next person on the waiting list.
WORKSHOP_PAYMENT_DAYS = _env("WORKSHOP_PAYMENT_DAYS", env.int, 7)
WORKSHOP_PAYMENT_CLOSES_DAYS = _env("WORKSHOP_PAYMENT_CLOSES_DAYS", env.int, 14)
if WORKSHOP_PAYMENT_DAYS < 1 or WORKSHOP_PAYMENT_CLOSES_DAYS < 0:
    raise ImproperlyConfigured(
        "WORKSHOP_PAYMENT_DAYS must be at least 1 and WORKSHOP_PAYMENT_CLOSES_DAYS cannot be negative."
    )
# What share of a paid fee is refunded when the participant cancels, by how many days before the
# session's first day (days:percent, as CANCELLATION_FEE_TIERS). A session the studio calls off, or
# a place released unpaid, is refunded in full.
WORKSHOP_REFUND_POLICY = _fee_tiers("WORKSHOP_REFUND_POLICY", "30:100,14:50,0:0")
# The waiting list: a freed place is offered to the first person waiting, who has
# WORKSHOP_OFFER_HOURS to accept it before it passes on; closer to the start than the session's
# visa lead time (WORKSHOP_VISA_LEAD_DAYS by default), someone who needs a visa letter is skipped.
WORKSHOP_OFFER_HOURS = _env("WORKSHOP_OFFER_HOURS", env.int, 48)
WORKSHOP_VISA_LEAD_DAYS = _env("WORKSHOP_VISA_LEAD_DAYS", env.int, 21)
if WORKSHOP_OFFER_HOURS < 1 or WORKSHOP_VISA_LEAD_DAYS < 0:
    raise ImproperlyConfigured(
        "WORKSHOP_OFFER_HOURS must be at least 1 and WORKSHOP_VISA_LEAD_DAYS cannot be negative."
    )
# Passport number, expiry and date of birth, with the letters' PDF files, are deleted this many
# days after the session ends, or after the enrolment is cancelled (China's PIPL and the GDPR both
# ask that personal data be kept no longer than needed).
PASSPORT_RETENTION_DAYS = _env("PASSPORT_RETENTION_DAYS", env.int, 90)
PASSPORT_RETENTION_CANCELLED_DAYS = _env("PASSPORT_RETENTION_CANCELLED_DAYS", env.int, 30)
if PASSPORT_RETENTION_DAYS < 0 or PASSPORT_RETENTION_CANCELLED_DAYS < 0:
    raise ImproperlyConfigured(
        "PASSPORT_RETENTION_DAYS and PASSPORT_RETENTION_CANCELLED_DAYS cannot be negative."
    )
# A certificate of attendance goes to a participant checked in on at least this share of the
# session's days, once the session has ended.
CERTIFICATE_MIN_ATTENDANCE_PERCENT = _percent("CERTIFICATE_MIN_ATTENDANCE_PERCENT", "80")
# Visa invitation letters only for places whose fee is paid.
WORKSHOP_LETTER_NEEDS_PAYMENT = _env("WORKSHOP_LETTER_NEEDS_PAYMENT", env.bool, True)


# Registrations accepted per client address; a load test can raise it.
REGISTRATION_RATE_LIMIT = _rate("REGISTRATION_RATE_LIMIT", "10/m")
# Who signs visa invitation letters (a title, printed under the signature line).
INVITATION_LETTER_SIGNATORY = env.str(
    "INVITATION_LETTER_SIGNATORY",
    default="Director, International Business Department, Hengdian World Studios",
)
# How a consulate verifies a letter: the department's telephone (printed only when
# set; `check --deploy` warns while it is empty) and email (the workshop desk's
# unless set).
INVITATION_LETTER_PHONE = env.str("INVITATION_LETTER_PHONE", default="").strip()

# --- History ----------------------------------------------------------------
# Every tracked change keeps who, when, what and why (bookings/history.py).
# Nobody rolls a row back from the admin: a revert would skip the services'
# availability and capacity checks. Reasons are free text the desk writes.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_EDIT = False
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- Cache ------------------------------------------------------------------
# Several app servers must share one cache (the registration rate limit counts
# there): CACHE_URL=redis://host:6379/1 in production.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # redis-py waits for ever by default; a Redis that stops answering must fail
    # fast so the rate limit counts in-process instead (workshops/ratelimit.py).
    # ?socket_timeout=… in CACHE_URL overrides these.
    _cache_options = CACHES["default"].setdefault("OPTIONS", {})
    _cache_options.setdefault("socket_connect_timeout", 1)
    _cache_options.setdefault("socket_timeout", 1)
# The catalogue pages keep their rendered lists in this cache (bookings/pagecache.py). A cache
# each process holds on its own would not hear of a booking made in another process, and keep
# showing the days free: so by default only a shared one (Redis, Memcached) is used for it.
PAGE_CACHE = _env(
    "PAGE_CACHE",
    env.bool,
    CACHES["default"]["BACKEND"]
    not in ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"),
)

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Catalogue texts (sets, equipment, workshops: bookings/translation.py, workshops/translation.py)
# have a column per language; an empty translation shows the English text.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
# Slugs are made from the English name, whatever language the admin is in.
MODELTRANSLATION_PREPOPULATE_LANGUAGE = "en"
TIME_ZONE = "Asia/Shanghai"  # the studio's time zone: shoot days are days here
USE_I18N = True
USE_TZ = True
# Where Django's number and date formats for a language are not what its readers expect
# (money grouping in Chinese and Spanish, short month-day labels): hengdian/formats/.
FORMAT_MODULE_PATH = ["hengdian.formats"]

# --- Static and media files -------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Invitation letters carry passport data: never under MEDIA_ROOT, only served by views that check access.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "var" / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT)},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploads ----------------------------------------------------------------
# The only uploads are images (set photos, workshop covers), re-encoded before
# they are stored (bookings/images.py). No file is kept past the size limit
# (hengdian/uploads.py), a body larger than UPLOAD_MAX_REQUEST_MB is refused
# with 413 before it is read, and the pixel count is checked from the header,
# before anything is decoded.
IMAGE_UPLOAD_MAX_BYTES = _env("IMAGE_UPLOAD_MAX_MB", env.int, 5) * 2**20
IMAGE_UPLOAD_MAX_PIXELS = _env("IMAGE_UPLOAD_MAX_MEGAPIXELS", env.int, 40) * 1_000_000
# One form: the admin's set page can send several photos at once.
UPLOAD_MAX_REQUEST_BYTES = _env("UPLOAD_MAX_REQUEST_MB", env.int, 32) * 2**20
FILE_UPLOAD_HANDLERS = [
    "hengdian.uploads.ImageSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# A file larger than this waits in a temporary file, not in a worker's memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2**20
# Everything but files in one request; our longest text field holds 2,000 characters.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20
if not 0 < IMAGE_UPLOAD_MAX_BYTES <= UPLOAD_MAX_REQUEST_BYTES:
    raise ImproperlyConfigured(
        "The environment variable UPLOAD_MAX_REQUEST_MB must be at least IMAGE_UPLOAD_MAX_MB, "
        "and IMAGE_UPLOAD_MAX_MB above 0."
    )
if IMAGE_UPLOAD_MAX_PIXELS <= 0:
    raise ImproperlyConfigured("The environment variable IMAGE_UPLOAD_MAX_MEGAPIXELS must be above 0.")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ------------------------------------------------------------------
# EMAIL_URL examples: consolemail://, smtp+tls://user:password@smtp.example.com:587,
# filemail:///absolute/folder (three slashes), filemail://folder/in/the/project
_email_url = env.str("EMAIL_URL", default="consolemail://")
try:
    _email = env.email_url_config(_email_url)
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(f"The environment variable EMAIL_URL is invalid: {exc}") from exc
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# django-environ reads filemail:///srv/mail as the relative path "srv/mail" (it
# wants four slashes), so the folder is taken from the URL here: a leading slash
# is an absolute path, anything else is relative to the project folder.
_email_parts = urlsplit(_email_url)
_email_folder = _email_parts.netloc + _email_parts.path
if _email_folder.startswith("/"):
    EMAIL_FILE_PATH = "/" + _email_folder.lstrip("/")
else:
    EMAIL_FILE_PATH = str(BASE_DIR / (_email_folder or "var/emails"))
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hengdian Studio Booking <booking@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STAFF_NOTIFICATION_EMAILS = env.list("STAFF_NOTIFICATION_EMAILS", default=[])
# Who hears of equipment not returned on time; the addresses above when not set.
EQUIPMENT_STORE_EMAILS = env.list("EQUIPMENT_STORE_EMAILS", default=[])


def _address(name: str, default: str) -> str:
    """An email address from the environment; a malformed one stops start-up naming the variable."""
    value = env.str(name, default=default).strip()
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ImproperlyConfigured(
            f"The environment variable {name} is invalid: {value!r} is not an email address."
        ) from exc
    return value


# Where replies go (the Reply-To of every email): the booking desk answers crews
# (bookings and accounts), the workshop desk answers participants. Both default
# to the sender's address.
_from_address = parseaddr(DEFAULT_FROM_EMAIL)[1] or "booking@localhost"
BOOKING_DESK_EMAIL = _address("BOOKING_DESK_EMAIL", _from_address)
WORKSHOP_DESK_EMAIL = _address("WORKSHOP_DESK_EMAIL", _from_address)
# Printed on visa invitation letters for consulates to verify them.
INVITATION_LETTER_EMAIL = _address("INVITATION_LETTER_EMAIL", WORKSHOP_DESK_EMAIL)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = _env("CELERY_TASK_ALWAYS_EAGER", env.bool, False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
# A task is acknowledged only once it has run, and put back if its worker
# process dies, so every task must be safe to run twice (the outbox's claim
# makes sending so). Prefetching one at a time keeps a slow send from holding
# messages another worker could take.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# Redis may restart, fail over or hang. No email depends on a Celery message
# (the outbox row is the record, and the sweep re-queues it), but workers must
# come back by themselves when Redis does, and pages must not wait for it.
# tests/test_broker_outage.py restarts and freezes a real Redis under a real worker.
#
# Reconnect for as long as it takes, at start-up and after losing the
# connection: by default a worker gives up after 100 attempts (their waits grow
# to 30 s, so about 48 minutes of outage) and exits.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops finishes rather than being killed:
# killing a send after the mail server accepted the message is exactly what
# sends it twice. Its message cannot be acknowledged on the lost connection,
# so Redis redelivers it later, and it finds its row already sent.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# broker_heartbeat is AMQP's (RabbitMQ) and unused with Redis. Its job, finding
# a connection whose other end vanished without closing it (a failover, a NAT
# or firewall timeout, a frozen server), is done here by TCP keepalive and
# redis-py's health checks: kombu drops a worker's BRPOP whose answer is
# overdue by health_check_interval (so a worker recovers within about 21 s,
# not 51 s), and a command on a dead socket fails after socket_timeout instead
# of waiting for ever.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
    "socket_keepalive": True,
    "health_check_interval": 10,
}
# Queueing a task retries once, at once (a pooled connection may have died
# with a Redis restart), instead of four times with waits: a page queueing an
# email would wait for every attempt. With the broker gone, the email waits in
# the outbox for the sweep (bookings.notifications._nudge).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0,
    "interval_max": 0,
}
# The sweep expires stale holds, queues due reminders and re-queues due or
# stuck emails. A minute is the reminders' precision.
# Both live in hengdian/tasks.py: they span the two apps.
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "hengdian.tasks.sweep", "schedule": 60.0},
    "complete-finished-bookings": {"task": "hengdian.tasks.complete_finished_bookings", "schedule": 3600.0},
    "purge-passport-data": {"task": "hengdian.tasks.purge_passport_data", "schedule": 3600.0},
}

# The email outbox: a failed send is retried after NOTIFICATION_RETRY_SECONDS,
# doubling each time (at most an hour), until NOTIFICATION_MAX_ATTEMPTS; a row
# a worker claimed but never finished is claimed again after the timeout.
NOTIFICATION_MAX_ATTEMPTS = _env("NOTIFICATION_MAX_ATTEMPTS", env.int, 5)
NOTIFICATION_RETRY_BASE = timedelta(seconds=_env("NOTIFICATION_RETRY_SECONDS", env.int, 60))
NOTIFICATION_SENDING_TIMEOUT = timedelta(seconds=_env("NOTIFICATION_SENDING_TIMEOUT_SECONDS", env.int, 300))
if NOTIFICATION_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("The environment variable NOTIFICATION_MAX_ATTEMPTS must be at least 1.")
if NOTIFICATION_RETRY_BASE.total_seconds() < 0:
    raise ImproperlyConfigured("The environment variable NOTIFICATION_RETRY_SECONDS cannot be negative.")
# A worker still sending must never look dead: the task is killed at its time
# limit, so only after that may another worker claim the row again.
if NOTIFICATION_SENDING_TIMEOUT.total_seconds() <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "The environment variable NOTIFICATION_SENDING_TIMEOUT_SECONDS must be longer than the "
        f"task time limit ({CELERY_TASK_TIME_LIMIT} s), or a slow send could be claimed twice."
    )

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): only our own files, and no inline script
# or style anywhere — pages load their JavaScript and CSS from static/, and
# htmx is told not to inject its indicator <style> (templates/base.html).
# Bootstrap's CSS draws its icons from data: SVGs. Enforced, never report-only
# in production (a deployment check, hengdian/checks.py, refuses that).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        # The outbox preview frames an email's HTML part from its own URL,
        # which answers with a sandboxing policy of its own (bookings/admin.py).
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    },
}
# No other page may keep a handle on our windows, nor load our files into its own.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
# Browser features no page of ours uses are switched off for every page and
# frame (hengdian/headers.py); a feature a page starts to need gets an
# allowlist here, e.g. "camera": ["self"] to scan asset tags with a phone.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "usb": [],
    "xr-spatial-tracking": [],
}
# The language choice is read by the server only, and only sent back over HTTPS in production.
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = not DEBUG
if not DEBUG:
    SECURE_SSL_REDIRECT = _env("SECURE_SSL_REDIRECT", env.bool, True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env("SECURE_HSTS_SECONDS", env.int, 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
