"""Configuration: defaults that run with nothing set, overridden from the environment.

`make run` needs no configuration at all: SQLite under instance/, a secret key
generated once into instance/, and pay-at-pickup when Stripe has no keys.
"""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from shop import sealing


def database_url(instance_path: str) -> str:
    """DATABASE_URL, normalised to the psycopg 3 driver, or the embedded SQLite file."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "bangfu.sqlite3")
    return with_psycopg(url)


def with_psycopg(url: str) -> str:
    """A PostgreSQL URL made to use the psycopg 3 driver; any other URL as it is."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_text().strip()


def personal_data_keys(instance_path: str) -> tuple[str, ...]:
    """PERSONAL_DATA_KEYS (Fernet keys, newest first, comma-separated), else the key kept in instance/, if any.

    None at all: create_app generates one, but only once it has seen the database holds no sealed value.
    """
    keys = tuple(k.strip() for k in os.environ.get("PERSONAL_DATA_KEYS", "").split(",") if k.strip())
    if not keys and (stored := sealing.stored_instance_key(instance_path)):
        keys = (stored,)
    for key in keys:
        sealing.check_key(key)
    return keys


def from_environment(instance_path: str, given: Mapping) -> dict:
    """The settings the environment gives, read when an app is created (never at import).

    Settings already in `given` (passed to create_app) win, and are not derived.
    """
    env = os.environ
    settings = {}
    if "SQLALCHEMY_DATABASE_URI" not in given:
        settings["SQLALCHEMY_DATABASE_URI"] = database_url(instance_path)
    if "SECRET_KEY" not in given:
        settings["SECRET_KEY"] = secret_key(instance_path)
    # An app given its database (a test's) never migrates the one the environment names.
    if "SQLALCHEMY_DATABASE_URI" not in given and (url := env.get("MIGRATION_DATABASE_URL", "").strip()):
        settings["MIGRATION_DATABASE_URL"] = with_psycopg(url)
    if "PERSONAL_DATA_KEYS" not in given:
        settings["PERSONAL_DATA_KEYS"] = personal_data_keys(instance_path)
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "RATELIMIT_STORAGE_URI",
        "LOGIN_RATE_LIMIT",
        "LOGIN_ACCOUNT_RATE_LIMIT",
        "ORDER_RATE_LIMIT",
        "PUBLIC_BASE_URL",
        "PRODUCT_IMAGES_FOLDER",
        "ROSTER_UPLOADS_FOLDER",
        "APP_DATABASE_ROLE",
    ):
        if env.get(name):
            settings[name] = env[name].strip()
    if env.get("STRIPE_PAYMENT_METHOD_TYPES"):
        types = [t.strip() for t in env["STRIPE_PAYMENT_METHOD_TYPES"].split(",")]
        settings["STRIPE_PAYMENT_METHOD_TYPES"] = tuple(t for t in types if t)
    for name in (
        "ORDER_HOLD_MINUTES",
        "PICKUP_HOLD_MINUTES",
        "UNPAID_ORDERS_PER_CLIENT",
        "UNPAID_FEN_PER_CLIENT",
        "ORDER_LINE_MAX_GRAMS",
        "ORDER_LINE_MAX_PIECES",
        "MONITORING_LINE_FEN",
        "MONITORING_LINE_YEAR",
        "SESSION_IDLE_MINUTES",
        "PRODUCT_IMAGE_MAX_BYTES",
        "ROSTER_UPLOAD_MAX_BYTES",
        "SOLD_AT_MAX_AGE_HOURS",
        "VISIT_EVERY_DAYS_MONITORED",
        "VISIT_EVERY_DAYS_RISK_ELIMINATED",
        "VISIT_EVERY_DAYS_TUOPIN",
        "WARNING_DROP_PERCENT",
        "WARNING_BASELINE_DAYS",
        "WARNING_MIN_BASELINE_FEN",
    ):
        if env.get(name, "").strip().isdigit():
            settings[name] = int(env[name])
    if env.get("TRUSTED_PROXIES", "").strip().isdigit():
        settings["TRUSTED_PROXIES"] = int(env["TRUSTED_PROXIES"])
    if "SESSION_COOKIE_SECURE" in env:
        secure = env["SESSION_COOKIE_SECURE"].strip().lower() in {"1", "true", "yes", "on"}
        settings["SESSION_COOKIE_SECURE"] = settings["REMEMBER_COOKIE_SECURE"] = secure
    return settings


