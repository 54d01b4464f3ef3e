"""Uploaded images (set photos, workshop covers): checked, then re-encoded by Pillow.

What is stored, and later served from ``MEDIA_ROOT``, is never the uploaded
file but a fresh JPEG, PNG or WebP encoded from its pixels. Whatever else the
upload carried goes: bytes after the image data (an image/HTML polyglot),
comments and text chunks, EXIF (GPS positions, camera serial numbers), XMP.
The orientation EXIF asked for is applied to the pixels first, and an
embedded colour profile is converted to sRGB, so the picture looks the same.

Limits are checked before anything is decoded: the size of the upload (the
upload handler in ``hengdian.uploads`` has already stopped keeping it past
``IMAGE_UPLOAD_MAX_BYTES``) and the pixel count from the image header
(``IMAGE_UPLOAD_MAX_PIXELS``), so a small file that decodes to gigabytes is
refused unopened.
"""

import io
import warnings
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps

EXTENSIONS = ["jpg", "jpeg", "png", "webp"]
# Pillow format → extension, content type and how it is written again.
FORMATS = {
    "JPEG": ("jpg", "image/jpeg", {"quality": 85, "optimize": True, "progressive": True}),
    "PNG": ("png", "image/png", {"compress_level": 6}),
    "WEBP": ("webp", "image/webp", {"quality": 85, "method": 4}),
}
# Modes each format can be written in as they are; anything else is converted.
WRITABLE_MODES = {
    "JPEG": {"L", "RGB"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA"},
    "WEBP": {"RGB", "RGBA"},
}
validate_image_extension = FileExtensionValidator(EXTENSIONS)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}"


def max_upload_megabytes() -> str:
    return f"{settings.IMAGE_UPLOAD_MAX_BYTES / 2**20:g}"


def max_megapixels() -> str:
    return f"{settings.IMAGE_UPLOAD_MAX_PIXELS / 1_000_000:g}"


def check_upload_size(size: int) -> None:
    """The byte limit, said with the upload's real size (known even when it was not kept)."""
    if size > settings.IMAGE_UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("An image can be at most %(max)s MB; this one is %(size)s MB."),
            code="too_large",
            params={"max": max_upload_megabytes(), "size": _megabytes(size)},
        )


class ImageRefused(ValueError):
    """The upload is an image, but not one we keep; the message is for the user."""


def _open(file) -> Image.Image:
    """Read the header only: the format and the dimensions, nothing decoded yet."""
    file.seek(0)
    with warnings.catch_warnings():
        # Pillow warns above its own limit; ours is lower and refuses such images below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(file)
        except Image.DecompressionBombError as exc:
            raise ImageRefused(_too_many_pixels()) from exc


def _too_many_pixels(width: int | None = None, height: int | None = None) -> str:
    if width is None:
        return _("An image can be at most %(max)s megapixels.") % {"max": max_megapixels()}
    return _("An image can be at most %(max)s megapixels; this one is %(width)d × %(height)d pixels.") % {
        "max": max_megapixels(),
        "width": width,
        "height": height,
    }


def _to_srgb(image: Image.Image) -> Image.Image:
    """Pixels in sRGB, so dropping the embedded profile does not change the colours."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in {"RGB", "RGBA", "CMYK"}:
        return image
    try:
        return ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if image.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are


def reencode_image(file, *, name: str) -> SimpleUploadedFile:
    """A new file holding only ``file``'s pixels, in the format it came in.

    Raises ``ImageRefused`` for an image over the pixel limit or in another
    format, and Pillow's own errors for anything that is not a readable image.
    """
    image = _open(file)
    if image.format not in FORMATS:
        raise ImageRefused(_("Upload a JPEG, PNG or WebP image."))
    width, height = image.size
    if width * height > settings.IMAGE_UPLOAD_MAX_PIXELS:
        raise ImageRefused(_too_many_pixels(width, height))
    image_format = image.format
    extension, content_type, options = FORMATS[image_format]
    image.load()  # decodes; a truncated or corrupt file fails here
    transparency = image.info.get("transparency")
    image = _to_srgb(ImageOps.exif_transpose(image))
    if image.mode not in WRITABLE_MODES[image_format]:
        has_alpha = "A" in image.getbands() or transparency is not None
        image = image.convert("RGBA" if has_alpha and image_format != "JPEG" else "RGB")
        transparency = None
    # Nothing of the original's metadata is written again (Pillow would carry
    # comments and colour profiles over from ``info``), only PNG transparency,
    # which is part of the picture.
    image.info = (
        {"transparency": transparency} if transparency is not None and image.mode in {"P", "L", "RGB"} else {}
    )
    output = io.BytesIO()
    image.save(output, format=image_format, **options)
    stem = PurePath(name).stem or "image"
    return SimpleUploadedFile(f"{stem}.{extension}", output.getvalue(), content_type=content_type)


def validate_image_upload(file) -> None:
    """The limits, for a new upload that reaches the model without the form field
    (already-stored files are not reopened on every save)."""
    if getattr(file, "_committed", True):
        return
    check_upload_size(file.size)
    try:
        width, height = _open(file).size
    except ImageRefused as exc:
        raise ValidationError(str(exc), code="too_many_pixels") from exc
    except Exception:
        return  # not an image at all: the form field, or Pillow on saving, says so
    if width * height > settings.IMAGE_UPLOAD_MAX_PIXELS:
        raise ValidationError(_too_many_pixels(width, height), code="too_many_pixels")


class ReencodedImageFormField(forms.ImageField):
    """An image upload that is checked against the limits and stored re-encoded."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget", forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        )
        super().__init__(**kwargs)
        if not self.help_text:
            self.help_text = _("JPEG, PNG or WebP, at most %(max)s MB and %(pixels)s megapixels.") % {
                "max": max_upload_megabytes(),
                "pixels": max_megapixels(),
            }

    def to_python(self, data):
        upload = forms.FileField.to_python(self, data)  # the name, emptiness and the like
        if upload is None:
            return None
        # First, before anything is opened: an upload over the limit was not even
        # kept past it by the upload handler.
        check_upload_size(upload.size)
        validate_image_extension(upload)
        try:
            return reencode_image(upload, name=upload.name)
        except ImageRefused as exc:
            raise ValidationError(str(exc), code="refused") from exc
        except Exception as exc:  # whatever Pillow raises for a file that is not a readable image
            raise ValidationError(self.error_messages["invalid_image"], code="invalid_image") from exc


class ReencodedImageField(models.ImageField):
    """An ImageField whose form field re-encodes what is uploaded, in every form (the admin's too)."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": ReencodedImageFormField, **kwargs})
