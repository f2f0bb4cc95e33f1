"""Settings for the dispensary platform, read from the environment.

Two modes: the embedded default (SQLite, in-process tasks, console messages) for `make run` and tests, and
production (`DISPENSARY_ENV=production`), where secrets must be given and `check --deploy` is clean.
"""

import json
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENT = os.environ.get("DISPENSARY_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DISPENSARY_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DISPENSARY_ENV=production.")
    # A fixed key is fine for the embedded default: it never leaves the developer's machine.
    SECRET_KEY = "development-only-key-not-for-production-use-0123456789abcdefghij"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DISPENSARY_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Our core app first so that its runserver (which also runs the outbox sweeper in process) wins.
    "dispensary.apps.DispensaryConfig",
    "inventory.apps.InventoryConfig",
    "compliance.apps.ComplianceConfig",
    "pos.apps.PosConfig",
    "delivery.apps.DeliveryConfig",
    "messaging.apps.MessagingConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "axes",
    "csp",
    "anymail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Input no field could accept (NUL bytes, endless text, huge bodies) is refused before anything reads it.
    "dispensary.middleware.RequestInputMiddleware",
    # The register's requests read every cached family's version in one round trip (before the member is read).
    "dispensary.middleware.PinnedVersionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dispensary.middleware.CurrentStoreMiddleware",
    # A tablet in kiosk mode reaches the kiosk's pages only.
    "pos.kiosk_middleware.KioskLockMiddleware",
    # AxesMiddleware last, as its documentation asks; only the API's lockout answer sits inside it.
    "axes.middleware.AxesMiddleware",
    "dispensary.api.middleware.ApiLockoutMiddleware",
]

# Request size: a body above REQUEST_BODY_MAX_BYTES (a 2 MB manifest with room to spare) is answered 413, a
# query string above QUERY_STRING_MAX_LENGTH 414; Django's own limit on form data stays at 2.5 MB.
REQUEST_BODY_MAX_BYTES = int(os.environ.get("REQUEST_BODY_MAX_BYTES", str(5 * 1024 * 1024)))
QUERY_STRING_MAX_LENGTH = 8192
DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440

ROOT_URLCONF = "dispensary.urls"
WSGI_APPLICATION = "dispensary.wsgi.application"

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
                "dispensary.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60" if PRODUCTION else "0")),
    )
}


def sqlite_options() -> dict:
    """The embedded default under concurrent registers. A write transaction takes SQLite's write lock when it
    begins (IMMEDIATE), so two of them queue on the busy timeout instead of one failing with "database is
    locked" when a reader upgrades to a writer half-way; WAL lets readers go on while one writes."""
    return {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(sqlite_options())
# PostgreSQL with two roles (README, "Database roles"): `migrate` connects with this URL, as the role owning
# the tables, and grants the role of DATABASE_URL row privileges only. Empty: migrate uses DATABASE_URL.
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
# PostgreSQL: the checkout's own statements (dispensary.writes.prepared_cursor) are prepared on the server once
# per connection. Off ("0") behind a pooler in transaction mode that cannot keep prepared statements.
DATABASE_PREPARED_STATEMENTS = os.environ.get("DATABASE_PREPARED_STATEMENTS", "1") != "0"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_PREPARED_STATEMENTS:
    # psycopg then prepares what asks for it (prepare=True) and nothing else: Django's cursors bind on the
    # client and never prepare, and no statement is executed this many times on one connection.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "dispensary.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the signed-in member from the access cache (ACCESS_CACHE, below).
    "dispensary.access_cache.CachedModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"

# django-guardian: no anonymous user row; permissions are only ever granted to staff.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated); from anyone
# else the header is ignored and the connection's address is the client (dispensary/client_address.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# django-axes (dispensary/login_throttle.py): an account is locked after AXES_FAILURE_LIMIT failures from any
# address, an address after AXES_ADDRESS_FAILURE_LIMIT failures on any accounts, within the cool-off.
AXES_HANDLER = "dispensary.login_throttle.LoginThrottleHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_ADDRESS_FAILURE_LIMIT = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # this order: the handler reads the counts by position
AXES_CLIENT_IP_CALLABLE = "dispensary.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# --- Internationalisation and time ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_PHONE_REGION = os.environ.get("DEFAULT_PHONE_REGION", "US")

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (app.3f2a1c9e0b4d.css), which WhiteNoise serves as immutable for ten years; needs
        # collectstatic. The development server serves the plain names from the apps' folders.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATICFILES_MANIFEST", PRODUCTION)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"

# --- Background work ------------------------------------------------------------------------------------
# No broker: every task runs in this process right after the transaction commits.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Key for the hash of ID numbers (anti-looping); without it, one derived from SECRET_KEY is used. Set it in
# production so that rotating SECRET_KEY does not break matching of today's ID checks.
ID_HASH_KEY = os.environ.get("ID_HASH_KEY", "")

# Staff API tokens stop working this long after they are issued (or rotated); see README, REST API.
STAFF_TOKEN_LIFETIME_HOURS = float(os.environ.get("STAFF_TOKEN_LIFETIME_HOURS", "720"))

# API write answers kept for Idempotency-Key replays; older ones are purged by the periodic schedule.
IDEMPOTENCY_KEY_RETENTION_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_RETENTION_HOURS", "72"))

OUTBOX = {
    "MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8")),
    "BACKOFF_BASE_SECONDS": float(os.environ.get("OUTBOX_BACKOFF_BASE_SECONDS", "10")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("OUTBOX_BACKOFF_MAX_SECONDS", "3600")),
    # A due delivery older than this is taken as lost (its dispatch never ran) and is dispatched again.
    "SWEEP_GRACE_SECONDS": float(os.environ.get("OUTBOX_SWEEP_GRACE_SECONDS", "60")),
    "SWEEP_INTERVAL_SECONDS": float(os.environ.get("OUTBOX_SWEEP_INTERVAL_SECONDS", "30")),
}

