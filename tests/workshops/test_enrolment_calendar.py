"""The enrolment's .ics: studio time with its zone, one event per workshop day, and updates that replace."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from django.urls import reverse
from icalendar import Calendar

from tests.factories import EnrolmentFactory, SessionFactory
from workshops import services
from workshops.calendars import enrolment_to_ics
from workshops.models import Enrolment, Session

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _calendar(client, enrolment) -> tuple[Calendar, object]:
    response = client.get(reverse("workshops:calendar", args=[enrolment.manage_token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content), response


def _future(days: int, hour: int) -> datetime:
    today = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return datetime(today.year, today.month, today.day, hour, tzinfo=SHANGHAI)


def test_times_carry_the_studio_zone_and_its_vtimezone(client):
    enrolment = EnrolmentFactory(
        session__starts_at=_future(30, 9), session__ends_at=_future(30, 17), full_name="Ana"
    )

    calendar, response = _calendar(client, enrolment)

    body = response.content.decode()
    assert "DTSTART;TZID=Asia/Shanghai:" in body
    assert "DTEND;TZID=Asia/Shanghai:" in body
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Asia/Shanghai"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == _future(30, 9)
    assert event.decoded("dtstart").tzinfo.key == "Asia/Shanghai"
    assert event.decoded("dtend") == _future(30, 17)
    assert "RRULE" not in event
    assert str(event["status"]) == "CONFIRMED"


def test_a_five_day_session_is_one_daily_event_from_its_daily_hours(client):
    enrolment = EnrolmentFactory(session__starts_at=_future(30, 9), session__ends_at=_future(34, 17))

    calendar, _ = _calendar(client, enrolment)

    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == _future(30, 9)
    assert event.decoded("dtend") == _future(30, 17)  # the first day, not the whole week
    rule = event["rrule"]
    assert rule["FREQ"] == ["DAILY"]
    assert rule["COUNT"] == [5]
    # The series expands to the five working days, 09:00–17:00 each.
    starts = [_future(30 + day, 9) for day in range(5)]
    assert list(rrulestr(event["rrule"].to_ical().decode(), dtstart=event.decoded("dtstart"))) == starts


def test_a_session_ending_earlier_in_the_day_than_it_started_is_one_block(client):
    enrolment = EnrolmentFactory(session__starts_at=_future(30, 18), session__ends_at=_future(31, 2))

    calendar, _ = _calendar(client, enrolment)

    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtend") == _future(31, 2)
    assert "RRULE" not in event


def test_sequence_and_last_modified_grow_when_the_session_changes(client, time_machine):
    time_machine.move_to("2026-11-01 08:00:00+00:00", tick=False)
    enrolment = EnrolmentFactory(session__starts_at=_future(30, 9), session__ends_at=_future(30, 17))
    before, _ = _calendar(client, enrolment)
    [old] = before.walk("VEVENT")

    time_machine.move_to("2026-11-02 08:00:00+00:00", tick=False)
    session = enrolment.session
    session.venue = "Qin Palace rehearsal hall"
    session.save()
    after, _ = _calendar(client, enrolment)
    [new] = after.walk("VEVENT")

    assert str(new["uid"]) == str(old["uid"])
    assert new.decoded("sequence") > old.decoded("sequence") >= 0
    assert new.decoded("last-modified") == datetime(2026, 11, 2, 8, tzinfo=ZoneInfo("UTC"))
    assert "Qin Palace rehearsal hall" in str(new["location"])


def test_a_cancelled_place_is_a_cancelled_event_with_a_higher_sequence(client, time_machine):
    # The manage page no longer offers the file then, but a file made from the row says so.
    time_machine.move_to("2026-11-01 08:00:00+00:00", tick=False)
    enrolment = EnrolmentFactory(session__starts_at=_future(30, 9), session__ends_at=_future(30, 17))
    [first] = _calendar(client, enrolment)[0].walk("VEVENT")

    time_machine.move_to("2026-11-01 09:00:00+00:00", tick=False)
    services.session_cancel(session=enrolment.session)
    enrolment.refresh_from_db()
    [cancelled] = Calendar.from_ical(enrolment_to_ics(enrolment)).walk("VEVENT")

    assert enrolment.status == Enrolment.Status.CANCELLED
    assert enrolment.session.status == Session.Status.CANCELLED
    assert str(cancelled["status"]) == "CANCELLED"
    assert cancelled.decoded("sequence") > first.decoded("sequence")
    assert str(cancelled["uid"]) == str(first["uid"])


def test_the_session_status_change_alone_moves_its_updated_at(time_machine):
    time_machine.move_to("2026-11-01 08:00:00+00:00", tick=False)
    session = SessionFactory(starts_at=_future(30, 9), ends_at=_future(30, 17))
    time_machine.move_to("2026-11-01 10:00:00+00:00", tick=False)

    services.session_cancel(session=session)

    session.refresh_from_db()
    assert session.updated_at == datetime(2026, 11, 1, 10, tzinfo=ZoneInfo("UTC"))


def test_a_waitlisted_place_is_tentative(client):
    enrolment = EnrolmentFactory(status=Enrolment.Status.WAITLISTED, waitlist_order=1)

    [event] = _calendar(client, enrolment)[0].walk("VEVENT")

    assert str(event["status"]) == "TENTATIVE"
