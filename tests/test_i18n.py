from pathlib import Path

import polib
import pytest
from django.urls import reverse

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "横店影视城场地预订"),
        ("es", "Reservas de Estudios Hengdian"),
        ("en", "Hengdian Studio Booking"),
    ],
)
def test_language_switcher_changes_the_interface(client, language, expected):
    response = client.post(reverse("set_language"), {"language": language, "next": "/"})
    assert response.status_code == 302

    page = client.get("/").content.decode()
    assert expected in page
    assert f'<html lang="{language}">' in page


@pytest.mark.django_db
def test_browser_language_is_used_without_a_choice(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9").content.decode()
    assert "Reservas de Estudios Hengdian" in page


@pytest.mark.parametrize("language", ["zh_Hans", "es"])
def test_catalog_is_complete_and_compiled(language):
    po_path = LOCALE / language / "LC_MESSAGES" / "django.po"
    catalog = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists()
    compiled = {e.msgid for e in polib.mofile(str(mo_path))}
    assert {e.msgid for e in catalog.translated_entries()} <= compiled, "run `make messages`"
