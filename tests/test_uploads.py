"""Uploaded images: size and pixel limits, and re-encoding, for set photos and workshop covers.

Both are uploaded through the admin, which uses the model fields' form field,
so these tests post to the admin as staff do.
"""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bookings.models import SetPhoto, StudioSet
from workshops.models import Workshop

from .auth import login_staff
from .factories import StudioSetFactory, WorkshopFactory

MB = 2**20
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def image_bytes(image_format: str = "PNG", size=(40, 30), mode: str = "RGB", **options) -> bytes:
    buffer = io.BytesIO()
    colour = (180, 30, 40, 255)[: len(mode)] if mode in {"RGB", "RGBA"} else 0
    Image.new(mode, size, colour).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def png_text(text: str) -> PngInfo:
    info = PngInfo()
    info.add_text("Comment", text)
    return info


def padded(data: bytes, total: int) -> bytes:
    """A real image followed by filler up to ``total`` bytes: a large upload that is quick to make."""
    return data + b"\0" * (total - len(data))


def post_photo(client: Client, studio_set: StudioSet, upload: SimpleUploadedFile, caption: str = ""):
    return client.post(
        reverse("admin:bookings_studioset_change", args=[studio_set.pk]),
        {
            "name_en": studio_set.name,
            "slug": studio_set.slug,
            "category": studio_set.category,
            "daily_rate": str(studio_set.daily_rate),
            "changeover_days": "0",
            "vertical_ready": "on",
            "is_active": "on",
            "photos-TOTAL_FORMS": "1",
            "photos-INITIAL_FORMS": "0",
            "photos-MIN_NUM_FORMS": "0",
            "photos-MAX_NUM_FORMS": "1000",
            "photos-0-image": upload,
            "photos-0-caption": caption,
            "photos-0-position": "0",
            "_save": "Save",
        },
    )


def post_cover(client: Client, workshop: Workshop, upload: SimpleUploadedFile):
    return client.post(
        reverse("admin:workshops_workshop_change", args=[workshop.pk]),
        {
            "title_en": workshop.title,
            "slug": workshop.slug,
            "summary_en": workshop.summary,
            "fee": "0",
            "is_published": "on",
            "cover_image": upload,
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
            "sessions-MIN_NUM_FORMS": "0",
            "sessions-MAX_NUM_FORMS": "1000",
            "_save": "Save",
        },
    )


def field_errors(response, formset: bool = False) -> str:
    """The errors shown next to the image field: the inline's for photos, the form's for covers."""
    if formset:
        [inline] = response.context["inline_admin_formsets"]
        return " ".join(inline.formset.forms[0].errors.get("image", []))
    return " ".join(response.context["adminform"].form.errors.get("cover_image", []))


@pytest.fixture
def staff(client, staff_admin):
    return login_staff(client, staff_admin)


# --- Size --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_photo_over_5_mb_is_refused_next_to_the_field_and_nothing_is_saved(staff, media):
    studio_set = StudioSetFactory()
    response = post_photo(staff, studio_set, SimpleUploadedFile("big.png", padded(image_bytes(), 6 * MB)))
    assert response.status_code == 200
    assert field_errors(response, formset=True) == "An image can be at most 5 MB; this one is 6.0 MB."
    assert not SetPhoto.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_cover_over_5_mb_is_refused_next_to_the_field_and_nothing_is_saved(staff, media):
    workshop = WorkshopFactory()
    response = post_cover(staff, workshop, SimpleUploadedFile("big.jpg", padded(image_bytes("JPEG"), 6 * MB)))
    assert response.status_code == 200
    assert field_errors(response) == "An image can be at most 5 MB; this one is 6.0 MB."
    workshop.refresh_from_db()
    assert not workshop.cover_image
    assert stored_files(media) == []


@pytest.mark.django_db
def test_the_image_fields_say_the_limits_before_anything_is_sent(staff):
    workshop = WorkshopFactory()
    page = staff.get(reverse("admin:workshops_workshop_change", args=[workshop.pk])).content.decode()
    assert "JPEG, PNG or WebP, at most 5 MB and 40 megapixels." in page
    page = staff.get(
        reverse("admin:bookings_studioset_change", args=[StudioSetFactory().pk])
    ).content.decode()
    assert "JPEG, PNG or WebP, at most 5 MB and 40 megapixels." in page


