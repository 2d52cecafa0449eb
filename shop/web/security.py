"""Security headers on every response: a strict Content-Security-Policy and the browser hardening around it.

The policy allows no inline script, no inline style and no plugin; pages pass data to their
scripts in `<script type="application/json">` blocks, which are data, not code. Stripe.js is the
one script from elsewhere (rule 9 of docs/architecture.md): it is loaded from js.stripe.com, draws its fields in
frames from js.stripe.com and hooks.stripe.com (3-D Secure) and talks to api.stripe.com, as
Stripe's security guide lists. STRIPE_API_BASE is not added: it points the server's Stripe client
elsewhere (shop/selling/payments.py), while Stripe.js in the browser always talks to api.stripe.com.

Referrer-Policy defaults to `same-origin`: nothing here needs to tell another site where a visitor
came from, and some addresses are secrets (an order's token, a statement's digest). A view may set
its own: the pay page sends Stripe its origin (strict-origin-when-cross-origin), the statement
check sends nothing (no-referrer).

Staff answers (every page under /admin and /account, the sign-in page, and every view that needs a
session, JSON included) are `no-store`: the counter's tablet is shared, and a household's phone
number or a day's takings must not come back from the browser's cache after sign-out. The public
catalog, product pictures and static files keep their caching. Strict-Transport-Security is sent
only on an answer that went out over HTTPS (request.is_secure, which ProxyFix sets behind the
trusted proxy): over plain HTTP it would mean nothing, and on a test box it would lock the name
to HTTPS for a year.
"""

from flask import Flask, Response, current_app, request

from shop.web.access import PUBLIC

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


#: Browsers keep to HTTPS for this site for a year once they have seen it over HTTPS.
HSTS = "max-age=31536000"
#: Addresses that are staff-only whatever their view says (a stranger's redirect to sign in included).
STAFF_PREFIXES = ("/admin", "/account", "/login", "/logout", "/api/session")
#: What a staff answer carries: kept by no cache, the browser's included.
NO_STORE = "private, no-store"


def for_staff() -> bool:
    """Whether this request's answer is for staff: a staff address, or a view that needs a session."""
    if request.path.startswith(STAFF_PREFIXES):
        return True
    if request.endpoint is None or request.endpoint == "static":
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "allowed_roles", PUBLIC) != PUBLIC


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
        if for_staff() and "no-store" not in (response.headers.get("Cache-Control") or ""):
            response.headers["Cache-Control"] = NO_STORE
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
