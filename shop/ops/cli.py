"""Command-line tools: `flask --app shop seed-demo`, `create-user`, `places import`, `counters add|edit|list`,
`ledger verify|close-month`, `statements`, `backup`, `restore` (`db` comes from Flask-Migrate)."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from shop import sealing
from shop.clock import business_today
from shop.errors import DomainError
from shop.models import Role
from shop.ops import demo
from shop.staff import accounts
from shop.transaction import atomic


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Add the demo counter, towns, households, products and lots (safe to run twice)."""
    added = demo.seed()
    summary = ", ".join(f"{n} {kind}" for kind, n in added.items() if n) or "nothing new"
    click.echo(f"Demo data: added {summary}.")
    if added["users"]:
        accounts = "admin, clerk, officer1-4, heshe, county, inspector"
        click.echo(f"Demo accounts ({accounts}) use the password {demo.DEMO_PASSWORD!r}.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the account may do.")
@click.option("--town", help="A supervisor's or inspector's town; leave out for the whole county.")
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
    from shop.selling import payments

    expired = payments.expire_lapsed()
    click.echo(f"Expired {len(expired)} unpaid orders.")


ledger_group = AppGroup("ledger", help="The household income ledger.")


@ledger_group.command("verify")
@click.option(
    "--checkpoints",
    "outside",
    type=click.File("rb"),
    help="A copy of /ledger/checkpoints.json kept outside the system, to check the ledger against too.",
)
def verify_ledger_command(outside):
    """Walk the hash chain and cross-check every entry with its cause; exit 1 naming the first bad entry.

    Then every signed checkpoint (and each in --checkpoints FILE): its signature, and that the entries
    up to its seq still give its root.
    """
    from shop.ledger import checkpoints, entries

    copy = _checkpoints_file(outside) if outside else None
    count, fault = entries.verify()
    if fault is not None:
        where = f"entry {fault.seq}" if fault.seq else "the ledger"
        click.echo(f"Ledger broken at {where}: {fault.reason}.", err=True)
        raise SystemExit(1)
    checked, faults = checkpoints.verify_checkpoints(copy)
    for broken in faults:
        click.echo(f"Ledger broken at {broken}.", err=True)
    if faults:
        raise SystemExit(1)
    click.echo(f"Ledger intact: {count} entries.")
    click.echo(f"Checkpoints intact: {checked} checked.")


def _checkpoints_file(file) -> list:
    """The checkpoints in an outside copy of checkpoints.json; exit 2 if it cannot be read."""
    import json

    try:
        copy = json.loads(file.read())
    except (ValueError, UnicodeError) as error:
        click.echo(f"Cannot read the checkpoints file: {error}", err=True)
        raise SystemExit(2) from None
    if not isinstance(copy, list):
        click.echo("Cannot read the checkpoints file: it must hold a list of checkpoints.", err=True)
        raise SystemExit(2)
    return copy


@ledger_group.command("checkpoint")
def checkpoint_ledger_command():
    """Sign the ledger's current state as a checkpoint (run it from cron, daily); nothing new, nothing written."""
    from shop.ledger import checkpoints

    try:
        made = checkpoints.take_checkpoint()
    except ValueError as error:  # a signing key that is not one
        click.echo(str(error), err=True)
        raise SystemExit(2) from None
    if made is None:
        click.echo("No new entries since the last checkpoint: nothing written.")
        return
    signed_at = checkpoints.signed_at_text(made.signed_at)
    click.echo(f"Checkpoint {made.seq}: root {made.root}, signed {signed_at} by key {made.key_id}.")


