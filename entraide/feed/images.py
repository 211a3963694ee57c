"""Uploaded pictures: checked, stripped of every metadata (EXIF, GPS), resized and re-encoded before storage.

Nothing of the uploaded file is kept but its pixels: the stored file is a fresh JPEG (or PNG when the picture
has transparency or was a PNG), at most 1600 px on its long side (DESIGN.md, privacy rules).
"""
from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from entraide.core.errors import EntraideError

MAX_SIDE = 1600
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
# Only the decoders a phone or a screenshot produces; exotic formats are attack surface, not features.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
JPEG_QUALITY = 85

# Pillow's own guard (a warning above the limit, an error above twice the limit); the explicit check below
# refuses anything above the limit itself, before a single pixel is decoded.
Image.MAX_IMAGE_PIXELS = getattr(settings, "ENTRAIDE_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS)


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str  # "jpg" or "png"
    width: int
    height: int

    def as_file(self) -> ContentFile:
        return ContentFile(self.content, name=f"{uuid.uuid4().hex}.{self.extension}")


def max_bytes() -> int:
    return int(getattr(settings, "ENTRAIDE_MAX_IMAGE_BYTES", DEFAULT_MAX_BYTES))


def max_pixels() -> int:
    return int(getattr(settings, "ENTRAIDE_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS))


def invalid_image() -> EntraideError:
    return EntraideError("invalid_image", _("This file is not a picture we can read (JPEG, PNG, WebP or GIF)."),
                         status=422, fields={"image": [_("Not a readable picture.")]})


def too_large() -> EntraideError:
    return EntraideError("image_too_large", _("This picture is too large."), status=413,
                         fields={"image": [_("Too large.")]})


def _read(uploaded) -> bytes:
    size = getattr(uploaded, "size", None)
    if size is not None and size > max_bytes():
        raise too_large()
    if hasattr(uploaded, "seek"):
        uploaded.seek(0)
    data = uploaded.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise too_large()
    if not data:
        raise invalid_image()
    return data


def clean(uploaded) -> CleanImage:
    """Check and re-encode one uploaded file; raise EntraideError (invalid_image, image_too_large) otherwise."""
    data = _read(uploaded)
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as source:
                # The header alone tells the size: refuse a decompression bomb before decoding it.
                if source.width * source.height > limit or source.width <= 0 or source.height <= 0:
                    raise too_large()
                source_format = source.format
                source.seek(0)  # first frame of an animation
                source.load()
                picture = ImageOps.exif_transpose(source)  # keep the orientation the phone meant, then drop EXIF
                has_alpha = picture.mode in ("RGBA", "LA", "PA") or (
                    picture.mode == "P" and "transparency" in picture.info)
                picture = picture.convert("RGBA" if has_alpha else "RGB")
    except EntraideError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError):
        raise invalid_image()
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Only the pixels travel to the stored file: a fresh image has an empty `info` (no exif, icc, comments).
    pixels = Image.frombytes(picture.mode, picture.size, picture.tobytes())
    out = io.BytesIO()
    if has_alpha or source_format == "PNG":
        pixels.save(out, format="PNG", optimize=True)
        extension = "png"
    else:
        pixels.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        extension = "jpg"
    return CleanImage(out.getvalue(), extension, pixels.width, pixels.height)


def store(row, picture: CleanImage, stored: list[str]) -> None:
    """Write a cleaned picture into the row's `image` field, then the row; the file's name goes into `stored` so
    that a write failing later can take the file back (`remove_files`)."""
    content = picture.as_file()
    row.image.save(content.name, content, save=False)
    stored.append(row.image.name)
    row.save()


def remove_files(model, names: list[str]) -> None:
    """Delete stored pictures of `model` (its `image` field's storage); best effort, on an already failing path."""
    storage = model._meta.get_field("image").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # pragma: no cover
            pass
