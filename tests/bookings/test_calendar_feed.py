"""The crew's private calendar feed: who may reset its link, and which methods it answers."""

import pytest
from django.urls import reverse
from icalendar import Calendar

from bookings import services

from ..factories import StudioSetFactory
from .test_booking_request import days_from_now


@pytest.fixture
def booking(crew_owner):
    return services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(5, 3), by=crew_owner
    )


@pytest.mark.django_db
def test_only_the_owner_can_reset_the_feed_link(client, crew_owner, crew_member):
    crew = crew_owner.crew
    old = crew.calendar_token
    client.force_login(crew_member)

    response = client.post(reverse("bookings:calendar_reset"))

    assert response.status_code == 403
    assert "Only the crew&#x27;s owner can reset the calendar link." in response.content.decode()
    crew.refresh_from_db()
    assert crew.calendar_token == old
    assert client.get(reverse("bookings:feed", args=[old])).status_code == 200

    client.force_login(crew_owner)
    assert client.post(reverse("bookings:calendar_reset")).status_code == 302
    crew.refresh_from_db()
    assert crew.calendar_token != old


@pytest.mark.django_db
def test_the_reset_button_is_shown_to_the_owner_only(client, crew_owner, crew_member):
    reset_url = reverse("bookings:calendar_reset")
    client.force_login(crew_member)
    page = client.get(reverse("bookings:crew")).content.decode()
    assert crew_owner.crew.calendar_token in page  # members may still subscribe
    assert reset_url not in page
    client.force_login(crew_owner)
    assert reset_url in client.get(reverse("bookings:crew")).content.decode()


@pytest.mark.django_db
def test_the_service_refuses_a_member_too(crew_owner, crew_member, other_crew_member):
    old = crew_owner.crew.calendar_token
    for someone in (crew_member, other_crew_member):
        with pytest.raises(services.AccountError):
            services.crew_calendar_reset(crew=crew_owner.crew, by=someone)
    crew_owner.crew.refresh_from_db()
    assert crew_owner.crew.calendar_token == old


@pytest.mark.django_db
def test_the_feed_answers_get_and_head_only(client, crew_owner, booking):
    url = reverse("bookings:feed", args=[crew_owner.crew.calendar_token])
    got = client.get(url)
    assert got.status_code == 200
    assert booking.reference in got.content.decode()
    head = client.head(url)
    assert head.status_code == 200
    assert head["Content-Type"] == "text/calendar"
    assert head.content == b""
    for method in ("post", "put", "patch", "delete", "options"):
        response = getattr(client, method)(url)
        assert response.status_code == 405, method
        assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.django_db
def test_the_feed_is_a_valid_calendar(client, crew_owner, booking):
    body = client.get(reverse("bookings:feed", args=[crew_owner.crew.calendar_token])).content
    calendar = Calendar.from_ical(body)
    assert str(calendar["x-wr-calname"]) == crew_owner.crew.name
    [event] = calendar.walk("VEVENT")
    assert booking.reference in str(event["summary"])
