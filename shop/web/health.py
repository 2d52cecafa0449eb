"""`/healthz` for a monitor: 200 only when the database answers and takes a write, else 503 naming why."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from shop.extensions import limiter
from shop.faults import beat, log_database_fault
from shop.web.access import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
@limiter.exempt
def healthz():
    """200 when the database answers and takes a write, else 503 naming the reason; never cached."""
    try:
        beat()
    except sa.exc.IntegrityError:
        pass  # another worker wrote the first heartbeat at the same moment: the database took a write
    except Exception as error:  # noqa: BLE001 - any failure is the answer, not a crash
        cause = log_database_fault(error, "GET /healthz")
        if cause is None:
            current_app.logger.exception("health check failed")
        response = jsonify(status="error", reason=f"database unwritable: {cause or 'unexpected error'}")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
