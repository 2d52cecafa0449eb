"""Command-line tools: `flask --app shop seed-demo`, `create-user`, `ledger verify`, `statements`
(`db` comes from Flask-Migrate)."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import accounts, demo, sealing
from .clock import business_today
from .errors import DomainError
from .models import Role
from .transaction import atomic


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Add the demo counter, towns, households, products and lots (safe to run twice)."""
    added = demo.seed()
    summary = ", ".join(f"{n} {kind}" for kind, n in added.items() if n) or "nothing new"
    click.echo(f"Demo data: added {summary}.")
    if added["users"]:
        click.echo(f"Demo accounts (admin, clerk, officer1-4, heshe, county) use the password {demo.DEMO_PASSWORD!r}.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the account may do.")
@click.option("--town", help="A supervisor's town (a town leader); leave out for the county bureau.")
@click.option("--households", default="", help="An officer's households, as CODE,CODE.")
@click.option("--counter", help="A clerk's counter code; the first counter if left out.")
@click.option("--name", "display_name", default="", help="The name shown in the interface.")
@click.password_option(help="Asked for twice when not given.")
@with_appcontext
def create_user_command(username, role, town, households, counter, display_name, password):
    """Create a staff account; the password is prompted for twice."""
    try:
        user = accounts.create_user(
            username,
            password,
            Role(role),
            display_name=display_name,
            town=town,
            household_codes=[c for c in households.split(",") if c.strip()],
            counter_code=counter,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {user.role.value} {user.username}.")


orders_group = AppGroup("orders", help="Online orders.")


@orders_group.command("expire")
def expire_orders_command():
    """Record unpaid orders past their hold as expired and cancel their payments (run it from cron)."""
    from . import payments

    expired = payments.expire_lapsed()
    click.echo(f"Expired {len(expired)} unpaid orders.")


ledger_group = AppGroup("ledger", help="The household income ledger.")


@ledger_group.command("verify")
def verify_ledger_command():
    """Walk the hash chain and cross-check every entry with its cause; exit 1 naming the first bad entry."""
    from . import credits

    count, fault = credits.verify()
    if fault is not None:
        where = f"entry {fault.seq}" if fault.seq else "the ledger"
        click.echo(f"Ledger broken at {where}: {fault.reason}.", err=True)
        raise SystemExit(1)
    click.echo(f"Ledger intact: {count} entries.")


#: Where a statement's QR code points when PUBLIC_BASE_URL is not set: the development server.
LOCAL_BASE_URL = "http://127.0.0.1:5000"


@click.command("statements")
@click.option("--month", "month_text", required=True, metavar="YYYY-MM", help="The month, which must have begun.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    help="The folder to write to; made if missing. Files are named like 2026-11_DB001.pdf.",
)
@with_appcontext
def statements_command(month_text, out):
    """Write the month's statement of every household with activity in it, one PDF each.

    Each statement's QR code opens its public verification page under PUBLIC_BASE_URL
    (set it to the site's public address, e.g. https://bangfu.example.cn); without it the
    codes point to http://127.0.0.1:5000, which only works on this machine, and a warning says so.
    """
    from . import statement_pdf
    from .extensions import db
    from .models import Household
    from .monitoring import InvalidMonth, month_start, parse_month
    from .statements import households_with_activity, month_statement
    from .verify import statement_url

    try:
        month = parse_month(month_text)
    except InvalidMonth:
        raise click.BadParameter(f"{month_text!r} is not a month written YYYY-MM.", param_hint="--month") from None
    if month > month_start(business_today()):
        raise click.BadParameter(f"{month_text} has not begun yet.", param_hint="--month")
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if not base:
        click.echo(f"Warning: PUBLIC_BASE_URL is not set; the QR codes point to {LOCAL_BASE_URL}.", err=True)
    out.mkdir(parents=True, exist_ok=True)
    ids = households_with_activity(month)
    # A request context lets the verification links be built as absolute addresses.
    with current_app.test_request_context(base_url=base or LOCAL_BASE_URL):
        with click.progressbar(ids, label=f"Statements {month:%Y-%m}", file=sys.stderr) as bar:
            for household_id in bar:
                statement = month_statement(db.session.get(Household, household_id), month)
                url = statement_url(household_id, month, statement.digest)
                (out / statement_pdf.filename(statement)).write_bytes(statement_pdf.render(statement, url))
                # One household at a time in memory: a county has thousands.
                db.session.expunge_all()
    click.echo(f"Wrote {len(ids)} statements for {month:%Y-%m} to {out}.")


personal_data_group = AppGroup("personal-data", help="Personal data sealed at rest (phone numbers).")


@personal_data_group.command("new-key")
def new_key_command():
    """Print a new key to put first in PERSONAL_DATA_KEYS."""
    click.echo(sealing.Fernet.generate_key().decode())


@personal_data_group.command("rotate")
def rotate_command():
    """Re-seal every phone number under the first of PERSONAL_DATA_KEYS, so the others can be retired."""
    with atomic() as session:
        count = sealing.rotate_all(session.connection())
    click.echo(f"re-sealed {count} values under the first key; the other keys may now be removed")


def register(app: Flask) -> None:
    """Add the commands to `flask --app shop`."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(orders_group)
    app.cli.add_command(ledger_group)
    app.cli.add_command(personal_data_group)
    app.cli.add_command(statements_command)
    # The spreadsheet imports (households, staff) live in their own module.
    from . import import_cli

    import_cli.register(app)