@ledger_group.command("close-month")
@click.argument("month_text", metavar="[YYYY-MM]", required=False)
def close_month_command(month_text):
    """Close every month up to YYYY-MM (last month if left out) for the whole county: run it from cron.

    Each household's month is summed from the ledger once, so year reports read the sums; run again,
    it adds only entries written into closed months since, and nothing when there are none.
    """
    from shop.ledger import closed_months
    from shop.oversight.monitoring import InvalidMonth, add_months, month_start, parse_month

    try:
        month = parse_month(month_text) if month_text is not None else add_months(month_start(business_today()), -1)
    except InvalidMonth:
        raise click.BadParameter(f"{month_text!r} is not a month written YYYY-MM.", param_hint="YYYY-MM") from None
    try:
        closing = closed_months.close_months(month)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if closing is None:
        click.echo(f"Months up to {month:%Y-%m} are closed already: nothing new to sum.")
        return
    click.echo(f"Closed the months up to {closing.month:%Y-%m} through entry {closing.through_seq}.")


@ledger_group.command("prove")
@click.argument("seq", type=click.IntRange(min=1))
def prove_ledger_command(seq):
    """Print an entry's inclusion proof against the latest checkpoint, as JSON for the standalone checker."""
    import json

    from shop.ledger import checkpoints

    proof = checkpoints.prove(seq)
    if proof is None:
        click.echo(f"There is no entry {seq}.", err=True)
        raise SystemExit(1)
    click.echo(json.dumps(proof, indent=2))


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
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=256),
    default=None,
    help="Worker processes rendering in parallel; one per core when not given.",
)
@with_appcontext
def statements_command(month_text, out, workers):
    """Write the month's statement of every household with activity in it, one PDF each.

    Each statement's QR code opens its public verification page under PUBLIC_BASE_URL
    (set it to the site's public address, e.g. https://bangfu.example.cn); without it the
    codes point to http://127.0.0.1:5000, which only works on this machine, and a warning says so.
    Households are rendered in batches by one worker per core (--workers); a statement that fails
    is named at the end, the others are still written, and the command exits with status 1.
    """
    from shop.oversight.monitoring import InvalidMonth, month_start, parse_month
    from shop.oversight.statement_job import write_month
    from shop.oversight.statements import households_with_activity
    from shop.web.urls import public_base_url, statement_links

    try:
        month = parse_month(month_text)
    except InvalidMonth:
        raise click.BadParameter(f"{month_text!r} is not a month written YYYY-MM.", param_hint="--month") from None
    if month > month_start(business_today()):
        raise click.BadParameter(f"{month_text} has not begun yet.", param_hint="--month")
    base = public_base_url()
    if not base:
        click.echo(f"Warning: PUBLIC_BASE_URL is not set; the QR codes point to {LOCAL_BASE_URL}.", err=True)
    out.mkdir(parents=True, exist_ok=True)
    ids = households_with_activity(month)
    total = len(ids)
    # A request context lets the verification links be built as absolute addresses.
    with current_app.test_request_context(base_url=base or LOCAL_BASE_URL):
        with click.progressbar(length=total, label=f"Statements {month:%Y-%m}", file=sys.stderr) as bar:
            outcome = write_month(
                month, out, base or LOCAL_BASE_URL, statement_links, workers, done=bar.update, household_ids=ids
            )
    click.echo(f"Wrote {outcome.written} statements for {month:%Y-%m} to {out}.")
    if outcome.failed:
        for household_id, reason in sorted(outcome.failed):
            click.echo(f"Failed: household {household_id}: {reason}", err=True)
        click.echo(f"{len(outcome.failed)} of {total} statements failed; the others were written.", err=True)
        raise SystemExit(1)


places_group = AppGroup("places", help="The county's towns and villages.")