class Config:
    """The embedded default, for `make run` and development."""

    #: Where buyers reach the site (https://bangfu.example.cn): printed QR codes point there, not at
    #: whichever address the clerk's tablet used. Empty: the address of the request that printed.
    PUBLIC_BASE_URL = ""
    #: Lots whose best-before date is this close are flagged on the stock page.
    NEAR_EXPIRY_DAYS = 30

    STRIPE_SECRET_KEY = ""
    STRIPE_PUBLISHABLE_KEY = ""
    STRIPE_WEBHOOK_SECRET = ""
    #: Another address for the Stripe API, such as a local test server.
    STRIPE_API_BASE = ""
    STRIPE_PAYMENT_METHOD_TYPES = ("card", "alipay", "wechat_pay")
    #: How long an order paid online holds its stock while the buyer pays.
    ORDER_HOLD_MINUTES = 30
    #: How long a pay-at-pickup order holds its stock for the buyer to come to the counter: the rest
    #: of a day's opening, not a whole day, so that an order nobody collects frees its stock the same day.
    PICKUP_HOLD_MINUTES = 4 * 60
    #: Unpaid orders (awaiting payment within their hold) one client may have at once: per client
    #: address and per phone number alike. One more is refused with 429.
    UNPAID_ORDERS_PER_CLIENT = 3
    #: The most money (fen) one client's unpaid orders may hold together: ¥2,000.
    UNPAID_FEN_PER_CLIENT = 200_000
    #: The most a cart line or an order line may ask for: 5 kg of a weighed product, 20 pieces.
    ORDER_LINE_MAX_GRAMS = 5_000
    ORDER_LINE_MAX_PIECES = 20
    #: Orders placed (the API and the checkout page together) per client address.
    ORDER_RATE_LIMIT = "10 per hour;3 per minute"

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    #: The interface languages, Chinese first.
    LANGUAGES = ("zh_CN", "en")

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: PostgreSQL: the owner of the tables, whom `flask db upgrade` connects as. Empty: DATABASE_URL.
    MIGRATION_DATABASE_URL = ""
    #: PostgreSQL: the app's own role (DATABASE_URL's), granted its privileges after every migration.
    APP_DATABASE_ROLE = ""
    #: SQLite waits this long for another writer before giving up.
    SQLITE_BUSY_TIMEOUT_S = 15

    #: Werkzeug's password hashing; scrypt is memory-hard against guessing.
    PASSWORD_HASH_METHOD = "scrypt"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    #: JSON and form bodies; nothing the counter sends comes near it.
    MAX_CONTENT_LENGTH = 1024 * 1024
    #: A product photo as a phone takes it; the app keeps a re-encoded copy of 100 kB or so.
    PRODUCT_IMAGE_MAX_BYTES = 8 * 1024 * 1024
    #: A household roster uploaded on the manager's import page (50,000 rows of CSV are about 5 MB).
    ROSTER_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    #: Where uploaded rosters wait for their confirmation; empty means roster-uploads/ in the instance folder.
    ROSTER_UPLOADS_FOLDER = ""
    #: Where product photos are kept; empty means product-images/ in the instance folder.
    PRODUCT_IMAGES_FOLDER = ""

    #: How many reverse proxies (nginx…) stand in front of the app and may be believed.
    TRUSTED_PROXIES = 0

    #: Where rate-limit counters are kept. Empty: a SQLite file in the instance folder that every worker of
    #: this machine shares (shop.web.rate_limits); several machines share redis://… instead.
    RATELIMIT_STORAGE_URI = ""
    RATELIMIT_HEADERS_ENABLED = True
    #: Sign-in attempts allowed per client address.
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    #: Failed sign-in attempts allowed per account named, from all addresses together. The windows
    #: expire, so the account's holder waits at most an hour and is never locked out for good.
    LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"
    #: A staff session unused this long is over; every request, the till's included, restarts the clock.
    SESSION_IDLE_MINUTES = 30

    #: The monitoring line (防返贫监测范围): fen of net income per person per year, set each year by the
    #: province. The default is a placeholder of ¥7,500; set the year's published figure with its year.
    MONITORING_LINE_FEN = 750_000
    MONITORING_LINE_YEAR = 2026

    #: The oldest a sale the till queued offline may be when it syncs (its sold_at); an older one is
    #: refused (422) for the manager to settle, so a tablet left in a drawer cannot rewrite last week.
    SOLD_AT_MAX_AGE_HOURS = 72

    #: How often households are visited (回访), in days; 0 schedules no visits. A 监测户 still at risk
    #: (identified or relapsed) monthly; one whose risk was eliminated quarterly, to catch a relapse
    #: early; 脱贫户 as their officer plans.
    VISIT_EVERY_DAYS_MONITORED = 30
    VISIT_EVERY_DAYS_RISK_ELIMINATED = 90
    VISIT_EVERY_DAYS_TUOPIN = 0

    #: Early warning (预警): a monitored household whose counter income over the last 30 days fell below
    #: this percentage of its own average 30 days over the WARNING_BASELINE_DAYS before them. A household
    #: that earned less than WARNING_MIN_BASELINE_FEN a month before is not warned about a fall.
    WARNING_DROP_PERCENT = 50
    WARNING_BASELINE_DAYS = 90
    WARNING_MIN_BASELINE_FEN = 5_000

    #: A consignment lot's household share when the clerk names none: 90 %.
    CONSIGNMENT_SHARE_BP = 9000


class ProductionConfig(Config):
    """Served by gunicorn behind HTTPS (`make serve`)."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    """The test suite: CSRF stays on, so tests send tokens as real clients do."""

    TESTING = True
    RATELIMIT_ENABLED = False
    # Each test app counts on its own, so a test's budget never leaks into the next.
    RATELIMIT_STORAGE_URI = "memory://"
    # Fast hashing keeps the suite quick; the code path is the same.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    WTF_CSRF_ENABLED = True


CONFIGS = {"development": Config, "production": ProductionConfig, "test": TestConfig}
