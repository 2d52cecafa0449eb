"""Product photos: judged by their bytes, kept as a re-encoded JPEG without metadata."""

import io

import pytest
from PIL import Image

from shop.catalog import product_images as pi

LIMIT = 8 * 1024 * 1024


def encoded(picture: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    picture.save(out, kind, **options)
    return out.getvalue()


def photo(width=1600, height=1200, mode="RGB", colour=(200, 120, 60)) -> Image.Image:
    return Image.new(mode, (width, height), colour)


def stored(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_photos_are_kept_as_a_jpeg_at_most_800_pixels_a_side(kind):
    result = pi.normalise(encoded(photo(), kind), LIMIT)
    kept = stored(result.data)
    assert kept.format == "JPEG"
    assert kept.size == (800, 600)
    assert pi.STORED_NAME.fullmatch(result.name)


def test_a_small_photo_is_not_enlarged():
    kept = stored(pi.normalise(encoded(photo(320, 240), "PNG"), LIMIT).data)
    assert kept.size == (320, 240)


def test_the_same_photo_gets_the_same_name_and_another_photo_another():
    first = pi.normalise(encoded(photo(), "PNG"), LIMIT)
    again = pi.normalise(encoded(photo(), "PNG"), LIMIT)
    other = pi.normalise(encoded(photo(colour=(10, 200, 10)), "PNG"), LIMIT)
    assert first.name == again.name != other.name


def test_the_location_and_camera_data_of_a_phone_photo_are_dropped():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (19.0, 54.0, 36.0), 3: "E", 4: (109.0, 41.0, 24.0)}  # GPS: Lingao
    upload = encoded(photo(), "JPEG", exif=exif.tobytes())
    assert stored(upload).getexif()  # the upload does carry it
    kept = stored(pi.normalise(upload, LIMIT).data)
    assert not kept.getexif()
    assert b"PhoneMaker" not in pi.normalise(upload, LIMIT).data


def test_a_photo_taken_sideways_is_stored_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; show it rotated 90° clockwise
    upload = encoded(photo(1600, 1200), "JPEG", exif=exif.tobytes())
    assert stored(pi.normalise(upload, LIMIT).data).size == (600, 800)


def test_transparency_is_laid_on_white():
    clear = photo(100, 100, mode="RGBA", colour=(0, 0, 0, 0))
    kept = stored(pi.normalise(encoded(clear, "PNG"), LIMIT).data)
    assert all(channel > 245 for channel in kept.getpixel((50, 50)))


@pytest.mark.parametrize(
    "upload",
    [
        b"",
        b"<script>alert(1)</script>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"GIF89a" + b"\x00" * 100,
        b"%PDF-1.7\n",
        b"MZ\x90\x00" + b"\x00" * 60,  # a Windows program named photo.jpg
        b"\xff\xd8\xff" + b"<?php system($_GET['c']); ?>",  # a JPEG's first bytes, then no picture
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    ],
    ids=["empty", "html", "svg", "gif", "pdf", "exe", "jpeg-head-php", "png-head-only", "webp-head-only"],
)
def test_anything_but_a_decodable_jpeg_png_or_webp_is_not_a_picture(upload):
    with pytest.raises(pi.NotAPicture):
        pi.normalise(upload, LIMIT)


def test_a_truncated_photo_is_refused():
    whole = encoded(photo(), "JPEG")
    with pytest.raises(pi.NotAPicture):
        pi.normalise(whole[: len(whole) // 2], LIMIT)


def test_a_picture_is_judged_by_its_bytes_not_what_they_begin_like_in_another_format():
    # PNG pixels behind a JPEG's first bytes: decoded as the JPEG they claim to be, they are not one.
    with pytest.raises(pi.NotAPicture):
        pi.normalise(b"\xff\xd8\xff" + encoded(photo(), "PNG"), LIMIT)


def test_an_upload_over_the_size_limit_is_refused_before_it_is_decoded():
    upload = encoded(photo(), "PNG")
    with pytest.raises(pi.PictureTooLarge):
        pi.normalise(upload, len(upload) - 1)
    assert pi.normalise(upload, len(upload)).name


def test_a_decompression_bomb_is_refused():
    # A few kilobytes that would decode to 400 million pixels.
    bomb = encoded(Image.new("1", (20_000, 20_000)), "PNG")
    assert len(bomb) < 200_000
    with pytest.raises(pi.PictureTooLarge):
        pi.normalise(bomb, LIMIT)


def test_the_pixel_cap_is_what_an_800_pixel_photo_needs():
    assert pi.MAX_PIXELS == 24_000_000
    assert pi.normalise(encoded(photo(6000, 4000), "JPEG"), LIMIT).name  # 24 Mpx: a good camera's photo


def test_the_dimensions_are_judged_from_the_header_before_any_pixel_is_decoded():
    # The PNG's header (6000 × 5000 declared) and four bytes of its pixels: refused for its size, not as damaged.
    whole = encoded(Image.new("1", (6000, 5000)), "PNG")
    header = whole[: whole.index(b"IDAT") + 8]
    with pytest.raises(pi.PictureTooLarge, match="6000"):
        pi.normalise(header, LIMIT)


@pytest.mark.parametrize(
    ("name", "uploaded"),
    [
        ("a" * 64 + ".jpg", True),
        ("img/products/dried-shrimp.svg", False),
        (None, False),
        ("", False),
        ("../" + "a" * 61 + ".jpg", False),
        ("A" * 64 + ".jpg", False),
        ("a" * 64 + ".jpg\n", False),
        ("a" * 64 + ".svg", False),
    ],
)
def test_only_the_names_the_app_writes_count_as_uploaded_pictures(name, uploaded):
    assert pi.is_stored_name(name) is uploaded
