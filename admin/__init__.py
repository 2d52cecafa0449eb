"""The staff side: blueprints under /admin/ for the counter manager, clerks, officers and supervisors."""

from flask import Flask


def register(app: Flask) -> None:
    """Register the staff blueprints on the app."""
    # Imported here: admin views use shop's use cases, and shop imports admin.
    from admin import (
        audit,
        counter,
        dashboards,
        home,
        households,
        inspections,
        orders,
        payout_disputes,
        places,
        products,
        proposals,
        reports,
        review,
        roster,
        stock,
        users,
        visits,
        worklog,
    )

    app.register_blueprint(home.bp)
    app.register_blueprint(counter.bp)
    app.register_blueprint(stock.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(households.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(products.bp)
    app.register_blueprint(places.bp)
    app.register_blueprint(roster.bp)
    app.register_blueprint(inspections.bp)
    app.register_blueprint(proposals.bp)
    app.register_blueprint(worklog.bp)
    app.register_blueprint(visits.bp)
    app.register_blueprint(dashboards.bp)
    app.register_blueprint(payout_disputes.bp)
    # First of all before-request functions: CSRF protection reads the body, and must meet the
    # upload's own size limit, not the app's 1 MiB one.
    app.before_request_funcs.setdefault(None, []).insert(0, products.allow_picture_upload)
    app.before_request_funcs.setdefault(None, []).insert(0, roster.allow_roster_upload)
