"""The staff side: blueprints under /admin/ for the counter manager, clerks, officers and supervisors."""

from flask import Flask


def register(app: Flask) -> None:
    """Register the staff blueprints on the app."""
    # Imported here: admin views use shop's use cases, and shop imports admin.
    from . import audit, counter, home, households, orders, reports, review, stock, users

    app.register_blueprint(home.bp)
    app.register_blueprint(counter.bp)
    app.register_blueprint(stock.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(households.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(users.bp)
