"""Product pictures: what an upload must be, what is kept of it, and where it is stored.

An upload is judged by its bytes, never by its name or the type the browser claims: it must
start like a JPEG, PNG or WebP file, be no bigger than PRODUCT_IMAGE_MAX_BYTES, and decode as
a picture of sane dimensions. What is kept is not the upload but a JPEG the app encodes from
its pixels: upright, at most MAX_SIDE pixels a side, and without its metadata, because a phone
photo's EXIF can carry the GPS position of the household's home. The stored file is named by
the hash of its content, so a name never comes from the client and cannot walk out of the folder.

Pillow is imported by the functions that decode and encode (see docs/architecture.md, "Heavy libraries
load when first used"): most workers never receive an upload, and it costs each one about 2 MiB.
"""

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import gettext as _

from shop.errors import Invalid

if TYPE_CHECKING:
    from PIL import Image

#: The longest side of a stored picture: sharp on a tablet's catalog card, light on a weak network.
MAX_SIDE = 800
JPEG_QUALITY = 80
#: The most pixels an upload may declare: a 24 Mpx phone or camera photo is more than an 800 px
#: picture needs. Each million pixels costs a worker several MiB while it is decoded and shrunk (50 Mpx
#: took one to 500-900 MiB), so the header's dimensions are checked before a pixel is decoded.
MAX_PIXELS = 24_000_000
#: The file names the app writes, and the only ones it serves.
STORED_NAME = re.compile(r"[0-9a-f]{64}\.jpg")

#: How each accepted format begins (the WebP signature is checked in two parts around its length).
_SIGNATURES = {"JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",)}


class NotAPicture(Invalid):
    """The upload is not a JPEG, PNG or WebP picture that decodes."""


class PictureTooLarge(Invalid):
    """The upload is over the size limit, or its pixels are."""


@dataclass(frozen=True)
class StoredPicture:
    """A picture as the app keeps it: its JPEG bytes and the name they are stored under."""

    name: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The format the bytes begin like ("JPEG", "PNG", "WEBP"), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((kind for kind, heads in _SIGNATURES.items() if data.startswith(heads)), None)


def normalise(data: bytes, max_bytes: int) -> StoredPicture:
    """Check an upload by its content and re-encode it as the JPEG the app stores."""
    from PIL import ImageOps

    if len(data) > max_bytes:
        raise PictureTooLarge(_("The picture is over %(mb)s MB.", mb=max_bytes // (1024 * 1024)), "image")
    kind = sniff(data)
    if kind is None:
        raise NotAPicture(_("Upload a photo in JPEG, PNG or WebP format."), "image")
    picture = _decoded(data, kind)
    picture = ImageOps.exif_transpose(picture)
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    _flattened(picture).save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    jpeg = out.getvalue()
    return StoredPicture(hashlib.sha256(jpeg).hexdigest() + ".jpg", jpeg)


def _decoded(data: bytes, kind: str) -> "Image.Image":
    """The upload's pixels, decoded in full, as the format its first bytes claim."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=[kind])  # reads the header only
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise PictureTooLarge(too_many_pixels(width, height), "image")
            if kind == "JPEG":
                picture.draft(None, (MAX_SIDE, MAX_SIDE))  # decode at a fraction of the size where JPEG allows
            picture.load()  # a truncated or corrupt file fails here, not later when it is served
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PictureTooLarge(_("The picture has too many pixels; take it at a lower resolution."), "image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise NotAPicture(_("The file is damaged or is not a picture."), "image") from None
    return picture


def too_many_pixels(width: int, height: int) -> str:
    """Why a picture of these dimensions is refused, and what to do instead."""
    return _(
        "The picture is %(width)s × %(height)s pixels, more than %(mp)s million: "
        "take it at a lower resolution or shrink it first.",
        width=width,
        height=height,
        mp=MAX_PIXELS // 1_000_000,
    )


def _flattened(picture: "Image.Image") -> "Image.Image":
    """The picture in RGB, any transparency laid on white as a printed label would be."""
    from PIL import Image

    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        white = Image.new("RGB", rgba.size, "white")
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return picture.convert("RGB")


def folder() -> Path:
    """Where product pictures are kept: PRODUCT_IMAGES_FOLDER, or product-images in the instance folder."""
    configured = current_app.config.get("PRODUCT_IMAGES_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "product-images"


def store(picture: StoredPicture) -> None:
    """Write the picture once, whole: a reader never sees half a file, and the same content is not written twice."""
    target_folder = folder()
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / picture.name
    if target.exists():
        return
    handle, temporary = tempfile.mkstemp(dir=target_folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(picture.data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def is_stored_name(name: str | None) -> bool:
    """Whether a product's `image` names an uploaded picture (else it is a path under static/)."""
    return bool(name) and STORED_NAME.fullmatch(name) is not None
