"""The limit to compare with: a Flask endpoint that parses the same JSON and inserts one row.

Served by the same gunicorn, on the same database, with nothing else: no
session, no CSRF, no validation, no stock. Whatever the real sale costs above
this is the price of doing the job properly.
"""

import json
import os

import sqlalchemy as sa
from flask import Flask, request

metadata = sa.MetaData()
bare_sale = sa.Table(
    "bench_bare_sale",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("idempotency_key", sa.String(64), unique=True),
    sa.Column("body", sa.Text),
)


def create_app() -> Flask:
    """A one-route app writing to DATABASE_URL."""
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode = WAL")

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA busy_timeout = 15000")
            dbapi_connection.execute("PRAGMA synchronous = FULL")

    @app.post("/sale")
    def sale():
        body = json.loads(request.get_data())
        with engine.begin() as conn:
            conn.execute(bare_sale.insert().values(idempotency_key=body["idempotency_key"], body=json.dumps(body)))
        return {"ok": True}, 201

    return app