@pytest.mark.django_db
def test_a_50_mb_upload_is_refused_with_413_before_it_is_read(staff, media):
    workshop = WorkshopFactory()
    response = post_cover(staff, workshop, SimpleUploadedFile("huge.png", padded(image_bytes(), 50 * MB)))
    assert response.status_code == 413
    page = response.content.decode()
    assert "An image can be at most 5 MB" in page
    workshop.refresh_from_db()
    assert not workshop.cover_image
    assert stored_files(media) == []


@pytest.mark.django_db
def test_the_request_limit_is_a_setting(staff, settings, media):
    settings.UPLOAD_MAX_REQUEST_BYTES = 1 * MB
    settings.IMAGE_UPLOAD_MAX_BYTES = 1 * MB
    studio_set = StudioSetFactory()
    response = post_photo(staff, studio_set, SimpleUploadedFile("big.png", padded(image_bytes(), 2 * MB)))
    assert response.status_code == 413
    assert (
        "An image can be at most 1 MB, and one form can send at most 1 MB in all."
        in response.content.decode()
    )
    assert not SetPhoto.objects.exists()


def test_the_upload_handler_keeps_nothing_of_a_file_past_the_limit():
    big, small = padded(image_bytes(), 6 * MB), image_bytes()
    request = RequestFactory().post(
        "/", {"big": SimpleUploadedFile("big.png", big), "small": SimpleUploadedFile("small.png", small)}
    )
    kept_big, kept_small = request.FILES["big"], request.FILES["small"]
    assert kept_big.name == "big.png"
    assert kept_big.size == len(big)  # the form can say how large it was...
    assert kept_big.read() == b""  # ...but none of it was kept
    assert kept_small.read() == small


# --- Pixels --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "message"),
    [
        # 144 megapixels: under Pillow's own limit, a 17 kB file that decodes to hundreds of MB.
        (
            (12000, 12000),
            "An image can be at most 40 megapixels; this one is 12000 × 12000 pixels.",
        ),
        # Over Pillow's limit, which refuses to even open it.
        ((15000, 15000), "An image can be at most 40 megapixels."),
    ],
    ids=["144-megapixels", "225-megapixels"],
)
def test_an_image_bomb_is_refused_unopened(staff, media, size, message):
    bomb = image_bytes("PNG", size=size, mode="1")
    assert len(bomb) < 50_000
    response = post_photo(staff, StudioSetFactory(), SimpleUploadedFile("bomb.png", bomb))
    assert response.status_code == 200
    assert field_errors(response, formset=True) == message
    assert not SetPhoto.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_the_pixel_limit_is_a_setting(staff, settings):
    settings.IMAGE_UPLOAD_MAX_PIXELS = 1000
    response = post_cover(staff, WorkshopFactory(), SimpleUploadedFile("c.png", image_bytes(size=(40, 30))))
    assert field_errors(response) == "An image can be at most 0.001 megapixels; this one is 40 × 30 pixels."


@pytest.mark.django_db
def test_the_model_refuses_a_bomb_that_skips_the_form(media):
    photo = SetPhoto(
        studio_set=StudioSetFactory(),
        image=SimpleUploadedFile("bomb.png", image_bytes("PNG", size=(12000, 12000), mode="1")),
    )
    with pytest.raises(Exception, match="at most 40 megapixels"):
        photo.full_clean()


# --- Re-encoding -----------------------------------------------------------------------


