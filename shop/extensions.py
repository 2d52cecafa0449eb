"""The Flask extensions, created once here and bound to an app in create_app()."""

from pathlib import Path

import click
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic drop and alter them on every database alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LazyMigrate:
    """Flask-Migrate, bound to an app without loading it: Alembic (~12 MiB a worker) loads when a migration runs."""

    def __init__(self, directory: str):
        self.directory = directory
        self.more_commands: list[click.Command] = []

    def add_command(self, command: click.Command) -> None:
        """Put one of our commands in the `flask db` group, beside Flask-Migrate's."""
        self.more_commands.append(command)

    def init_app(self, app, db) -> None:
        """Stand in for Flask-Migrate in app.extensions and as the `flask db` commands until one is used."""

        def load():
            from flask_migrate import Migrate

            if isinstance(app.extensions.get("migrate"), _MigrateWhenUsed):
                Migrate(directory=self.directory).init_app(app, db)  # replaces both stand-ins
            return app.extensions["migrate"]

        app.extensions["migrate"] = _MigrateWhenUsed(load)
        app.cli.add_command(_MigrationCommands(load, self.more_commands), "db")


class _MigrateWhenUsed:
    """app.extensions["migrate"] until first read: then Flask-Migrate's own, loaded."""

    def __init__(self, load):
        self._load = load

    def __getattr__(self, name):
        return getattr(self._load(), name)


class _MigrationCommands(click.Group):
    """`flask db …`: Flask-Migrate's commands, loaded (with Alembic) when one of them runs."""

    def __init__(self, load, more_commands: list[click.Command]):
        super().__init__("db", help="Perform database migrations.")
        self._load, self._more = load, more_commands

    def _real(self) -> click.Group:
        from flask_migrate.cli import db as commands

        self._load()
        for command in self._more:
            commands.add_command(command)
        return commands

    def make_context(self, info_name, args, parent=None, **extra):
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        return self._real().get_command(ctx, cmd_name)


db = SQLAlchemy(model_class=Base)
migrate = LazyMigrate(directory=str(Path(__file__).parent / "migrations"))
login_manager = LoginManager()
# "basic", not "strong": a tablet on a mobile network changes address often,
# and "strong" would sign the clerk out mid-shift each time it does.
login_manager.session_protection = "basic"
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