# Outbound webhooks (REST hooks of API clients, dispensary/webhooks.py). A target on a private or loopback
# address is refused unless allowed (development and tests, where the receiver runs on this machine).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=not PRODUCTION)
WEBHOOKS = {
    "TIMEOUT_SECONDS": float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "10")),
    "MAX_ATTEMPTS": int(os.environ.get("WEBHOOKS_MAX_ATTEMPTS", "8")),
    "BACKOFF_BASE_SECONDS": float(os.environ.get("WEBHOOKS_BACKOFF_BASE_SECONDS", "30")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("WEBHOOKS_BACKOFF_MAX_SECONDS", "21600")),
    # Deliveries failed in a row (each after all its attempts) before the subscription is paused.
    "PAUSE_AFTER_FAILURES": int(os.environ.get("WEBHOOKS_PAUSE_AFTER_FAILURES", "5")),
    "SEND_INTERVAL_SECONDS": float(os.environ.get("WEBHOOKS_SEND_INTERVAL_SECONDS", "30")),
}

INVENTORY = {
    # A receiving shortage or overage larger than this share of the manifest quantity is flagged for the state.
    "DISCREPANCY_REPORT_PERCENT": float(os.environ.get("RECEIVING_DISCREPANCY_REPORT_PERCENT", "2")),
}

# --- Delivery route planning ------------------------------------------------------------------------------
# Travel times come from an OSRM or Valhalla server when DELIVERY_ROUTING_URL is set; otherwise from the
# straight-line distance times a road factor, at an average speed (works offline).
DELIVERY_ROUTING = {
    "ENGINE": os.environ.get("DELIVERY_ROUTING_ENGINE", "osrm"),
    "URL": os.environ.get("DELIVERY_ROUTING_URL", ""),
    "PROFILE": os.environ.get("DELIVERY_ROUTING_PROFILE", ""),
    "TIMEOUT_SECONDS": float(os.environ.get("DELIVERY_ROUTING_TIMEOUT_SECONDS", "10")),
    "ROAD_FACTOR": float(os.environ.get("DELIVERY_ROAD_FACTOR", "1.3")),
    "SPEED_KMH": float(os.environ.get("DELIVERY_SPEED_KMH", "30")),
}

# --- Metrc (state traceability) ---------------------------------------------------------------------------
# A store reports to the real Metrc when METRC_VENDOR_KEY and a user key for the store are both set; every
# other store reports to the Metrc simulator: in process, or the server at METRC_SIMULATOR_URL
# (`python manage.py metrc_simulator --port N`). See compliance/traceability/registry.py.
METRC_STATES = ("AK", "AL", "CA", "CO", "DC", "GU", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT",
                "NJ", "NV", "OH", "OK", "OR", "RI", "SD", "WV")  # fmt: skip
