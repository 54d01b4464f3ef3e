"""The crew's owner keeps the company details and decides who is in the crew and who owns it."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, Crew, DayRange, User

from ..auth import login_staff
from ..factories import CrewMemberFactory, StaffFactory, StudioSetFactory

pytestmark = pytest.mark.django_db

CREW = reverse("bookings:crew")
EDIT = reverse("bookings:crew_edit")


def _remove(member) -> str:
    return reverse("bookings:crew_member_remove", args=[member.pk])


def _make_owner(member) -> str:
    return reverse("bookings:crew_member_make_owner", args=[member.pk])


def _booking(member) -> Booking:
    today = timezone.localdate()
    return services.booking_request(
        crew=member.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(today + timedelta(days=10), today + timedelta(days=12)),
        items=[],
        by=member,
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Company details ----------------------------------------------------------------


def test_the_owner_edits_the_company_details(crew_owner):
    client = _client(crew_owner)
    assert EDIT in client.get(CREW).content.decode()

    response = client.post(
        EDIT, {"name": " Jade  River Studio ", "contact_phone": "+86 21 5555 0101", "country": "MX"}
    )

    assert response.status_code == 302
    crew = Crew.objects.get(pk=crew_owner.crew_id)
    assert (crew.name, crew.contact_phone, crew.country.code) == (
        "Jade River Studio",
        "+86 21 5555 0101",
        "MX",
    )
    entry = LogEntry.objects.get(content_type__model="crew", object_id=str(crew.pk))
    assert entry.user == crew_owner
    assert entry.get_change_message() == "Changed Company name, Contact phone and Country."
    assert "Jade River Studio" in client.get(CREW).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "This field is required."),
        ("name", "Jade\nRiver", "Enter this on one line"),
        ("contact_phone", "ring us", "Enter a phone number"),
        ("country", "XX", "Select a valid choice."),
    ],
    ids=["blank-name", "name-line-break", "bad-phone", "bad-country"],
)
def test_bad_company_details_are_shown_next_to_the_field_and_nothing_is_saved(
    crew_owner, field, value, message
):
    client = _client(crew_owner)
    before = Crew.objects.values().get(pk=crew_owner.crew_id)
    data = {"name": "New Name", "contact_phone": "+86 21 5555 0101", "country": "CN", field: value}

    response = client.post(EDIT, data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert Crew.objects.values().get(pk=crew_owner.crew_id) == before


def test_members_other_crews_and_staff_cannot_edit_the_company(crew_owner, crew_member, other_crew_member):
    before = Crew.objects.values().get(pk=crew_owner.crew_id)
    data = {"name": "Hijacked", "contact_phone": "+86 21 5555 0101", "country": "CN"}

    assert _client(crew_member).post(EDIT, data).status_code == 404
    assert EDIT not in _client(crew_member).get(CREW).content.decode()
    # Another crew's owner edits their own crew, never this one.
    _client(other_crew_member).post(EDIT, data)
    staff = login_staff(Client(), StaffFactory())
    assert staff.post(EDIT, data).status_code == 404

    assert Crew.objects.values().get(pk=crew_owner.crew_id) == before
    assert Crew.objects.get(pk=other_crew_member.crew_id).name == "Hijacked"


def test_the_company_form_is_csrf_protected(crew_owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew_owner)
    response = client.post(EDIT, {"name": "X", "contact_phone": "+86 21 5555 0101", "country": "CN"})
    assert response.status_code == 403


# --- Removing a member ------------------------------------------------------------------


def test_removing_a_member_needs_a_confirmation_then_detaches_them_and_keeps_their_bookings(
    crew_owner, crew_member
):
    booking = _booking(crew_member)
    owner = _client(crew_owner)
    member = _client(crew_member)
    assert member.get(booking.get_absolute_url()).status_code == 200

    confirmation = owner.get(_remove(crew_member))
    assert confirmation.status_code == 200
    assert "The bookings they made stay with your crew." in confirmation.content.decode()
    crew_member.refresh_from_db()
    assert crew_member.crew_id == crew_owner.crew_id

    response = owner.post(_remove(crew_member), follow=True)

    assert "is no longer a member of your crew" in response.content.decode()
    crew_member.refresh_from_db()
    assert crew_member.crew_id is None and crew_member.crew_role == ""
    assert crew_member.is_active  # the account stays; only the membership ends
    booking.refresh_from_db()
    assert booking.crew_id == crew_owner.crew_id
    assert owner.get(booking.get_absolute_url()).status_code == 200
    # The removed person, still logged in, no longer sees anything of the crew.
    assert member.get(booking.get_absolute_url()).status_code == 404
    assert member.get(CREW).status_code == 404
    assert booking.reference not in member.get(reverse("bookings:list")).content.decode()
    assert crew_member.email not in owner.get(CREW).content.decode()
    assert LogEntry.objects.filter(content_type__model="user", object_id=str(crew_member.pk)).exists()


def test_the_owner_cannot_remove_themself(crew_owner, crew_member):
    client = _client(crew_owner)

    assert client.get(_remove(crew_owner)).status_code == 404
    assert client.post(_remove(crew_owner)).status_code == 404
    with pytest.raises(services.AccountError):
        services.crew_member_remove(crew=crew_owner.crew, member=crew_owner, by=crew_owner)

    crew_owner.refresh_from_db()
    assert crew_owner.is_crew_owner


def test_only_the_owner_removes_and_only_from_their_own_crew(crew_owner, crew_member, other_crew_member):
    second = CrewMemberFactory(crew=crew_owner.crew)

    assert _client(crew_member).post(_remove(second)).status_code == 404
    assert _client(other_crew_member).post(_remove(second)).status_code == 404
    assert _client(crew_member).post(_remove(crew_owner)).status_code == 404
    assert login_staff(Client(), StaffFactory()).post(_remove(second)).status_code == 404

    assert set(crew_owner.crew.members.values_list("pk", flat=True)) == {
        crew_owner.pk,
        crew_member.pk,
        second.pk,
    }


def test_removing_is_post_only_and_csrf_protected(crew_owner, crew_member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew_owner)

    assert client.post(_remove(crew_member)).status_code == 403
    assert _client(crew_owner).put(_remove(crew_member)).status_code == 405
    crew_member.refresh_from_db()
    assert crew_member.crew_id == crew_owner.crew_id


# --- Handing the crew over -------------------------------------------------------------


def test_the_owner_hands_the_crew_over_and_becomes_a_member(crew_owner, crew_member):
    owner = _client(crew_owner)
    page = owner.get(_make_owner(crew_member))
    assert "You become a member" in page.content.decode()

    response = owner.post(_make_owner(crew_member), follow=True)

    assert "is now the owner of your crew" in response.content.decode()
    crew_owner.refresh_from_db()
    crew_member.refresh_from_db()
    assert crew_member.is_crew_owner
    assert crew_owner.crew_role == User.CrewRole.MEMBER
    assert crew_owner.crew.members.filter(crew_role=User.CrewRole.OWNER).count() == 1
    # The old owner's rights went with it, the new owner's came.
    assert owner.get(EDIT).status_code == 404
    assert owner.post(_remove(crew_member)).status_code == 404
    assert _client(crew_member).get(EDIT).status_code == 200
    assert LogEntry.objects.filter(content_type__model="crew", object_id=str(crew_owner.crew_id)).exists()


def test_a_member_who_never_chose_a_password_cannot_become_owner(crew_owner):
    services.crew_member_add(
        crew=crew_owner.crew, email="pending@example.com", full_name="Pending", by=crew_owner
    )
    pending = User.objects.get(email="pending@example.com")
    owner = _client(crew_owner)
    assert _make_owner(pending) not in owner.get(CREW).content.decode()

    response = owner.post(_make_owner(pending), follow=True)

    assert "has not chosen a password yet" in response.content.decode()
    pending.refresh_from_db()
    crew_owner.refresh_from_db()
    assert pending.crew_role == User.CrewRole.MEMBER
    assert crew_owner.is_crew_owner


def test_only_the_owner_hands_over_and_only_within_the_crew(crew_owner, crew_member, other_crew_member):
    assert _client(crew_member).post(_make_owner(crew_member)).status_code == 404
    assert _client(other_crew_member).post(_make_owner(crew_member)).status_code == 404
    assert _client(crew_owner).post(_make_owner(other_crew_member)).status_code == 404
    with pytest.raises(services.AccountError):
        services.crew_owner_transfer(crew=crew_owner.crew, member=other_crew_member, by=crew_owner)
    with pytest.raises(services.AccountError):
        services.crew_owner_transfer(crew=crew_owner.crew, member=crew_owner, by=crew_member)

    crew_owner.refresh_from_db()
    crew_member.refresh_from_db()
    other_crew_member.refresh_from_db()
    assert crew_owner.is_crew_owner and not crew_member.is_crew_owner
    assert other_crew_member.crew_id != crew_owner.crew_id


def test_a_stale_owner_page_cannot_hand_over_twice(crew_owner, crew_member):
    third = CrewMemberFactory(crew=crew_owner.crew)
    services.crew_owner_transfer(crew=crew_owner.crew, member=crew_member, by=crew_owner)

    # crew_owner is the object loaded before the transfer: the service re-reads who owns the crew.
    with pytest.raises(services.AccountError):
        services.crew_owner_transfer(crew=crew_owner.crew, member=third, by=crew_owner)

    assert list(Crew.objects.get(pk=crew_owner.crew_id).members.filter(crew_role="owner")) == [crew_member]


def test_a_crew_has_one_owner_in_the_database(crew_owner, crew_member):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=crew_member.pk).update(crew_role=User.CrewRole.OWNER)


def test_the_crew_page_answers_in_a_few_queries(crew_owner, django_assert_max_num_queries):
    for _ in range(8):
        CrewMemberFactory(crew=crew_owner.crew)
    client = _client(crew_owner)
    with django_assert_max_num_queries(5):
        assert client.get(CREW).status_code == 200
