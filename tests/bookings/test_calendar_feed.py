"""The crew's private calendar feed: who may reset its link, and which methods it answers."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from bookings import services

from ..factories import StaffFactory, StudioSetFactory
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
    assert head["Content-Type"] == "text/calendar; charset=utf-8"
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


# --- What calendar apps need to show and update the events ------------------------------------


@pytest.mark.django_db
def test_the_feed_is_utf8_cached_privately_for_a_short_while(client, crew_owner, booking):
    response = client.get(reverse("bookings:feed", args=[crew_owner.crew.calendar_token]))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert directives == {"private", "max-age=300"}
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-timezone"]) == "Asia/Shanghai"
    assert calendar.decoded("refresh-interval") == timedelta(hours=1)


@pytest.mark.django_db
def test_a_booking_is_whole_days_with_sequence_and_last_modified(owner_client, booking):
    response = owner_client.get(reverse("bookings:ics", args=[booking.reference]))

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == booking.start_date
    assert event.decoded("dtend") == booking.end_date + timedelta(days=1)
    assert event.decoded("last-modified") == booking.updated_at.replace(microsecond=0)
    assert event.decoded("sequence") > 0
    assert str(event["status"]) == "TENTATIVE"


@pytest.mark.django_db
def test_confirming_and_cancelling_raise_the_sequence_under_the_same_uid(
    client, crew_owner, booking, time_machine
):
    url = reverse("bookings:feed", args=[crew_owner.crew.calendar_token])
    staff = StaffFactory()

    def event():
        [only] = Calendar.from_ical(client.get(url).content).walk("VEVENT")
        return only

    requested = event()
    time_machine.move_to(timezone.now() + timedelta(minutes=5), tick=False)
    services.booking_confirm(booking=booking, by=staff)
    confirmed = event()
    time_machine.shift(timedelta(minutes=5))
    booking.refresh_from_db()
    services.booking_cancel(booking=booking, by=crew_owner)
    cancelled = event()

    assert str(requested["uid"]) == str(confirmed["uid"]) == str(cancelled["uid"])
    assert [str(e["status"]) for e in (requested, confirmed, cancelled)] == [
        "TENTATIVE",
        "CONFIRMED",
        "CANCELLED",
    ]
    assert requested.decoded("sequence") < confirmed.decoded("sequence") < cancelled.decoded("sequence")
    assert (
        requested.decoded("last-modified")
        < confirmed.decoded("last-modified")
        < cancelled.decoded("last-modified")
    )