METRC = {
    "BASE_URLS": {
        **{f"US-{state}": f"https://api-{state.lower()}.metrc.com" for state in METRC_STATES},
        **json.loads(os.environ.get("METRC_BASE_URLS_JSON") or "{}"),  # e.g. sandbox addresses
    },
    "VENDOR_KEY": os.environ.get("METRC_VENDOR_KEY", ""),
    # {"<store code>" or "<organization slug>/<store code>": "<user key>"
    #  or {"key": "<user key>", "employees": {"<username>": "<user key>"}}}
    "USER_KEYS": json.loads(os.environ.get("METRC_USER_KEYS_JSON") or "{}"),
    "TIMEOUT_SECONDS": float(os.environ.get("METRC_TIMEOUT_SECONDS", "10")),
    "MAX_ATTEMPTS": int(os.environ.get("METRC_MAX_ATTEMPTS", "4")),
    "BACKOFF_BASE_SECONDS": float(os.environ.get("METRC_BACKOFF_BASE_SECONDS", "0.5")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("METRC_BACKOFF_MAX_SECONDS", "30")),
    "SIMULATOR_URL": os.environ.get("METRC_SIMULATOR_URL", ""),
    # The in-process simulator's journal (its state across restarts); unset: beside the SQLite database file.
    "SIMULATOR_STATE_FILE": os.environ.get("METRC_SIMULATOR_STATE_FILE"),
}
# --- end Metrc ----------------------------------------------------------------------------------------------

# Reports to the state (the sync queue): retries with backoff and jitter, one sender per store at a time,
# and an alert when a report waits longer than ALERT_AFTER_MINUTES.
STATE_SYNC = {
    "BACKOFF_BASE_SECONDS": float(os.environ.get("STATE_SYNC_BACKOFF_BASE_SECONDS", "30")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("STATE_SYNC_BACKOFF_MAX_SECONDS", "1800")),
    "LEASE_SECONDS": float(os.environ.get("STATE_SYNC_LEASE_SECONDS", "120")),
    "SEND_INTERVAL_SECONDS": float(os.environ.get("STATE_SYNC_SEND_INTERVAL_SECONDS", "30")),
    "ALERT_AFTER_MINUTES": float(os.environ.get("STATE_SYNC_ALERT_AFTER_MINUTES", "15")),
    # Without a broker, reports are sent by a background thread of the process ("background"), or at once in
    # the committing request ("inline": the tests, for determinism).
    "IN_PROCESS": os.environ.get("STATE_SYNC_IN_PROCESS", "background"),
}

# --- Point of sale --------------------------------------------------------------------------------------
# A known customer's cart with lines and no activity for this long publishes CartAbandoned (once).
POS_CART_ABANDONED_MINUTES = int(os.environ.get("POS_CART_ABANDONED_MINUTES", "30"))
# How long a pickup order holds its stock after its pickup time (or after it is placed).
POS_PICKUP_HOLD_HOURS = float(os.environ.get("POS_PICKUP_HOLD_HOURS", "24"))

