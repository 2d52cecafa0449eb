"""POST /stripe/webhook: Stripe's events, verified by signature, each acted on at most once."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)
