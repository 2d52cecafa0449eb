"""Security headers on every response: a strict Content-Security-Policy and the browser hardening around it.

The policy allows no inline script, no inline style and no plugin; pages pass data to their
scripts in `<script type="application/json">` blocks, which are data, not code. Stripe.js is the
one script from elsewhere (rule 9 of docs/architecture.md): it is loaded from js.stripe.com, draws its fields in
frames from js.stripe.com and hooks.stripe.com (3-D Secure) and talks to api.stripe.com, as
Stripe's security guide lists. STRIPE_API_BASE is not added: it points the server's Stripe client
elsewhere (shop/payments.py), while Stripe.js in the browser always talks to api.stripe.com.

Referrer-Policy defaults to `same-origin`: nothing here needs to tell another site where a visitor
came from, and some addresses are secrets (an order's token, a statement's digest). A view may set
its own: the pay page sends Stripe its origin (strict-origin-when-cross-origin), the statement
check sends nothing (no-referrer).
"""

from flask import Flask, Response

STRIPE_JS = "https://js.stripe.com https://*.js.stripe.com"

#: Each directive and its sources; `default-src 'self'` covers fonts, media, workers and the manifest.
POLICY = {
    "default-src": "'self'",
    "script-src": f"'self' {STRIPE_JS}",
    "frame-src": f"{STRIPE_JS} https://hooks.stripe.com",
    "connect-src": "'self' https://api.stripe.com",
    # data: so that a small image inlined by a stylesheet or a script needs no new rule.
    "img-src": "'self' data:",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

#: No page uses the camera, the microphone or the location; Payment Request (wallets) only in Stripe's frame.
PERMISSIONS = 'camera=(), microphone=(), geolocation=(), payment=(self "https://js.stripe.com")'


def content_security_policy() -> str:
    """The Content-Security-Policy header's value."""
    return "; ".join(f"{name} {sources}" for name, sources in POLICY.items())


def headers() -> dict[str, str]:
    """The headers every response carries unless its view chose otherwise."""
    return {
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS,
    }


def register(app: Flask) -> None:
    """Add the headers to every response: pages, JSON, errors, static files and PDFs."""
    fixed = headers()

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in fixed.items():
            # A view's own choice (a stricter Referrer-Policy, say) wins.
            response.headers.setdefault(name, value)
        return response
