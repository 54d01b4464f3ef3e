"""Door check-in: a QR code per confirmed place, one check-in per person and day of the session,
refused clearly for the wrong session, a cancelled place or a day the session does not run."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bookings.models import Notification
from hengdian.roles import VIEWER, WORKSHOP_DESK
from tests.auth import login_staff
from tests.bookings.helpers import run_concurrently
from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory, StaffMemberFactory
from workshops import services
from workshops.models import Attendance, Enrolment


def _at(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute))


def _running_session(days: int = 3):
    """A session whose first day is tomorrow, 09:00 to 17:00 each day."""
    first = timezone.localdate() + timedelta(days=1)
    return SessionFactory(starts_at=_at(first, 9), ends_at=_at(first + timedelta(days=days - 1), 17))


@pytest.mark.django_db
def test_one_check_in_per_day_and_a_second_scan_says_when_the_first_was():
    session = _running_session(days=3)
    enrolment = EnrolmentFactory(session=session)
    desk = StaffFactory()
    first_day = timezone.localdate(session.starts_at)

    with time_machine.travel(_at(first_day, 9, 2), tick=False):
        first = services.checkin_record(session=session, code=enrolment.checkin_code, by=desk)
    with time_machine.travel(_at(first_day, 11, 30), tick=False):
        again = services.checkin_record(
            session=session, code=enrolment.checkin_code.lower(), by=StaffFactory()
        )
    with time_machine.travel(_at(first_day + timedelta(days=1), 8, 55), tick=False):
        second_day = services.checkin_record(session=session, code=enrolment.checkin_code, by=desk)

    assert first.created and not again.created and second_day.created
    assert again.attendance.pk == first.attendance.pk
    assert services.checkin_when(again.attendance) == "09:02"
    assert list(Attendance.objects.values_list("day", flat=True)) == [
        first_day,
        first_day + timedelta(days=1),
    ]


@pytest.mark.django_db
def test_wrong_session_cancelled_place_unknown_code_and_days_off_are_refused():
    session = _running_session()
    other = EnrolmentFactory(session=_running_session())
    cancelled = EnrolmentFactory(session=session, status=Enrolment.Status.CANCELLED)
    enrolment = EnrolmentFactory(session=session)
    desk = StaffFactory()
    first_day = timezone.localdate(session.starts_at)

    with time_machine.travel(_at(first_day, 10), tick=False):
        for code, message in (
            (other.checkin_code, "not in this session"),
            (cancelled.checkin_code, "has no place"),
            ("HDC-22222-22222", "No participant has this code"),
            ("nonsense", "No participant has this code"),
        ):
            with pytest.raises(services.EnrolmentError, match=message) as refused:
                services.checkin_record(session=session, code=code, by=desk)
            assert refused.value.field == "code"
    with (
        time_machine.travel(_at(first_day - timedelta(days=1), 10), tick=False),
        pytest.raises(services.EnrolmentError, match="does not run today"),
    ):
        services.checkin_record(session=session, code=enrolment.checkin_code, by=desk)
    assert not Attendance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_desks_scanning_the_same_code_at_once_record_one_check_in():
    session = _running_session()
    enrolment = EnrolmentFactory(session=session)
    desks = [StaffFactory(), StaffFactory()]

    with time_machine.travel(_at(timezone.localdate(session.starts_at), 9), tick=False):
        results = run_concurrently(
            2, lambda i: services.checkin_record(session=session, code=enrolment.checkin_code, by=desks[i])
        )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, True]
    assert Attendance.objects.count() == 1


@pytest.mark.django_db
def test_the_desk_page_checks_in_and_says_what_went_wrong_next_to_the_code(client):
    session = _running_session()
    enrolment = EnrolmentFactory(session=session, full_name="Thandiwe Mokoena")
    url = reverse("admin:workshops_session_checkin", args=[session.pk])

    with time_machine.travel(_at(timezone.localdate(session.starts_at), 9, 2), tick=False):
        login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))
        done = client.post(url, {"code": enrolment.checkin_code})
        again = client.post(url, {"code": enrolment.checkin_code})
        bad = client.post(url, {"code": "HDC-22222-22222"})
        empty = client.post(url, {"code": ""})

    assert done.status_code == 200 and "Thandiwe Mokoena" in done.text and "Checked in at 09:02" in done.text
    assert "Already checked in today at 09:02" in again.text
    assert bad.status_code == 400 and "No participant has this code" in bad.text
    assert empty.status_code == 400
    assert Attendance.objects.count() == 1


@pytest.mark.django_db
def test_a_viewer_reads_attendance_but_checks_nobody_in(client):
    session = _running_session()
    enrolment = EnrolmentFactory(session=session)
    url = reverse("admin:workshops_session_checkin", args=[session.pk])

    with time_machine.travel(_at(timezone.localdate(session.starts_at), 9), tick=False):
        login_staff(client, StaffMemberFactory(roles=[VIEWER]))
        page = client.get(url)
        refused = client.post(url, {"code": enrolment.checkin_code})

    assert page.status_code == 200 and 'id="checkin-form"' not in page.text
    assert refused.status_code == 403
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_the_manage_page_and_the_confirmation_email_carry_the_check_in_code_not_the_private_link(client):
    from workshops.services import enrolment_register

    enrolment = enrolment_register(
        session=SessionFactory(),
        full_name="Ana Jovanović",
        email="ana@example.org",
        country_of_residence="RS",
        nationality="RS",
        role="actor",
    ).enrolment

    page = client.get(enrolment.get_absolute_url()).text
    assert "<svg" in page and enrolment.checkin_code in page
    assert enrolment.checkin_code != enrolment.manage_token
    email = Notification.objects.get(enrolment=enrolment, kind=Notification.Kind.ENROLMENT_CONFIRMED)
    qr_url = reverse("workshops:checkin_qr", args=[enrolment.checkin_code])
    assert enrolment.checkin_code in email.body_text
    assert qr_url in email.body_html
    image = client.get(qr_url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert client.get(reverse("workshops:checkin_qr", args=["not-a-code"])).status_code == 404

    services.enrolment_cancel(enrolment=enrolment)
    assert "<svg" not in client.get(enrolment.get_absolute_url()).text


@pytest.mark.django_db
def test_attendance_exports_as_csv_per_day(client):
    session = _running_session(days=2)
    people = [EnrolmentFactory(session=session) for _ in range(3)]
    desk = StaffFactory()
    first_day = timezone.localdate(session.starts_at)
    for offset, who in ((0, people), (1, people[:2])):
        with time_machine.travel(_at(first_day + timedelta(days=offset), 9), tick=False):
            for person in who:
                services.checkin_record(session=session, code=person.checkin_code, by=desk)
    login_staff(client, StaffMemberFactory(roles=[VIEWER]))

    response = client.post(
        reverse("admin:workshops_attendance_changelist"),
        {"action": "export_csv", "_selected_action": list(Attendance.objects.values_list("pk", flat=True))},
    )

    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 5
    assert sum(line.startswith(f"{first_day:%Y-%m-%d}") for line in lines) == 3
