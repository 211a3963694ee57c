"""Pictures: metadata stripped, resized, re-encoded; anything else refused before a byte is stored."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from entraide.core.errors import EntraideError
from entraide.feed import actions, images
from entraide.feed.models import PostImage

from .helpers import refused

GPS_IFD = 0x8825


def jpeg_bytes(size=(2400, 1200), *, gps: bool = False, orientation: int | None = None) -> bytes:
    """A real JPEG made by Pillow; with `gps`, EXIF carries the camera, a comment and a GPS position."""
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x0110] = "Phone 12"  # Model
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=exif.tobytes() if (gps or orientation) else b"", quality=80)
    return out.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A one-colour PNG of side×side pixels: small on disk, enormous once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # 1-bit greyscale rows, filter type 0
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_phone_photo_loses_its_exif_and_gps_and_is_resized():
    original = jpeg_bytes((2400, 1200), gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test photo does carry GPS
    cleaned = images.clean(upload(original))
    assert (cleaned.width, cleaned.height) == (1600, 800)
    assert cleaned.extension == "jpg"
    stored = Image.open(io.BytesIO(cleaned.content))
    assert stored.format == "JPEG" and stored.size == (1600, 800)
    assert "exif" not in stored.info and len(stored.getexif()) == 0
    assert b"Exif" not in cleaned.content and b"PhoneMaker" not in cleaned.content


def test_a_small_picture_is_not_enlarged():
    cleaned = images.clean(upload(jpeg_bytes((640, 480))))
    assert (cleaned.width, cleaned.height) == (640, 480)


def test_the_orientation_the_phone_recorded_is_applied_before_exif_is_dropped():
    cleaned = images.clean(upload(jpeg_bytes((400, 200), orientation=6)))  # rotate 90°
    assert (cleaned.width, cleaned.height) == (200, 400)


def test_a_transparent_png_stays_a_png_without_metadata():
    picture = Image.new("RGBA", (3000, 1000), (255, 0, 0, 128))
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret home address")
    picture.save(out, format="PNG", pnginfo=info)
    cleaned = images.clean(upload(out.getvalue(), "pic.png", "image/png"))
    stored = Image.open(io.BytesIO(cleaned.content))
    assert cleaned.extension == "png" and stored.size == (1600, 533) and stored.mode == "RGBA"
    assert b"secret home address" not in cleaned.content


@pytest.mark.parametrize("data", [b"hello, I am a text file\n", b"", b"\xff\xd8\xff\xe0 truncated jpeg",
                                  b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"])
def test_something_that_is_not_a_picture_is_refused(data):
    with pytest.raises(EntraideError) as info:
        images.clean(upload(data, "notes.jpg"))
    assert info.value.code == "invalid_image" and info.value.status == 422


def test_a_truncated_jpeg_is_refused():
    data = jpeg_bytes((800, 600))
    with pytest.raises(EntraideError) as info:
        images.clean(upload(data[: len(data) // 3]))
    assert info.value.code == "invalid_image"


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = png_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(EntraideError) as info:
        images.clean(upload(bomb, "bomb.png", "image/png"))
    assert info.value.code == "image_too_large" and info.value.status == 413


def test_a_picture_over_the_pixel_limit_is_refused(settings):
    settings.ENTRAIDE_MAX_IMAGE_PIXELS = 1000 * 1000
    with pytest.raises(EntraideError) as info:
        images.clean(upload(jpeg_bytes((1200, 1000))))
    assert info.value.code == "image_too_large"


def test_a_file_over_the_size_limit_is_refused(settings):
    data = jpeg_bytes((800, 600))
    settings.ENTRAIDE_MAX_IMAGE_BYTES = len(data) - 1
    with pytest.raises(EntraideError) as info:
        images.clean(upload(data))
    assert info.value.code == "image_too_large" and info.value.status == 413


# --- through the actions ----------------------------------------------------------------------------------------

def test_pictures_of_a_new_post_are_stored_clean_under_media_root(alice, media_root):
    created = actions.do_create_post(alice, category="lost_found", body="Chat trouvé",
                                     images=[upload(jpeg_bytes((2400, 1800), gps=True)), upload(jpeg_bytes((50, 50)))])
    rows = list(PostImage.objects.filter(post=created))
    assert [(r.width, r.height, r.position) for r in rows] == [(1600, 1200, 0), (50, 50, 1)]
    assert all(r.neighbourhood_id == created.neighbourhood_id for r in rows)
    path = media_root / rows[0].image.name
    assert path.is_file() and rows[0].image.name.startswith("posts/") and rows[0].image.name.endswith(".jpg")
    stored = Image.open(path)
    assert len(stored.getexif()) == 0 and "exif" not in stored.info


def test_more_than_four_pictures_are_refused(alice, media_root):
    with refused("too_many_images", 422):
        actions.do_create_post(alice, category="general", body="x", images=[upload(jpeg_bytes((20, 20)))] * 5)
    created = actions.do_create_post(alice, category="general", body="x",
                                     images=[upload(jpeg_bytes((20, 20))) for _ in range(3)])
    actions.do_add_post_image(alice, created.id, upload(jpeg_bytes((20, 20))))
    with refused("too_many_images", 422):
        actions.do_add_post_image(alice, created.id, upload(jpeg_bytes((20, 20))))
    assert PostImage.objects.filter(post=created).count() == 4
    assert list(PostImage.objects.filter(post=created).values_list("position", flat=True)) == [0, 1, 2, 3]
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 4


def test_only_the_author_adds_pictures_to_a_post(alice, bob, media_root):
    created = actions.do_create_post(alice, category="general", body="x")
    with refused("not_author", 403):
        actions.do_add_post_image(bob, created.id, upload(jpeg_bytes((20, 20))))
    assert not PostImage.objects.exists()


def test_deleting_a_post_deletes_its_picture_files(alice, media_root, django_capture_on_commit_callbacks):
    created = actions.do_create_post(alice, category="general", body="x", images=[upload(jpeg_bytes((20, 20)))])
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_delete_post(alice, created.id)
    assert not [p for p in media_root.rglob("*") if p.is_file()]