@places_group.command("import", short_help="Add the new towns and villages of a CSV or XLSX file.")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lingao", is_flag=True, help="Import Lingao County's list, which ships with the software.")
@with_appcontext
def import_places_command(file, lingao):
    """Add the towns and villages of FILE (CSV or XLSX, columns 镇,村 or town,village; town_en and village_en
    optional) that are not yet recorded. All or nothing: a bad row is named and nothing is added."""
    from shop.tables import UnreadableTable, read_table
    from shop.villages import places

    if bool(file) == lingao:
        raise click.UsageError("Give a FILE or --lingao (one of them).")
    source = places.lingao_file() if lingao else file
    try:
        with source.open("rb") as stream:
            table = read_table(stream, source.name, places.PLACE_COLUMNS, places.REQUIRED_COLUMNS)
            added = places.import_places(table.rows)
    except UnreadableTable as error:
        raise click.ClickException(f"{source.name}: {_translated(error)}") from None
    except places.PlacesFileRefused as error:
        for problem in error.problems:
            column = _header_of(table, problem.column)
            click.echo(f"{source.name}: line {problem.line}, column {column}: {problem.message}", err=True)
        if error.total > len(error.problems):
            click.echo(f"... and {error.total - len(error.problems)} more.", err=True)
        raise click.ClickException(error.message) from None
    click.echo(
        f"Towns: {added.towns_added} added, {added.towns_existing} already recorded. "
        f"Villages: {added.villages_added} added, {added.villages_existing} already recorded."
    )


def _translated(error) -> str:
    """An UnreadableTable's message in the app's language."""
    from flask_babel import gettext

    return gettext(error.message, **error.params)


def _header_of(table, column: str) -> str:
    """A canonical column as the file's header spells it."""
    position = table.header.positions.get(column)
    return table.header.found[position] if position is not None else column


counters_group = AppGroup("counters", help="The counters (专柜) goods are received and sold at.")


@counters_group.command("add", short_help="Set up a counter.")
@click.argument("code")
@click.option("--name", required=True, help="The counter's name, as clerks and receipts show it.")
@click.option("--address", default="", help="Where it is (printed on receipts).")
@click.option("--hours", default="", help="Opening hours shown to buyers, such as '每天 8:00-18:00'.")
@click.option("--phone", default="", help="Phone shown to buyers, such as 0898-28281234.")
@with_appcontext
def add_counter_command(code, name, address, hours, phone):
    """Set up a counter with this CODE (letters, digits, '-', '_', '.'; never changes), open."""
    from shop.stock import counters

    try:
        counter = counters.add_counter(code, name, address, hours, phone)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Added counter {counter.code}: {counter.name}.")


@counters_group.command("edit", short_help="Change a counter's name, address, hours or phone.")
@click.argument("code")
@click.option("--name", help="A new name.")
@click.option("--address", help="A new address ('' clears it).")
@click.option("--hours", help="New opening hours ('' clears them).")
@click.option("--phone", help="A new phone ('' clears it).")
@with_appcontext
def edit_counter_command(code, name, address, hours, phone):
    """Change what is given of the counter with this CODE; what is left out stays as it is."""
    from shop.stock import counters

    try:
        counter = counters.counter_by_code(code)
        counters.edit_counter(
            counter.id,
            counter.name if name is None else name,
            counter.address if address is None else address,
            counter.opening_hours if hours is None else hours,
            counter.phone if phone is None else phone,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Saved counter {counter.code}: {counter.name}.")


@counters_group.command("list", short_help="List the counters.")
@with_appcontext
def list_counters_command():
    """Every counter: code, name, address, open or closed, and its active clerks."""
    from shop.stock import counters

    rows = counters.counter_list()
    if not rows:
        click.echo("No counter yet: add one with `flask --app shop counters add CODE --name NAME`.")
    for row in rows:
        c = row.counter
        state = "open" if c.active else "closed"
        click.echo(f"{c.code}\t{c.name}\t{c.address or '-'}\t{state}\t{row.clerks} clerks")


personal_data_group = AppGroup("personal-data", help="Personal data sealed at rest (phone numbers).")


@personal_data_group.command("new-key")
def new_key_command():
    """Print a new key to put first in PERSONAL_DATA_KEYS."""
    click.echo(sealing.Fernet.generate_key().decode())


@personal_data_group.command("rotate")
def rotate_command():
    """Re-seal every phone number under the first of PERSONAL_DATA_KEYS, so the others can be retired."""
    try:
        with atomic() as session:
            count = sealing.rotate_all(session.connection())
    except sealing.SealBroken as error:
        raise click.ClickException(f"{error}; nothing was re-sealed.") from None
    click.echo(f"re-sealed {count} values under the first key; the other keys may now be removed")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file):
    """Write a consistent copy of the database to FILE while the app serves; kept only if its ledger verifies.

    SQLite: the online backup API. PostgreSQL: pg_dump (custom format) of the verified snapshot.
    The file is readable by its owner only. The keys are not in it: back them up apart.
    """
    from shop.ops import backups

    try:
        written = backups.backup(file)
    except backups.BackupFailed as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Wrote {written.path} ({_size(written.size)}): ledger verified, {written.entries} entries.")


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.0f} kB"


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file):
    """Put a backup made by `backup` into this installation, which must hold no data; then verify it.

    An older backup's schema is upgraded. Exits 1 when the ledger does not verify, or when the
    phone numbers do not open with this installation's keys (put back the old installation's key).
    """
    from shop.ops import backups

    try:
        restored = backups.restore(file)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Restored {file} (schema {restored.revision}).")
    if restored.upgraded_to:
        click.echo(f"Upgraded the schema from {restored.revision} to {restored.upgraded_to}.")
    if restored.ledger_fault:
        click.echo(f"Ledger {restored.ledger_fault}.", err=True)
    else:
        click.echo(f"Ledger intact: {restored.entries} entries.")
    if restored.keys_fault:
        click.echo(restored.keys_fault, err=True)
    if restored.ledger_fault or restored.keys_fault:
        raise SystemExit(1)


