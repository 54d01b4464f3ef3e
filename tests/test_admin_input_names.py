"""Every input on the admin's forms has a name a screen reader can announce, also where Django
draws no <label>: the date and time halves of a date-and-time field, and tabular inline cells."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from hengdian import roles

from .auth import login_staff
from .factories import SessionFactory, StaffMemberFactory, StudioSetFactory


def _input(page: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, element_id
    return match.group(0)


@pytest.mark.django_db
def test_date_and_time_halves_and_inline_cells_are_named(client):
    staff = StaffMemberFactory(roles=[roles.BOOKING_DESK, roles.WORKSHOP_DESK])
    login_staff(client, staff)
    session = SessionFactory()
    studio_set = StudioSetFactory()

    page = client.get(reverse("admin:workshops_session_change", args=[session.pk])).content.decode()
    assert 'aria-label="Starts at (date)"' in _input(page, "id_starts_at_0")
    assert 'aria-label="Starts at (time)"' in _input(page, "id_starts_at_1")

    page = client.get(reverse("admin:workshops_workshop_change", args=[session.workshop.pk])).content.decode()
    assert 'aria-label="Ends at (date)"' in _input(page, "id_sessions-0-ends_at_0")
    # The sessions are stacked: each venue column has a <label> of its own, with its language.
    for code in ("en", "zh_hans", "es"):
        assert f'for="id_sessions-0-venue_{code}">Venue [' in page
    assert "aria-label" not in _input(page, "id_sessions-0-capacity")

    page = client.get(reverse("admin:bookings_studioset_change", args=[studio_set.pk])).content.decode()
    assert 'aria-label="Caption"' in _input(page, "id_photos-0-caption")
    # A field the form labels itself keeps its <label> and gets no second name.
    assert "aria-label" not in _input(page, "id_name_en")


@pytest.mark.django_db
def test_the_names_are_in_the_staff_members_language(client):
    staff = StaffMemberFactory(roles=[roles.WORKSHOP_DESK])
    login_staff(client, staff)
    session = SessionFactory()
    client.cookies["django_language"] = "es"
    page = client.get(reverse("admin:workshops_session_change", args=[session.pk])).content.decode()
    with translation.override("es"):
        field = capfirst(gettext("starts at"))
    assert field != "Starts at"
    assert f'aria-label="{field} (' in _input(page, "id_starts_at_0")
