"""The staff side: blueprints under /admin/ for the counter manager, clerks, officers and supervisors."""

from flask import Flask


def register(app: Flask) -> None:
    """Register the staff blueprints on the app."""
    from .home import bp as home_bp

    app.register_blueprint(home_bp)