@click.command("grant-app")
@click.argument("role", required=False)
@with_appcontext
def grant_app_command(role):
    """Give the app's PostgreSQL ROLE (default APP_DATABASE_ROLE) its privileges, connected as the owner.

    SELECT and INSERT only on the ledger, the reviews, the audit trail and every other append-only
    table; SELECT, INSERT, UPDATE, DELETE on the rest. `db upgrade` does the same after every
    migration when APP_DATABASE_ROLE is set. Running it twice changes nothing.
    """
    from shop.ops import database_roles

    role = role or current_app.config.get("APP_DATABASE_ROLE")
    if not role:
        raise click.ClickException("Name the app's role, or set APP_DATABASE_ROLE.")
    try:
        with database_roles.owner_engine() as engine, engine.begin() as connection:
            tables = database_roles.grant(connection, role)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Granted {role} the app's privileges on {len(tables)} tables.")


#: The app's commands that run while the database's phone numbers do not open with the keys: `db` (the
#: migrations), backup and restore never read one, and `personal-data` makes keys (its `rotate` stops at
#: the first value it cannot open).
RUN_WITHOUT_KEYS = frozenset({"db", "backup", "restore", "personal-data"})


class AppCommands(AppGroup):
    """The app's commands; while `keys_fault` says why the phone numbers do not open, most refuse to run."""

    keys_fault: str | None = None

    def get_command(self, ctx, name):
        if self.keys_fault and name not in RUN_WITHOUT_KEYS:
            raise click.ClickException(self.keys_fault)
        return super().get_command(ctx, name)


def defers_key_check() -> bool:
    """Whether the app is being loaded by `flask db …` or to look up one of its own commands.

    Those commands then decide (AppCommands); `flask run`, `shell` and any server refuse to start at once.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    names = set()
    while ctx.parent is not None:
        names.add(ctx.info_name)
        ctx = ctx.parent
    return not names or "db" in names


def register(app: Flask) -> None:
    """Add the commands to `flask --app shop`."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(orders_group)
    app.cli.add_command(ledger_group)
    app.cli.add_command(personal_data_group)
    app.cli.add_command(statements_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(places_group)
    app.cli.add_command(counters_group)
    # Beside `db upgrade`, in Flask-Migrate's group (loaded when a `flask db` command runs).
    from shop.extensions import migrate

    migrate.add_command(grant_app_command)
    # The spreadsheet imports (households, staff) live in their own module.
    from shop.ops import import_cli

    import_cli.register(app)