def _stored(photo_or_workshop) -> bytes:
    field = getattr(photo_or_workshop, "image", None) or photo_or_workshop.cover_image
    with field.open("rb") as f:
        return f.read()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("appended.png", image_bytes("PNG") + HTML),
        ("appended.jpg", image_bytes("JPEG") + HTML),
        ("comment.jpg", image_bytes("JPEG", comment=HTML)),
        ("text-chunk.png", image_bytes("PNG", pnginfo=png_text(HTML.decode()))),
        ("xmp.webp", image_bytes("WEBP", xmp=HTML)),
    ],
    ids=["html-after-png", "html-after-jpeg", "html-in-jpeg-comment", "html-in-png-text", "html-in-webp-xmp"],
)
def test_a_polyglot_is_stored_re_encoded_without_the_html(staff, media, name, content):
    assert b"<script" in content
    response = post_photo(staff, StudioSetFactory(), SimpleUploadedFile(name, content, "text/html"))
    assert response.status_code == 302, field_errors(response, formset=True)
    photo = SetPhoto.objects.get()
    stored = _stored(photo)
    assert stored != content
    assert b"<script" not in stored.lower() and b"<html" not in stored.lower()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (40, 30)
        assert image.format == Image.open(io.BytesIO(content)).format


@pytest.mark.django_db
def test_a_cover_is_re_encoded_too(staff, media):
    workshop = WorkshopFactory()
    content = image_bytes("JPEG") + HTML
    assert post_cover(staff, workshop, SimpleUploadedFile("cover.jpeg", content)).status_code == 302
    workshop.refresh_from_db()
    stored = _stored(workshop)
    assert workshop.cover_image.name.startswith("workshops/cover") and workshop.cover_image.name.endswith(
        ".jpg"
    )
    assert stored != content and b"<script" not in stored


def _jpeg_with_location_turned_sideways() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; rotate 90° clockwise to show
    exif[0x010F] = "PhoneMaker"
    # Hengdian's latitude and longitude.
    exif[0x8825] = {1: "N", 2: (29.0, 9.0, 36.0), 3: "E", 4: (120.0, 18.0, 0.0)}
    return image_bytes("JPEG", size=(40, 30), exif=exif.tobytes())


@pytest.mark.django_db
def test_exif_is_applied_to_the_pixels_and_then_stripped(staff, media):
    content = _jpeg_with_location_turned_sideways()
    with Image.open(io.BytesIO(content)) as original:
        assert original.getexif().get_ifd(0x8825)  # the upload does carry a location
    post_photo(staff, StudioSetFactory(), SimpleUploadedFile("on-set.jpg", content))
    with Image.open(io.BytesIO(_stored(SetPhoto.objects.get()))) as stored:
        assert stored.size == (30, 40)  # turned upright
        assert not stored.getexif()  # no orientation left to apply twice, no location, no camera
        assert "exif" not in stored.info and "comment" not in stored.info


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_a_photo_with_corrupt_exif_is_still_taken(staff, media):
    # Cameras and editing apps write broken EXIF often enough: it must cost nothing but the EXIF.
    corrupt = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06"
    content = image_bytes("JPEG", exif=corrupt)
    response = post_photo(staff, StudioSetFactory(), SimpleUploadedFile("odd.jpg", content))
    assert response.status_code == 302
    with Image.open(io.BytesIO(_stored(SetPhoto.objects.get()))) as stored:
        assert stored.size == (40, 30)
        assert not stored.getexif()


@pytest.mark.django_db
def test_transparency_survives_re_encoding(staff, media):
    content = image_bytes("PNG", mode="RGBA")
    post_photo(staff, StudioSetFactory(), SimpleUploadedFile("logo.png", content))
    with Image.open(io.BytesIO(_stored(SetPhoto.objects.get()))) as stored:
        assert stored.mode == "RGBA"
        assert stored.getpixel((0, 0)) == (180, 30, 40, 255)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("anim.png", image_bytes("GIF"), "Upload a JPEG, PNG or WebP image."),
        ("page.png", HTML, "Upload a valid image."),
        ("cut.jpg", image_bytes("JPEG", size=(400, 300))[:600], "Upload a valid image."),
        ("photo.gif", image_bytes("PNG"), "File extension “gif” is not allowed."),
    ],
    ids=["gif-named-png", "html-named-png", "truncated-jpeg", "png-named-gif"],
)
def test_other_files_are_refused(staff, media, name, content, message):
    response = post_photo(staff, StudioSetFactory(), SimpleUploadedFile(name, content))
    assert response.status_code == 200
    assert message in field_errors(response, formset=True)
    assert not SetPhoto.objects.exists()
    assert stored_files(media) == []
