"""POST /stripe/webhook: Stripe's events, verified by signature, each acted on at most once."""

from flask import Blueprint, jsonify, request

from shop.extensions import csrf
from shop.selling import payments
from shop.web.access import public
from shop.web.responses import json_error

bp = Blueprint("webhooks", __name__)


@bp.post("/stripe/webhook")
@public
@csrf.exempt
def stripe_webhook():
    """Verify the signature on the raw body, then act on the event (400 for a bad or stale signature)."""
    payload = request.get_data(cache=False)
    try:
        outcome = payments.handle_event(payload, request.headers.get("Stripe-Signature", ""))
    except (payments.BadSignature, payments.MalformedEvent) as error:
        return json_error(400, error.code, error.message)
    except payments.PaymentUnavailable as error:
        # Stripe could not be asked what the event means: a 503 makes it deliver the event again later.
        return json_error(503, error.code, error.message)
    return jsonify(received=True, outcome=outcome)
