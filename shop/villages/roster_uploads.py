"""A roster uploaded by the manager, kept on the server between its preview and the confirmation.

The client never holds the rows: it holds a random token naming a file under the instance
folder (roster-uploads/<token>.upload) and its preview (<token>.json, with the file's SHA-256).
Confirming re-reads and re-checks that same file (its hash checked first), imports it, and
deletes it; the preview then records the result, so a second confirmation changes nothing.
Uploads left unconfirmed are deleted after UPLOAD_TTL.
"""

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _

from shop.errors import Conflict, NotFound
from shop.models import User
from shop.villages import roster

#: How long an unconfirmed upload is kept.
UPLOAD_TTL = 24 * 3600
#: A token as `new_upload` makes them; anything else names nothing.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
#: The preview lists at most this many rows of each kind; the counts cover them all.
ROWS_SHOWN = 150
_CHUNK = 64 * 1024


class UploadGone(NotFound):
    """No upload has this token (never made, someone else's, or expired)."""


class AlreadyImported(Conflict):
    """This upload was confirmed already (or is being confirmed): nothing more to do."""


class NothingToImport(Conflict):
    """The upload's rows were refused: there is nothing to confirm."""


def _folder() -> Path:
    folder = Path(current_app.config["ROSTER_UPLOADS_FOLDER"] or Path(current_app.instance_path) / "roster-uploads")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _paths(token: str) -> tuple[Path, Path]:
    if not TOKEN.fullmatch(token or ""):
        raise UploadGone(_("This upload does not exist or has expired. Upload the file again."))
    folder = _folder()
    return folder / f"{token}.upload", folder / f"{token}.json"


def _write_json(path: Path, data: dict) -> None:
    """Replace the preview in one step, so a reader never sees half of it."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def _forget_old() -> None:
    """Delete uploads and previews older than UPLOAD_TTL."""
    cutoff = time.time() - UPLOAD_TTL
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker deleted it first
            pass


def _summary(report: roster.RosterReport) -> dict:
    """A report as the preview keeps it: counts in full, the lists cut to ROWS_SHOWN."""
    refused = sorted(report.refused, key=lambda r: r.line)
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "new_villages": report.new_villages[:ROWS_SHOWN],
        "new_village_count": len(report.new_villages),
        "refused_rows": len({r.line for r in refused}),
        "refused_count": len(refused),
        "refused": [
            {"line": r.line, "column": report.header(r.column), "reason": r.reason} for r in refused[:ROWS_SHOWN]
        ],
        "added_rows": [asdict(s) for s in report.added_rows],
        "updated_rows": [asdict(s) for s in report.updated_rows],
        "headers": report.headers,
    }


def _unreadable(message: str) -> dict:
    return {
        "added": 0,
        "updated": 0,
        "unchanged": 0,
        "new_villages": [],
        "new_village_count": 0,
        "refused_rows": 0,
        "refused_count": 0,
        "refused": [],
        "added_rows": [],
        "updated_rows": [],
        "headers": {},
        "unreadable": message,
    }


def new_upload(stream: BinaryIO, filename: str, by: User) -> tuple[str | None, dict]:
    """Keep an uploaded roster, check it and store what it would do: its token and preview.

    A roster with refused rows is not kept (there is nothing to confirm): its token is None.
    An unreadable file raises RosterUnreadable and is not kept either.
    """
    _forget_old()
    token = secrets.token_urlsafe(24)
    upload, preview = _paths(token)
    digest = hashlib.sha256()
    with open(upload, "xb") as out:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    name = "".join(c for c in (filename or "") if c.isprintable())[-100:] or "roster.csv"
    try:
        with open(upload, "rb") as source:
            report = roster.check_roster(source, name, keep=ROWS_SHOWN)
    except roster.RosterUnreadable:
        upload.unlink(missing_ok=True)
        raise
    state = "refused" if report.refused else "preview"
    meta = {"by": by.id, "filename": name, "sha256": digest.hexdigest(), "state": state, "report": _summary(report)}
    if report.refused:
        upload.unlink(missing_ok=True)
        return None, meta
    _write_json(preview, meta)
    return token, meta


def pending(token: str, by: User) -> dict:
    """An upload's preview (or its result, once confirmed), as stored; only its uploader sees it."""
    _upload, preview = _paths(token)
    try:
        meta = json.loads(preview.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        raise UploadGone(_("This upload does not exist or has expired. Upload the file again.")) from None
    if meta.get("by") != by.id:
        raise UploadGone(_("This upload does not exist or has expired. Upload the file again."))
    return meta


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def confirm(token: str, by: User) -> dict:
    """Import the kept file after checking it again; the stored result. A second confirmation changes nothing."""
    meta = pending(token, by)
    if meta["state"] == "done":
        raise AlreadyImported(_("This file was imported already."))
    if meta["state"] != "preview":
        raise NothingToImport(_("This file has rows that were refused: correct them and upload it again."))
    upload, preview = _paths(token)
    claimed = upload.with_suffix(".importing")
    try:
        # Renaming is atomic: of two confirmations at once, one gets the file and the other nothing.
        os.rename(upload, claimed)
    except FileNotFoundError:
        raise AlreadyImported(_("This file is being imported already.")) from None
    try:
        if _sha256(claimed) != meta["sha256"]:
            meta.update(
                state="refused", report=_unreadable(_("The kept file changed since its preview. Upload it again."))
            )
        else:
            with open(claimed, "rb") as source:
                report = roster.import_roster(source, meta["filename"], by=by, keep=ROWS_SHOWN)
            meta.update(state="done", report=_summary(report))
    except roster.RosterRefused as refused:
        # Something changed since the preview (an officer deactivated, say): show why, import nothing.
        meta.update(state="refused", report=_summary(refused.report))
    except roster.RosterUnreadable as error:
        meta.update(state="refused", report=_unreadable(error.message))
    except roster.RosterRaced:
        os.rename(claimed, upload)  # nothing was written: the manager may confirm again
        raise
    finally:
        claimed.unlink(missing_ok=True)
    _write_json(preview, meta)
    return meta
