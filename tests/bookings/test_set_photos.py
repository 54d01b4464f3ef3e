import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from bookings.models import SetPhoto

from ..factories import StudioSetFactory


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 30, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
def test_a_real_image_is_accepted_and_shown_in_the_catalogue(client):
    studio_set = StudioSetFactory(name="Rooftop")
    photo = SetPhoto(
        studio_set=studio_set, image=SimpleUploadedFile("roof.png", png_bytes()), caption="At dusk"
    )
    photo.full_clean()
    photo.save()
    assert photo.image.name.startswith(f"sets/{studio_set.slug}/") and "roof" not in photo.image.name
    for url in ("/sets/", studio_set.get_absolute_url()):
        assert photo.image.url in client.get(url).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("script.png", b"#!/bin/sh\necho not an image\n", "Upload a valid image"),
        ("photo.gif", png_bytes(), "File extension"),
        ("huge.png", png_bytes() + b"\0" * (5 * 1024 * 1024), "at most 5 MB"),
    ],
)
def test_non_images_other_types_and_large_files_are_refused(name, content, message):
    from django import forms

    photo_form = forms.modelform_factory(SetPhoto, fields=["studio_set", "image", "caption"])
    form = photo_form(
        data={"studio_set": StudioSetFactory().pk, "caption": ""},
        files={"image": SimpleUploadedFile(name, content)},
    )
    assert not form.is_valid()
    assert message in " ".join(form.errors["image"])
    assert not SetPhoto.objects.exists()
