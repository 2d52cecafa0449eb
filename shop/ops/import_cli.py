"""Imports from the county's spreadsheets: `flask --app shop households import FILE` and `users import FILE`."""

import os
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from shop.errors import DomainError
from shop.models import Household
from shop.staff import staff_import
from shop.villages import roster

households_group = AppGroup("households", help="Households listed at the counter.")
users_group = AppGroup("users", help="Staff accounts.")


def _refusals(refused: list, header) -> None:
    """Every bad row, by line, column and reason, on stderr."""
    for r in sorted(refused, key=lambda r: r.line):
        click.echo(f"line {r.line}, {header(r.column)}: {r.reason}", err=True)


@households_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what it would do, writing nothing.")
def import_households_command(file: Path, dry_run: bool):
    """List new households and update known ones (by 户编号) from a roster in CSV or XLSX, all or nothing.

    Columns (Chinese or English headers): 户编号 code, 户主姓名 head_name, 乡镇 town, 村 village,
    家庭人口 members, 户类别 category, 监测类型 monitor_subtype (optional), 帮扶责任人 officer
    (a username), 联系电话 phone (optional). Importing the same file again changes nothing.
    """
    size = max(file.stat().st_size, 1)
    with file.open("rb") as source, click.progressbar(length=size, label=file.name, file=sys.stderr) as bar:

        def progress(_rows: int) -> None:
            # The reader may have closed the file once it read the last row.
            bar.update((size if source.closed else min(source.tell(), size)) - bar.pos)

        try:
            if dry_run:
                report = roster.check_roster(source, file.name, keep=0, progress=progress)
            else:
                report = roster.import_roster(source, file.name, by=None, keep=0, progress=progress)
        except roster.RosterRefused as refused:
            report = refused.report
        except DomainError as error:  # unreadable, or raced by another import
            raise click.ClickException(error.message) from None
    if report.refused:
        _refusals(report.refused, report.header)
        rows = len({r.line for r in report.refused})
        click.echo(
            f"{rows} rows of {file.name} are wrong ({len(report.refused)} problems): nothing imported.", err=True
        )
        raise SystemExit(1)
    counts = (report.added, report.updated, report.unchanged)
    if dry_run:
        click.echo("Would add {}, update {} and leave {} unchanged households.".format(*counts))
    else:
        click.echo("Added {}, updated {}, unchanged {} households.".format(*counts))
    if report.new_villages:
        shown = ", ".join(f"{town} {village}" for town, village in report.new_villages)
        click.echo(f"New villages {'to add' if dry_run else 'added'}: {shown}.")
    if dry_run:
        click.echo("Dry run: nothing was written.")


def _passwords_path(out: Path | None) -> Path:
    return out or Path(current_app.instance_path) / f"passwords-{datetime.now():%Y%m%d-%H%M%S}.csv"


def _open_private(path: Path):
    """A new file only its owner may read; an existing file is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists already; name another file with --passwords.") from None
    return os.fdopen(fd, "w", encoding="utf-8-sig", newline="")


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--passwords",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the new accounts' one-time passwords go (default instance/passwords-YYYYMMDD-HHMMSS.csv).",
)
def import_users_command(file: Path, out: Path | None):
    """Add staff accounts from a CSV or XLSX file, all or nothing; usernames that exist are left as they are.

    Columns: 用户名 username, 姓名 name, 角色 role, 乡镇 town, 专柜 counter, 帮扶户 households
    (codes separated by commas or 、). Each new account gets a one-time password, written only to
    the passwords file (readable by its owner alone), and must choose its own at first sign-in.
    """
    path = _passwords_path(out)
    written = False
    with _open_private(path) as passwords:
        try:
            with file.open("rb") as source:
                report = staff_import.import_staff(source, file.name, deliver=lambda rows: _deliver(passwords, rows))
            written = True
        except staff_import.StaffRefused as refused:
            _refusals(refused.report.refused, refused.report.header)
            click.echo(f"{file.name} has wrong rows: no account was added.", err=True)
        except DomainError as error:
            click.echo(f"Error: {error.message}", err=True)
        finally:
            if not written:
                path.unlink(missing_ok=True)
    if not written:
        raise SystemExit(1)
    click.echo(
        f"Added {len(report.added)} accounts; {len(report.skipped)} usernames exist already and were left as they are."
    )
    if report.skipped:
        click.echo("Left as they are: " + ", ".join(report.skipped[:50]) + (" …" if len(report.skipped) > 50 else ""))
    if report.added:
        click.echo(
            f"One-time passwords for the new accounts: {path} (readable only by you; hand them out, then delete it)."
        )
    else:
        path.unlink(missing_ok=True)


def _deliver(passwords, rows: list[tuple[str, str, str]]) -> None:
    """Write the new accounts' passwords before their accounts are committed: no account without its password."""
    import csv

    writer = csv.writer(passwords)
    writer.writerow(["username", "name", "one_time_password"])
    writer.writerows(rows)
    passwords.flush()
    os.fsync(passwords.fileno())


def register(app) -> None:
    """Add the import commands to `flask --app shop`."""
    app.cli.add_command(households_group)
    app.cli.add_command(users_group)


@households_group.command("issue-links")
@click.option("--by", "username", required=True, help="The counter manager's username the links are issued under.")
@click.option("--town", default="", help="Only the households of this town (its Chinese name).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write code,url (a new file).")
def issue_links_command(username: str, town: str, out: Path | None):
    """Give every household without a link to its own page a new one (never replacing a live link).

    The addresses are written to a new file only its owner can read (default: instance/links-….csv),
    for printing the cards; the terminal shows only how many were issued. Addresses use PUBLIC_BASE_URL.
    """
    import csv

    import sqlalchemy as sa

    from shop.extensions import db
    from shop.models import Role, Town, User
    from shop.oversight import household_pages
    from shop.web.urls import household_page_url, public_base_url

    by = db.session.scalar(sa.select(User).where(User.username == username.strip().lower(), User.active))
    if by is None or by.role is not Role.ADMIN:
        raise click.ClickException(f"{username!r} is not an active counter manager's account.")
    town_id = None
    if town:
        town_id = db.session.scalar(sa.select(Town.id).where(Town.name_zh == town.strip()))
        if town_id is None:
            raise click.ClickException(f"No town is called {town!r}.")
    base = public_base_url()
    if not base:
        click.echo("Warning: PUBLIC_BASE_URL is not set; the links point to http://127.0.0.1:5000.", err=True)
    ids = household_pages.households_without_link(town_id)
    path = out or Path(current_app.instance_path) / f"links-{datetime.now():%Y%m%d-%H%M%S}.csv"
    with _open_private(path) as links, current_app.test_request_context(base_url=base or "http://127.0.0.1:5000"):
        writer = csv.writer(links)
        writer.writerow(["code", "url"])
        for household_id in ids:
            code = db.session.scalar(sa.select(Household.code).where(Household.id == household_id))
            token = household_pages.issue_link(household_id, by=by)
            writer.writerow([code, household_page_url(token)])
    click.echo(f"Issued {len(ids)} links; the addresses are in {path} (readable only by you; delete it once printed).")
