"""The household roster import for the counter manager: upload a file, read the preview row by row, confirm.

The file stays on the server between the preview and the confirmation (shop.villages.roster_uploads);
the page carries only a random token. Confirming checks the file again and imports it all or
nothing; confirming the same upload twice does nothing the second time.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from shop.errors import DomainError
from shop.models import Role
from shop.villages import roster, roster_uploads
from shop.web.access import roles_required, signed_in_user
from shop.web.responses import status_of

bp = Blueprint("admin_roster", __name__, url_prefix="/admin/households/import")

manager_only = roles_required(Role.ADMIN)

#: The preview's words for each column, whatever the file calls it.
COLUMN_WORDS = {
    "code": _l("Code"),
    "head_name": _l("Head of household"),
    "town": _l("Town"),
    "village": _l("Village"),
    "members": _l("Members"),
    "category": _l("Category"),
    "monitor_subtype": _l("Monitoring type"),
    "officer": _l("Officer"),
    "phone": _l("Phone"),
}


class RosterForm(FlaskForm):
    """A roster file: CSV or an Excel workbook."""

    roster = FileField(_l("Roster file (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file."))])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the button that imports the previewed file."""


def allow_roster_upload() -> None:
    """Let a roster be larger than the app's 1 MiB body limit, before anything reads the body."""
    if request.endpoint == "admin_roster.upload" and request.method == "POST":
        # The multipart wrapping adds a little to the file itself.
        request.max_content_length = current_app.config["ROSTER_UPLOAD_MAX_BYTES"] + 64 * 1024


def _upload_page(form: RosterForm, status: int = 200):
    limit_mb = current_app.config["ROSTER_UPLOAD_MAX_BYTES"] // (1024 * 1024)
    page = render_template("admin/roster/upload.html", form=form, columns=roster.COLUMNS, limit_mb=limit_mb)
    return page, status


@bp.route("/", methods=["GET", "POST"])
@manager_only
def upload():
    """The upload form; a posted file is kept, checked, and its preview shown."""
    form = RosterForm()
    if request.method == "GET":
        return _upload_page(form)
    if not form.validate():
        return _upload_page(form, 400 if form.csrf_token.errors else 422)
    file = form.roster.data
    try:
        token, meta = roster_uploads.new_upload(file.stream, file.filename or "", signed_in_user())
    except DomainError as error:
        form.roster.errors = [*form.roster.errors, error.message]
        return _upload_page(form, status_of(error))
    if token is None:  # rows refused: shown at once, nothing kept to confirm
        return _preview_page(None, meta, 422)
    return redirect(url_for(".preview", upload=token))


@bp.get("/<upload>")
@manager_only
def preview(upload: str):
    """What the upload would add, update and refuse, row by row; or what it did, once confirmed."""
    try:
        meta = roster_uploads.pending(upload, signed_in_user())
    except DomainError as error:
        return render_template("admin/roster/gone.html", message=error.message), status_of(error)
    return _preview_page(upload, meta)


def _preview_page(token: str | None, meta: dict, status: int = 200):
    page = render_template(
        "admin/roster/preview.html",
        token=token,
        meta=meta,
        report=meta["report"],
        form=ConfirmForm(formdata=None),
        words=COLUMN_WORDS,
        shown=roster_uploads.ROWS_SHOWN,
    )
    return page, status


@bp.post("/<upload>")
@manager_only
def confirm(upload: str):
    """Import the previewed file: checked again, all or nothing, once."""
    form = ConfirmForm()
    if not form.validate():
        return render_template("admin/roster/gone.html", message=_("The form expired. Open the preview again.")), 400
    user = signed_in_user()
    try:
        meta = roster_uploads.confirm(upload, user)
    except DomainError as error:
        try:
            meta = roster_uploads.pending(upload, user)
        except DomainError:
            return render_template("admin/roster/gone.html", message=error.message), status_of(error)
        flash(error.message, "error")
        return _preview_page(upload, meta, status_of(error))
    if meta["state"] == "done":
        report = meta["report"]
        flash(
            _(
                "Imported: %(added)s added, %(updated)s updated, %(unchanged)s unchanged.",
                added=report["added"],
                updated=report["updated"],
                unchanged=report["unchanged"],
            ),
            "info",
        )
        return redirect(url_for(".preview", upload=upload))
    return _preview_page(upload, meta, 422)
