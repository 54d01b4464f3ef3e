"""The workshop desk enrols a participant by hand, from the admin."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from bookings.models import Notification
from hengdian.roles import BOOKING_DESK, VISA_OFFICER, WORKSHOP_DESK
from workshops.models import Enrolment

from ..auth import login_staff
from ..factories import EnrolmentFactory, SessionFactory, StaffMemberFactory

ADD = "admin:workshops_enrolment_add"
Kind = Notification.Kind


@pytest.fixture
def desk_user(db):
    return StaffMemberFactory(roles=[WORKSHOP_DESK])


@pytest.fixture
def desk_client(client, desk_user):
    login_staff(client, desk_user)
    return client


def add_url(session) -> str:
    return f"{reverse(ADD)}?session={session.pk}"


def details(**overrides) -> dict:
    return {
        "full_name": "Thandiwe  Mokoena",
        "email": "Thandiwe@Example.org",
        "nationality": "ZA",
        "country_of_residence": "ZA",
        "role": Enrolment.Role.ACTOR,
        "language": "en",
        "experience": "",
        "needs": "",
        "consent": "on",
        **overrides,
    }


@pytest.mark.django_db
def test_desk_enrols_a_participant_with_a_place_and_the_same_email(desk_client, desk_user):
    session = SessionFactory(capacity=2)

    response = desk_client.post(add_url(session), details(), follow=True)

    enrolment = Enrolment.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:workshops_enrolment_change", args=[enrolment.pk])
    assert enrolment.session == session
    assert enrolment.status == Enrolment.Status.CONFIRMED
    assert enrolment.full_name == "Thandiwe Mokoena"
    assert enrolment.email == "thandiwe@example.org"
    assert enrolment.created_by == desk_user
    assert enrolment.needs_visa_letter is False and enrolment.passport_number == ""
    email = Notification.objects.get(enrolment=enrolment)
    assert (email.kind, email.recipient) == (Kind.ENROLMENT_CONFIRMED, "thandiwe@example.org")
    assert enrolment.manage_token in email.body_text
    assert "Thandiwe Mokoena has a place" in response.text
    assert LogEntry.objects.filter(object_id=str(enrolment.pk), user=desk_user).exists()


@pytest.mark.django_db
def test_a_full_session_puts_the_participant_on_the_waiting_list_and_says_so(desk_client):
    session = SessionFactory(capacity=1)
    EnrolmentFactory(session=session)

    page = desk_client.get(add_url(session))
    assert "Full: the participant joins the waiting list" in page.text
    response = desk_client.post(add_url(session), details(), follow=True)

    enrolment = Enrolment.objects.get(email="thandiwe@example.org")
    assert enrolment.status == Enrolment.Status.WAITLISTED
    assert enrolment.waitlist_order == 1
    assert session.enrolments.filter(status=Enrolment.Status.CONFIRMED).count() == 1
    assert Notification.objects.get(enrolment=enrolment).kind == Kind.ENROLMENT_WAITLISTED
    assert "is on the waiting list" in response.text


@pytest.mark.django_db
def test_an_address_already_enrolled_is_refused_beside_the_email(desk_client):
    session = SessionFactory()
    EnrolmentFactory(session=session, email="thandiwe@example.org")
    before = Notification.objects.count()

    response = desk_client.post(add_url(session), details())

    assert response.status_code == 400
    assert response.context["form"].errors["email"] == [
        "thandiwe@example.org is already enrolled in this session (confirmed)."
    ]
    assert Enrolment.objects.filter(email="thandiwe@example.org").count() == 1
    # Unlike the public form, nothing is sent: the desk is told instead.
    assert Notification.objects.count() == before


@pytest.mark.django_db
def test_missing_consent_and_bad_input_are_shown_beside_their_fields(desk_client):
    session = SessionFactory()

    response = desk_client.post(add_url(session), details(consent="", email="not-an-address"))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "consent" in errors and "email" in errors
    assert not Enrolment.objects.exists()


@pytest.mark.django_db
def test_passport_fields_are_only_for_those_who_may_see_passport_data(client, desk_client):
    session = SessionFactory()

    page = desk_client.get(add_url(session))
    assert 'name="passport_number"' not in page.text
    assert 'name="needs_visa_letter"' not in page.text
    # A forged passport number is not kept either.
    desk_client.post(add_url(session), details(needs_visa_letter="on", passport_number="X1234567"))
    assert Enrolment.objects.get().passport_number == ""

    both = StaffMemberFactory(roles=[WORKSHOP_DESK, VISA_OFFICER])
    login_staff(client, both)
    page = client.get(add_url(session))
    assert 'name="passport_number"' in page.text
    expiry = (timezone.localdate() + timedelta(days=3 * 365)).isoformat()
    client.post(
        add_url(session),
        details(
            email="li.wei@example.org",
            needs_visa_letter="on",
            passport_number="E12345678",
            passport_expiry=expiry,
            date_of_birth="1990-05-04",
        ),
    )
    enrolment = Enrolment.objects.get(email="li.wei@example.org")
    assert enrolment.needs_visa_letter and enrolment.passport_number == "E12345678"


@pytest.mark.django_db
def test_a_closed_session_cannot_be_chosen(desk_client):
    session = SessionFactory(registration_closes_at=timezone.now() - timedelta(hours=1))

    response = desk_client.post(add_url(session), details())

    assert response.status_code == 400
    assert response.context["picker"].errors["session"]
    assert not Enrolment.objects.exists()


@pytest.mark.django_db
def test_the_session_page_links_to_enrolling_someone(desk_client):
    session = SessionFactory()

    page = desk_client.get(reverse("admin:workshops_session_change", args=[session.pk]))

    assert add_url(session) in page.text.replace("&amp;", "&")
    assert desk_client.get(reverse(ADD)).status_code == 200  # the session is chosen on the page


@pytest.mark.django_db
def test_staff_without_the_permission_get_403(client):
    session = SessionFactory()
    for role in (BOOKING_DESK, VISA_OFFICER):
        login_staff(client, StaffMemberFactory(roles=[role]))
        assert client.get(add_url(session)).status_code == 403
        assert client.post(add_url(session), details()).status_code == 403
    assert not Enrolment.objects.exists()