# --- Delivery -------------------------------------------------------------------------------------------
# An optional geocoder for addresses that come without coordinates: a Nominatim or Pelias server's base URL.
# Empty (the default): nothing is geocoded and an address needs its coordinates. Nothing requires the internet.
DELIVERY_GEOCODER = {
    "KIND": os.environ.get("DELIVERY_GEOCODER_KIND", "nominatim"),  # nominatim or pelias
    "URL": os.environ.get("DELIVERY_GEOCODER_URL", ""),
    "API_KEY": os.environ.get("DELIVERY_GEOCODER_API_KEY", ""),
    "TIMEOUT_SECONDS": float(os.environ.get("DELIVERY_GEOCODER_TIMEOUT_SECONDS", "5")),
    "USER_AGENT": os.environ.get("DELIVERY_GEOCODER_USER_AGENT", "dispensary-platform"),
}
# The delivery map's tile layer, e.g. a tile server the operator runs: "https://tiles.example/{z}/{x}/{y}.png".
# Empty (the default): the map draws zones, excluded places and the store on a plain background.
DELIVERY_MAP_TILE_URL = os.environ.get("DELIVERY_MAP_TILE_URL", "")
DELIVERY_MAP_TILE_ATTRIBUTION = os.environ.get("DELIVERY_MAP_TILE_ATTRIBUTION", "")
# The customer's tracking page (delivery/views_tracking.py): requests per minute from one address.
DELIVERY_TRACKING_RATE_PER_MINUTE = int(os.environ.get("DELIVERY_TRACKING_RATE_PER_MINUTE", "60"))
# The address customers reach this site at, for the links in texts and emails (the tracking page). Unset in
# production: https:// and the first of ALLOWED_HOSTS.
PUBLIC_SITE_URL = os.environ.get("PUBLIC_SITE_URL", "").strip() or (
    f"https://{ALLOWED_HOSTS[0].lstrip('.')}" if PRODUCTION else "http://127.0.0.1:8000"
)
# Short links in messages (messaging/links.py): the shop's site ({shop_link} in templates) and other hosts a
# message's links may lead to (comma-separated); links there become PUBLIC_SITE_URL/l/<code> behind the age gate.
MESSAGING_SHOP_URL = os.environ.get("MESSAGING_SHOP_URL", "").strip()
MESSAGING_LINK_HOSTS = env_list("MESSAGING_LINK_HOSTS", "")
MESSAGING_LINK_RATE_PER_MINUTE = int(os.environ.get("MESSAGING_LINK_RATE_PER_MINUTE", "60"))
# The customer's loyalty page (/my/, messaging/views_loyalty_page.py): link requests per hour per address and per
# number, page requests per minute per address, and how long a page stays open after the texted code.
LOYALTY_PAGE_REQUESTS_PER_HOUR = int(os.environ.get("LOYALTY_PAGE_REQUESTS_PER_HOUR", "10"))
LOYALTY_PAGE_RATE_PER_MINUTE = int(os.environ.get("LOYALTY_PAGE_RATE_PER_MINUTE", "30"))
LOYALTY_PAGE_SESSION_MINUTES = int(os.environ.get("LOYALTY_PAGE_SESSION_MINUTES", "30"))
# Attribution: a sale within this many days after a click on a marketing message is credited to it.
MESSAGING_ATTRIBUTION_CLICK_DAYS = int(os.environ.get("MESSAGING_ATTRIBUTION_CLICK_DAYS", "5"))
# --- Messages out (email and SMS) -----------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Dispensary <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMS (messaging/providers.py): "console" logs each text, "file" appends it to SMS_OUTBOX_FILE, "twilio"
# speaks a Twilio-compatible HTTP API at SMS_API_URL with the account SID and token.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
SMS_OUTBOX_FILE = Path(os.environ.get("SMS_OUTBOX_FILE", BASE_DIR / "var" / "sms" / "outbox.log"))
SMS_API_URL = os.environ.get("SMS_API_URL", "")
# Outside production, SMS_BACKEND=twilio without an account talks to the local fake provider
# (`manage.py sms_fake_provider`, messaging/fake_sms.py) with its development account, token and number.
_SMS_DEV = not PRODUCTION and SMS_BACKEND == "twilio"
SMS_ACCOUNT_SID = os.environ.get("SMS_ACCOUNT_SID", "AC00000000000000000000000000000000" if _SMS_DEV else "")
SMS_AUTH_TOKEN = os.environ.get("SMS_AUTH_TOKEN", "development-only-sms-token" if _SMS_DEV else "")
SMS_FROM_NUMBER = os.environ.get("SMS_FROM_NUMBER", "+15005550006" if _SMS_DEV else "")
if _SMS_DEV and not SMS_API_URL:
    SMS_API_URL = "http://127.0.0.1:8025"
SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "10"))
# Flows' webhook steps (messaging.flow_handlers): the key that signs each post (X-Signature: sha256=HMAC of the
# body; empty: derived from SECRET_KEY) and the time a receiver has to answer.
MESSAGING_FLOW_WEBHOOK_SECRET = os.environ.get("MESSAGING_FLOW_WEBHOOK_SECRET", "")
MESSAGING_FLOW_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("MESSAGING_FLOW_WEBHOOK_TIMEOUT_SECONDS", "10"))
if PRODUCTION and SMS_BACKEND == "twilio" and not (SMS_ACCOUNT_SID and SMS_AUTH_TOKEN and SMS_FROM_NUMBER):
    raise ImproperlyConfigured(
        "SMS_BACKEND=twilio needs SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM_NUMBER."
    )
