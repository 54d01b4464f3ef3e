"""Names are one line of text: no line breaks, control characters or direction overrides.

A line break in a crew's company name made the crew's calendar feed answer 500
for ever; names are now refused at the form and the model (so in the admin
too), and the calendar files cope with values saved before that.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from bookings import services
from bookings.forms import MemberAddForm, SignupForm
from bookings.models import Crew, Equipment, SetPhoto, StudioSet, User
from bookings.validators import one_line, validate_single_line
from workshops.forms import EnrolmentForm
from workshops.models import Enrolment, Session, Workshop

from .auth import login_staff
from .bookings.test_booking_request import days_from_now
from .factories import (
    CrewOwnerFactory,
    EnrolmentFactory,
    EquipmentFactory,
    SessionFactory,
    StudioSetFactory,
)

REFUSED = {
    "line feed": "Red\nLantern",
    "carriage return": "Red\rLantern",
    "tab": "Red\tLantern",
    "NUL": "Red\x00Lantern",
    "escape": "Red\x1b[31mLantern",
    "delete": "Red\x7fLantern",
    "next line (C1)": "Red\x85Lantern",
    "line separator": "Red\u2028Lantern",
    "paragraph separator": "Red\u2029Lantern",
    "right-to-left override": "Red Lantern\u202egpj.exe",
    "left-to-right isolate": "Red\u2066Lantern\u2069",
}
ACCEPTED = [
    "Red Lantern Pictures",
    "横店红灯笼影视",
    "Zhāng Wěi",
    "O'Brien-Smith & Sons, Ltd.",
    "Ольга Петрова",
    "محمد علي",
    "שרה כהן",
    "\u200fمحمد\u200f (Mohammed)",  # right-to-left marks, which mixed-script names need
    "Raj\u200cKumar",  # zero-width non-joiner, part of Persian and Indic spelling
    "Studio 👩\u200d👩\u200d👧",  # an emoji sequence joined by zero-width joiners
]

# Every field that names something, and so is shown on one line in pages, emails and calendars.
NAME_FIELDS = [
    (Crew, "name"),
    (StudioSet, "name"),
    (Equipment, "name"),
    (SetPhoto, "caption"),
    (User, "first_name"),
    (User, "last_name"),
    (Enrolment, "full_name"),
    (Workshop, "title"),
    (Session, "venue"),
]


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_control_characters_line_breaks_and_direction_overrides_are_refused(value):
    with pytest.raises(ValidationError) as exc:
        validate_single_line(value)
    assert "one line" in exc.value.messages[0]
    assert one_line(value) != value
    validate_single_line(one_line(value))


@pytest.mark.parametrize("value", ACCEPTED)
def test_names_in_every_script_are_accepted(value):
    validate_single_line(value)
    assert one_line(value) == value


def test_the_message_names_the_invisible_character():
    with pytest.raises(ValidationError) as exc:
        validate_single_line("Red Lantern\u202egpj.exe")
    assert "U+202E" in exc.value.messages[0]


@pytest.mark.parametrize(("model", "name"), NAME_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in NAME_FIELDS])
def test_every_name_field_validates_at_the_model_level(model, name):
    assert validate_single_line in model._meta.get_field(name).validators


@pytest.mark.django_db
def test_the_signup_form_refuses_a_line_break_in_the_company_and_the_name():
    form = SignupForm(data={"company_name": "Jade\nRiver", "full_name": "Line\u2028producer"})
    assert not form.is_valid()
    assert "one line" in form.errors["company_name"][0]
    assert "one line" in form.errors["full_name"][0]


@pytest.mark.django_db
def test_the_member_form_refuses_a_line_break_in_the_name():
    form = MemberAddForm(data={"full_name": "Gaf\nfer", "email": "gaffer@example.com"})
    assert not form.is_valid()
    assert "one line" in form.errors["full_name"][0]


@pytest.mark.django_db
def test_signing_up_with_a_line_break_in_the_company_name_saves_nothing(client):
    response = client.post(
        reverse("signup"),
        {
            "full_name": "Line producer",
            "email": "producer@example.com",
            "company_name": "Jade River\nStudio",
            "contact_phone": "+86 571 8765 4321",
            "country": "CN",
            "password1": "tall-bamboo-in-rain-42",
            "password2": "tall-bamboo-in-rain-42",
        },
    )
    assert response.status_code == 200
    assert "one line" in response.content.decode()
    assert not Crew.objects.exists() and not User.objects.exists()


@pytest.mark.django_db
def test_registration_refuses_a_control_character_in_the_full_name(client):
    session = SessionFactory()
    form = EnrolmentForm(data={"full_name": "Amara\tOkafor", "email": "amara@example.org"}, session=session)
    assert not form.is_valid()
    assert "one line" in form.errors["full_name"][0]
    response = client.post(
        reverse("workshops:register", args=[session.pk]),
        {
            "full_name": "Amara\x1bOkafor",
            "email": "amara@example.org",
            "nationality": "NG",
            "country_of_residence": "NG",
            "role": "director",
            "language": "en",
            "consent": "on",
        },
    )
    assert response.status_code == 200
    assert "one line" in response.content.decode()
    assert not Enrolment.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_line_break_in_a_crew_or_set_name(client, staff_admin):
    crew = CrewOwnerFactory(crew__name="Jade River").crew
    login_staff(client, staff_admin)
    response = client.post(
        reverse("admin:bookings_crew_change", args=[crew.pk]),
        {
            "name": "Jade\r\nRiver",
            "contact_phone": crew.contact_phone,
            "country": "CN",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "one line" in response.content.decode()
    crew.refresh_from_db()
    assert crew.name == "Jade River"

    response = client.post(
        reverse("admin:bookings_studioset_add"),
        {
            "name_en": "Palace\u2029hall",
            "slug": "palace-hall",
            "category": "palace",
            "daily_rate": "100",
            "changeover_days": "0",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "one line" in response.content.decode()
    assert not StudioSet.objects.exists()


# --- Values saved before the rule --------------------------------------------------


@pytest.mark.django_db
def test_a_legacy_crew_name_with_a_line_break_gives_a_valid_feed(client, crew_owner):
    studio_set, camera = StudioSetFactory(), EquipmentFactory()
    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=studio_set,
        days=days_from_now(5, 3),
        items=[services.ItemRequest(camera, 1)],
        by=crew_owner,
    )
    # Saved past validation, as rows written before it was added were (PostgreSQL
    # could never store a NUL, so none here).
    Crew.objects.filter(pk=crew_owner.crew_id).update(name="Jade River\nStudio\r\n")
    StudioSet.objects.filter(pk=studio_set.pk).update(name="Palace\u2028hall\x07")
    Equipment.objects.filter(pk=camera.pk).update(name="Camera\nkit\x1b")

    feed = client.get(reverse("bookings:feed", args=[crew_owner.crew.calendar_token]))
    assert feed.status_code == 200
    calendar = Calendar.from_ical(feed.content)
    assert str(calendar["x-wr-calname"]) == "Jade River Studio"
    [event] = calendar.walk("VEVENT")
    assert str(event["summary"]) == f"Palace hall ({booking.reference})"
    assert "1 × Camera kit" in str(event["description"])
    assert b"\x07" not in feed.content and b"\x1b" not in feed.content

    client.force_login(crew_owner)
    ics = client.get(reverse("bookings:ics", args=[booking.reference]))
    assert ics.status_code == 200
    assert (
        Calendar.from_ical(ics.content).walk("VEVENT")[0]["summary"] == f"Palace hall ({booking.reference})"
    )


@pytest.mark.django_db
def test_a_legacy_workshop_title_or_venue_with_a_line_break_gives_a_valid_ics(client):
    enrolment = EnrolmentFactory(session__starts_at=timezone.now() + timedelta(days=20))
    Workshop.objects.filter(pk=enrolment.session.workshop_id).update(title="Micro-drama\nintensive")
    Session.objects.filter(pk=enrolment.session_id).update(venue="Training centre\r\nroom 3")

    response = client.get(reverse("workshops:calendar", args=[enrolment.manage_token]))

    assert response.status_code == 200
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["summary"]) == "Micro-drama intensive"
    assert str(event["location"]).startswith("Training centre room 3, ")
