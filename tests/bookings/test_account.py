"""Everyone signed in keeps their own details: name, phone, the language of their emails."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import DayRange, Notification, User

from ..factories import CrewMemberFactory, CrewOwnerFactory, EquipmentFactory, StudioSetFactory

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("account")
EMAIL_LANGUAGE = reverse("account_email_language")
SET_LANGUAGE = reverse("set_language")


def _data(**overrides) -> dict:
    return {
        "first_name": "Li",
        "last_name": "Na",
        "phone": "+86 138 0000 1111",
        "language": "en",
        **overrides,
    }


def test_the_account_page_shows_the_details_and_links_the_password_change(client, crew_member):
    client.force_login(crew_member)

    response = client.get(ACCOUNT)

    page = response.content.decode()
    assert response.status_code == 200
    assert crew_member.email in page
    assert f'value="{crew_member.first_name}"' in page
    assert reverse("password_change") in page
    assert crew_member.crew.name in page


def test_the_account_page_needs_a_log_in(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_changes_name_phone_and_email_language(client, crew_member):
    client.force_login(crew_member)

    response = client.post(ACCOUNT, _data(first_name="  Li ", language="zh-hans"))

    assert response.status_code == 302
    crew_member.refresh_from_db()
    assert (crew_member.first_name, crew_member.last_name) == ("Li", "Na")
    assert crew_member.phone == "+86 138 0000 1111"
    assert crew_member.language == "zh-hans"
    entry = LogEntry.objects.get(object_id=str(crew_member.pk), content_type__model="user")
    assert entry.user == crew_member
    assert entry.get_change_message() == "Changed First name, Last name, Phone and Language for emails."


def test_emails_about_bookings_then_go_out_in_the_new_language(client, crew_owner):
    client.force_login(crew_owner)
    client.post(ACCOUNT, _data(language="es"))
    crew_owner.refresh_from_db()
    today = timezone.localdate()

    services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(today + timedelta(days=10), today + timedelta(days=12)),
        items=[services.ItemRequest(EquipmentFactory(), 1)],
        by=crew_owner,
    )

    row = Notification.objects.get(recipient=crew_owner.email, kind=Notification.Kind.BOOKING_REQUESTED)
    assert row.language == "es"
    assert row.subject.startswith("Solicitud recibida")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "call me", "Enter a phone number with 6 to 20 digits"),
        ("phone", "1" * 40, "at most 32 characters"),
        ("first_name", "Li\nNa", "Enter this on one line"),
        ("last_name", "N" * 151, "at most 150 characters"),
        ("language", "fr", "Select a valid choice."),
    ],
    ids=["phone-words", "phone-long", "name-line-break", "name-long", "language"],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(
    client, crew_member, field, value, message
):
    client.force_login(crew_member)
    before = User.objects.values().get(pk=crew_member.pk)

    response = client.post(ACCOUNT, _data(**{"language": "es", field: value}))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert User.objects.values().get(pk=crew_member.pk) == before
    assert not LogEntry.objects.exists()


def test_the_email_address_cannot_be_changed_here(client, crew_member):
    client.force_login(crew_member)

    client.post(
        ACCOUNT, {**_data(), "email": "taken-over@example.com", "crew_role": "owner", "is_staff": "on"}
    )

    crew_member.refresh_from_db()
    assert crew_member.email != "taken-over@example.com"
    assert crew_member.crew_role == User.CrewRole.MEMBER
    assert not crew_member.is_staff


def test_the_account_page_answers_in_a_few_queries(client, crew_member, django_assert_max_num_queries):
    client.force_login(crew_member)
    with django_assert_max_num_queries(5):
        assert client.get(ACCOUNT).status_code == 200


# --- Switching the site's language offers to switch the emails' too -----------------------


def test_switching_the_site_language_offers_to_switch_the_email_language_once(client, crew_member):
    client.force_login(crew_member)
    assert crew_member.language == "en"

    response = client.post(
        SET_LANGUAGE, {"language": "zh-hans", "next": reverse("bookings:list")}, follow=True
    )

    page = response.content.decode()
    assert 'id="email-language-offer"' in page
    assert "简体中文" in page
    assert 'name="language" value="zh-hans"' in page
    # Shown once: the next page goes back to normal.
    assert 'id="email-language-offer"' not in client.get(reverse("bookings:list")).content.decode()

    response = client.post(EMAIL_LANGUAGE, {"language": "zh-hans", "next": reverse("bookings:list")})

    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:list")
    crew_member.refresh_from_db()
    assert crew_member.language == "zh-hans"


def test_no_offer_when_the_email_language_already_matches_or_for_visitors(client, crew_member):
    crew_member.language = "es"
    crew_member.save()
    client.force_login(crew_member)

    page = client.post(SET_LANGUAGE, {"language": "es", "next": "/"}, follow=True).content.decode()
    assert 'id="email-language-offer"' not in page

    visitor = Client()
    page = visitor.post(SET_LANGUAGE, {"language": "zh-hans", "next": "/"}, follow=True).content.decode()
    assert 'id="email-language-offer"' not in page


def test_the_email_language_switch_needs_a_post_a_known_language_and_a_safe_next(client, crew_member):
    client.force_login(crew_member)

    assert client.get(EMAIL_LANGUAGE).status_code == 405
    client.post(EMAIL_LANGUAGE, {"language": "xx"})
    crew_member.refresh_from_db()
    assert crew_member.language == "en"

    response = client.post(EMAIL_LANGUAGE, {"language": "es", "next": "https://evil.example/"})
    assert response["Location"] == ACCOUNT
    crew_member.refresh_from_db()
    assert crew_member.language == "es"


def test_the_email_language_switch_is_csrf_protected(crew_member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew_member)

    assert client.post(EMAIL_LANGUAGE, {"language": "es"}).status_code == 403
    crew_member.refresh_from_db()
    assert crew_member.language == "en"


# --- Where a crew lands after logging in -----------------------------------------------


def test_a_crew_member_lands_on_my_bookings_with_a_first_booking_prompt(client):
    member = CrewOwnerFactory(password="lantern-festival-42")

    response = client.post(reverse("login"), {"username": member.email, "password": "lantern-festival-42"})

    assert response["Location"] == reverse("bookings:list")
    page = client.get(response["Location"]).content.decode()
    assert 'id="first-booking"' in page
    assert reverse("bookings:set_list") in page


def test_the_first_booking_prompt_goes_once_the_crew_has_a_booking(client):
    member = CrewMemberFactory(crew=CrewOwnerFactory().crew)
    today = timezone.localdate()
    services.booking_request(
        crew=member.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(today + timedelta(days=10), today + timedelta(days=12)),
        items=[],
        by=member,
    )
    client.force_login(member)

    assert 'id="first-booking"' not in client.get(reverse("bookings:list")).content.decode()
