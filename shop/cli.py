"""Command-line tools: `flask --app shop seed-demo`, `create-user` (`db` comes from Flask-Migrate)."""

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from . import accounts, demo
from .errors import DomainError
from .models import Role


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


def register(app: Flask) -> None:
    """Add the commands to `flask --app shop`."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(orders_group)
    app.cli.add_command(ledger_group)
