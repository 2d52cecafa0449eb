"""Bangfu Counter (帮扶专柜): the application factory."""

import os
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import admin
from shop import audit, sealing
from shop.config import CONFIGS, TestConfig, from_environment
from shop.extensions import babel, csrf, db, limiter, login_manager, migrate
from shop.ops import cli
from shop.transaction import configure_engine
from shop.web import (
    api,
    auth,
    checkout,
    compression,
    health,
    household_page,
    rate_limits,
    responses,
    security,
    statement_check,
    storefront,
    templating,
    transparency,
    webhooks,
    worklog_api,
)


class RowId(IntegerConverter):
    """A URL segment naming a row: 1 to 2**31-1, so a huge number is a 404, not a database error."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=2**31 - 1)


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints (shop's and admin's) and CLI."""
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    # Its commands refuse to run while the database's phone numbers do not open (see _check_keys).
    app.cli = cli.AppCommands()
    given = dict(config or {})
    env_name = os.environ.get("BANGFU_ENV", "development")
    if env_name not in CONFIGS:
        raise RuntimeError(f"BANGFU_ENV must be one of {', '.join(CONFIGS)}, not {env_name!r}")
    base = TestConfig if given.get("TESTING") else CONFIGS[env_name]
    app.config.from_object(base)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(from_environment(app.instance_path, given))
    app.config.update(given)

    # Chinese in JSON stays readable: "虾干", not "\u867e\u5e72".
    app.json.ensure_ascii = False
    app.url_map.converters["id"] = RowId
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind nginx, the client's address (which sign-in throttling counts by)
        # and the https scheme come from the proxy's X-Forwarded-* headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    _init_extensions(app)
    _check_keys(app)
    audit.install()
    for blueprint in (
        storefront.bp,
        checkout.bp,
        auth.bp,
        api.bp,
        webhooks.bp,
        statement_check.bp,
        health.bp,
        worklog_api.bp,
        transparency.bp,
        household_page.bp,
    ):
        app.register_blueprint(blueprint)
    admin.register(app)
    responses.register(app)
    templating.register(app)
    security.register(app)
    compression.register(app)
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_S"])
    migrate.init_app(app, db)
    csrf.init_app(app)
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = rate_limits.instance_uri(app.instance_path)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)


def _check_keys(app: Flask) -> None:
    """Refuse to start when the database holds phone numbers the keys cannot open; key a new installation.

    Without the check a database restored without its key makes household and order pages answer 500.
    One sealed value per sealed column is tried: two LIMIT 1 reads. A server or `flask run` refuses at
    once; `flask db …`, `backup`, `restore` and `personal-data` still run, other commands refuse (cli.py).
    """
    keys = app.config["PERSONAL_DATA_KEYS"]
    try:
        with app.app_context(), db.engine.connect() as connection:
            fault = sealing.keys_fault(connection, keys, app.instance_path)
    except sa.exc.ProgrammingError as error:
        # PostgreSQL: the app's role may read nothing yet (it owned the tables until they were handed to
        # the owner) and `flask db grant-app` must still run: no check then, and no key generated.
        if getattr(error.orig, "sqlstate", None) != "42501" or not cli.defers_key_check():
            raise
        return
    if fault is None:
        if not keys:
            # The database holds no sealed value, so a new key loses nothing.
            app.config["PERSONAL_DATA_KEYS"] = (sealing.instance_key(app.instance_path),)
        return
    if not cli.defers_key_check():
        raise sealing.KeysDoNotOpen(fault)
    app.cli.keys_fault = fault


def select_locale() -> str:
    """The language chosen with the switch, else the browser's, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return languages[0]
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages, default=languages[0])
