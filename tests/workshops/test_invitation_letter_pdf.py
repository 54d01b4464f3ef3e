import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pypdf
import pytest
from django.utils import translation

from tests.factories import EnrolmentFactory, StaffFactory
from workshops.letters import invitation_letter_pdf
from workshops.models import InvitationLetter

pytestmark = pytest.mark.django_db

NUMBER = "HDW-2026-000042"


def _render(**enrolment_fields) -> tuple[bytes, str]:
    enrolment = EnrolmentFactory(**enrolment_fields)
    letter = InvitationLetter(enrolment=enrolment, number=NUMBER, issued_by=StaffFactory(), pdf="")
    data = invitation_letter_pdf(letter=letter)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    # Paragraphs wrap wherever the words fall: compare against one line.
    return data, " ".join(text.split())


def test_letter_holds_the_participant_and_workshop_details():
    data, text = _render(
        full_name="Thandiwe Mokoena",
        nationality="ZA",
        passport_number="A12345678",
        session__venue="Qin Palace Training Hall",
        session__workshop__title="Vertical framing for micro-drama",
    )

    assert data.startswith(b"%PDF")
    for expected in (
        "Thandiwe Mokoena",
        NUMBER,
        "A12345678",
        "South Africa",
        "Vertical framing for micro-drama",
        "Qin Palace Training Hall",
    ):
        assert expected in text
    metadata = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert metadata.title == f"Invitation letter {NUMBER}"
    assert metadata.author == "Hengdian World Studios"


def test_dates_are_the_studio_days_in_english():
    # 23:30 in London is already the next day in Hengdian.
    starts_at = datetime(2027, 3, 14, 23, 30, tzinfo=ZoneInfo("Europe/London"))
    _, text = _render(session__starts_at=starts_at, date_of_birth=date(1990, 2, 3))

    assert "from 15 March 2027 to 19 March 2027" in text
    assert "3 February 1990" in text


def test_country_role_and_months_stay_english_whatever_the_active_language():
    with translation.override("zh-hans"):
        _, text = _render(nationality="DE", role="director", date_of_birth=date(1990, 2, 3))

    assert "Germany" in text
    assert "Director" in text
    assert "3 February 1990" in text


@pytest.mark.parametrize("name", ["Анна Петрова", "José Núñez Álvarez"])
def test_latin_and_cyrillic_names_are_extractable(name):
    _, text = _render(full_name=name)

    assert name in text


def test_chinese_name_renders():
    data, text = _render(full_name="王小明")

    assert data.startswith(b"%PDF")
    assert NUMBER in text
    assert "王小明" in text


def test_name_mixing_scripts_keeps_both_parts():
    _, text = _render(full_name="李小龍 Bruce")

    assert "李小龍 Bruce" in text


def test_emoji_and_markup_characters_do_not_break_the_letter():
    data, text = _render(full_name="Zoë <b>&</b> 🎬")

    assert data.startswith(b"%PDF")
    # Escaped, not taken as markup: the characters appear as typed.
    assert "Zoë <b>&</b>" in text
    assert NUMBER in text