# A text the carrier could not reach the phone with (30003) is tried again this many times, this much later.
MESSAGING_SMS_UNREACHABLE_RETRIES = int(os.environ.get("MESSAGING_SMS_UNREACHABLE_RETRIES", "1"))
MESSAGING_SMS_UNREACHABLE_RETRY_MINUTES = int(os.environ.get("MESSAGING_SMS_UNREACHABLE_RETRY_MINUTES", "60"))
# Email through any django-anymail backend (EMAIL_BACKEND=anymail.backends.postmark.EmailBackend, ...): its
# settings as JSON in ANYMAIL_JSON ({"POSTMARK_SERVER_TOKEN": "..."}), and the HTTP Basic "user:password" its
# tracking webhooks must carry in ANYMAIL_WEBHOOK_SECRET (required in production with an anymail backend).
ANYMAIL = json.loads(os.environ.get("ANYMAIL_JSON", "") or "{}")
if not isinstance(ANYMAIL, dict):
    raise ImproperlyConfigured("ANYMAIL_JSON must be a JSON object.")
if os.environ.get("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = os.environ["ANYMAIL_WEBHOOK_SECRET"]
if PRODUCTION and EMAIL_BACKEND.startswith("anymail.") and not ANYMAIL.get("WEBHOOK_SECRET"):
    raise ImproperlyConfigured(
        "An anymail EMAIL_BACKEND needs ANYMAIL_WEBHOOK_SECRET (user:password) for its tracking webhooks."
    )
# Marketing email's List-Unsubscribe also names this mailbox (mailto:) when set: requests sent there must be
# honoured within 10 business days (CAN-SPAM). Empty: the one-click link only (RFC 8058 needs only the link).
MESSAGING_UNSUBSCRIBE_EMAIL = os.environ.get("MESSAGING_UNSUBSCRIBE_EMAIL", "")
# The gate (messaging/gate.py): no second marketing message to a customer within these hours of the last one on
# the same channel ("smart sending"); the quiet hours and state caps apply to these channels (the laws seeded are
# about telephone solicitation: calls and texts).
SMART_SENDING_SMS_HOURS = float(os.environ.get("SMART_SENDING_SMS_HOURS", "24"))
SMART_SENDING_EMAIL_HOURS = float(os.environ.get("SMART_SENDING_EMAIL_HOURS", "16"))
GATE_RULE_CHANNELS = tuple(
    channel.strip() for channel in os.environ.get("GATE_RULE_CHANNELS", "sms").split(",") if channel.strip()
)
# The send queue (messaging/queue.py). A sender's rate is its Sender.rate_per_second; an organization without a
# sender of a channel sends from SMS_FROM_NUMBER / DEFAULT_FROM_EMAIL at these rates (messages per second; 0: no
# limit, the default of the console and file backends, where nothing reaches a carrier).
SMS_DEFAULT_RATE_PER_SECOND = float(
    os.environ.get("SMS_DEFAULT_RATE_PER_SECOND", "1" if SMS_BACKEND == "twilio" else "0")
)
EMAIL_DEFAULT_RATE_PER_SECOND = float(os.environ.get("EMAIL_DEFAULT_RATE_PER_SECOND", "0"))
MESSAGING_QUEUE = {
    # A message claimed ("sending") for longer than this by a worker that died is sent again, with the same
    # idempotency key (the provider drops the copy). Longer than any send can take (SMS_TIMEOUT_SECONDS).
    "LEASE_SECONDS": int(os.environ.get("MESSAGING_LEASE_SECONDS", "300")),
    "MAX_ATTEMPTS": int(os.environ.get("MESSAGING_MAX_ATTEMPTS", "8")),
    # The periodic drain's interval (Celery beat, or runserver's thread) and the most one drain sends.
    "DRAIN_INTERVAL_SECONDS": float(os.environ.get("MESSAGING_DRAIN_INTERVAL_SECONDS", "1")),
    "BATCH": int(os.environ.get("MESSAGING_BATCH", "500")),
    # Without a broker a commit drains right away in its own process (a web request): at most this many.
    "IN_PROCESS_LIMIT": int(os.environ.get("MESSAGING_IN_PROCESS_LIMIT", "50")),
}

# Klaviyo (messaging/klaviyo_*.py), per organization at /messaging/integrations/klaviyo/. KLAVIYO_API_URL empty:
# Klaviyo's own API; the local fake: http://127.0.0.1:8026 (`manage.py klaviyo_fake`). The API keys are kept
# encrypted with INTEGRATION_KEYS_SECRET (without it, a key derived from SECRET_KEY: set it in production so that
# rotating SECRET_KEY does not lose the keys).
KLAVIYO = {
    "API_URL": os.environ.get("KLAVIYO_API_URL", ""),
    "TIMEOUT_SECONDS": float(os.environ.get("KLAVIYO_TIMEOUT_SECONDS", "10")),
    "BACKFILL_BATCH": int(os.environ.get("KLAVIYO_BACKFILL_BATCH", "100")),
    # The backfill started from the page: a Celery task with a broker; otherwise a thread of this process
    # ("background"), or at once in the request ("inline", the tests).
    "IN_PROCESS": os.environ.get("KLAVIYO_IN_PROCESS", "background"),
}
INTEGRATION_KEYS_SECRET = os.environ.get("INTEGRATION_KEYS_SECRET", "")

# --- REST API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dispensary.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["dispensary.api.permissions.IsStaffOrApiClient"],
    "DEFAULT_PAGINATION_CLASS": "dispensary.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dispensary.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "dispensary.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["dispensary.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"principal": os.environ.get("API_RATE", "600/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dispensary Platform API",
    "DESCRIPTION": (
        "REST API for third parties (online menus, e-commerce, marketing, auditors) and staff tools. "
        "Authenticate with `Authorization: Bearer <key>`: an API client key (organization-wide, limited to "
        "chosen stores and scopes) or a staff token. Every error has the body `{code, message, details}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to the online validator: the docs work offline.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # One class per operation may share a URL (dispensary.api.routing.by_method); show each as its operation.
    "PREPROCESSING_HOOKS": ["dispensary.api.routing.expand_by_method"],
    # `<id:...>` in the URLs (dispensary.inputs.IdConverter): a row id within 64 bits.
    "PATH_CONVERTER_OVERRIDE": {"id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
    # The consent ledger's channels, named apart from the other "channel" fields (receipts, messages).
    "ENUM_NAME_OVERRIDES": {
        "ConsentChannelEnum": "dispensary.models.MarketingConsent.Channel",
        "WebhookEventTypeEnum": "dispensary.webhooks.EVENT_CHOICES",
        "HookStatusEnum": "dispensary.models.WebhookSubscription.Status",
        "StatusEnum": "inventory.models.Package.Status",
    },
}

# --- Cache ----------------------------------------------------------------------------------------------
REDIS_CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}
        if REDIS_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Rules, taxes, promotions and products kept per process (dispensary.versioned): without a shared cache, each
# process reads them again after this many seconds so that a change reaches the other processes.
VERSIONED_LOCAL_SECONDS = float(os.environ.get("VERSIONED_LOCAL_SECONDS", "30"))
# The signed-in member, their permissions, roles and stores kept per process under a version any change of
# them moves (dispensary.access_cache), and sessions read from the cache (written to the database as well).
# Both need a cache every process shares for a change (a deactivation, a logout) to reach all processes at
# once: on with CACHE_URL (Redis), off without it.
ACCESS_CACHE = env_bool("ACCESS_CACHE", default=bool(REDIS_CACHE_URL))
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if ACCESS_CACHE else "django.contrib.sessions.backends.db"
)

# --- Security -------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Messages live in the session, not a cookie: one of them is an API key shown once.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp): scripts only from this site's files, never inline (no inline event
# handlers, no eval), nothing from other sites. Styles may be inline: htmx, Swagger UI and ReDoc set styles
# from script. ReDoc's search runs in a worker from a blob. The attribution logo ReDoc would fetch from its
# CDN is refused by img-src (ReDoc then hides it), so the API docs load nothing from the internet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The delivery map may load its tiles from the configured tile server (and nothing else from elsewhere).
if DELIVERY_MAP_TILE_URL:
    from urllib.parse import urlsplit

    _tiles = urlsplit(DELIVERY_MAP_TILE_URL.replace("{s}", "*"))
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(f"{_tiles.scheme}://{_tiles.netloc}")


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
