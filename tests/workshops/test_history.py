"""Enrolments and sessions keep their history, and that history never holds passport data."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bookings import history
from hengdian.roles import VISA_OFFICER, WORKSHOP_DESK
from workshops import services
from workshops.models import PASSPORT_FIELDS, Enrolment, Session

from ..auth import login_staff
from ..factories import EnrolmentFactory, SessionFactory, StaffFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


def _register(session, email, **extra):
    return services.enrolment_register(
        session=session,
        full_name="Lucía Gómez",
        email=email,
        country_of_residence="MX",
        nationality="MX",
        role=Enrolment.Role.ACTOR,
        **extra,
    ).enrolment


def _latest(enrolment):
    return enrolment.history.order_by("-history_date", "-history_id").first()


def test_register_cancel_and_promotion_are_recorded_with_who_and_why():
    session = SessionFactory(capacity=1)
    first = _register(session, "first@example.org")
    waiting = _register(session, "second@example.org")
    participant = services.participant_link_account()
    assert (_latest(first).history_user, _latest(first).status) == (participant, "confirmed")
    assert _latest(waiting).status == "waitlisted"

    services.enrolment_cancel(enrolment=first)

    cancelled, promoted = _latest(first), _latest(waiting)
    assert (cancelled.status, cancelled.history_user) == ("cancelled", participant)
    assert cancelled.history_change_reason == history.PRIVATE_LINK
    # The freed place was offered to the next person by itself: the system's doing.
    assert (promoted.status, promoted.history_user, promoted.history_change_reason) == (
        "offered",
        None,
        history.OFFERED,
    )
    # Accepting it is the participant's own doing, with their private link.
    services.enrolment_offer_accept(enrolment=waiting)
    accepted = _latest(waiting)
    assert (accepted.status, accepted.history_user, accepted.history_change_reason) == (
        "confirmed",
        participant,
        history.OFFER_ACCEPTED,
    )


def test_staff_promotion_and_cancellation_are_recorded_under_the_staff_member():
    session = SessionFactory(capacity=1)
    waiting = EnrolmentFactory(session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=1)
    desk = StaffFactory()
    session.capacity = 2
    session.save()

    services.enrolment_promote(enrolment=waiting, by=desk)
    assert (_latest(waiting).status, _latest(waiting).history_user) == ("confirmed", desk)

    services.enrolment_cancel(enrolment=waiting, by=desk, reason="Asked by phone")
    assert (_latest(waiting).history_user, _latest(waiting).history_change_reason) == (desk, "Asked by phone")


def test_an_admin_edit_of_a_session_records_the_staff_member(client):
    member = StaffMemberFactory(roles=[WORKSHOP_DESK])
    desk = login_staff(client, member)
    session = SessionFactory(capacity=5)
    local = timezone.localtime

    response = desk.post(
        reverse("admin:workshops_session_change", args=[session.pk]),
        {
            "workshop": session.workshop.pk,
            "starts_at_0": local(session.starts_at).strftime("%Y-%m-%d"),
            "starts_at_1": local(session.starts_at).strftime("%H:%M:%S"),
            "ends_at_0": local(session.ends_at).strftime("%Y-%m-%d"),
            "ends_at_1": local(session.ends_at).strftime("%H:%M:%S"),
            "venue_en": "Studio 4",
            "venue_zh_hans": "四号影棚",
            "language": session.language,
            "capacity": "8",
            "registration_closes_at_0": local(session.registration_closes_at).strftime("%Y-%m-%d"),
            "registration_closes_at_1": local(session.registration_closes_at).strftime("%H:%M:%S"),
            "status": Session.Status.OPEN,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    row = session.history.order_by("-history_id").first()
    assert (row.history_user, row.capacity, row.venue_zh_hans) == (member, 8, "四号影棚")


def _history_rows_text() -> str:
    # Every column of every historical row, read raw: nothing can hide behind a model field.
    table = connection.ops.quote_name(Enrolment.history.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM " + table)  # noqa: S608 - a model's table name, not input
        return repr(cursor.fetchall())


def test_history_never_holds_passport_data_even_after_the_purge(client):
    session = SessionFactory(starts_at=timezone.now() + timedelta(days=30))
    enrolment = _register(
        session,
        "visa@example.org",
        needs_visa_letter=True,
        passport_number="E1122334",
        passport_expiry=timezone.localdate() + timedelta(days=2000),
        date_of_birth=timezone.localdate().replace(year=1990),
    )
    services.enrolment_update(
        enrolment=enrolment,
        full_name="Lucía Gómez Ruiz",
        language="es",
        needs="",
        needs_visa_letter=True,
        passport={
            "passport_number": "G9988776",
            "passport_expiry": timezone.localdate() + timedelta(days=3000),
            "date_of_birth": timezone.localdate().replace(year=1990),
        },
    )
    # The purge, as a scheduled bulk update recorded as the system.
    history.update_recorded(
        Enrolment.objects.filter(pk=enrolment.pk),
        by=None,
        reason="Passport data deleted on schedule",
        needs_visa_letter=False,
        passport_number="",
        passport_expiry=None,
        date_of_birth=None,
    )
    enrolment.refresh_from_db()

    columns = {f.name for f in Enrolment.history.model._meta.get_fields()}
    assert not columns & {*PASSPORT_FIELDS, "manage_token"}
    stored = _history_rows_text()
    assert enrolment.history.count() == 3
    for secret in ("E1122334", "G9988776", "1990", enrolment.manage_token):
        assert secret not in stored

    # Nor does the admin History page show any, to any role.
    officer = login_staff(client, StaffMemberFactory(roles=[VISA_OFFICER]))
    page = officer.get(reverse("admin:workshops_enrolment_history", args=[enrolment.pk])).content.decode()
    assert "Lucía Gómez Ruiz" in page
    assert "E1122334" not in page and "G9988776" not in page


@pytest.mark.parametrize("changes", [2, 29])
def test_the_enrolment_history_page_lists_changes_in_a_fixed_number_of_queries(
    staff_client, django_assert_max_num_queries, changes
):
    enrolment = EnrolmentFactory()
    for n in range(changes):
        enrolment.needs = f"Need {n}"
        history.note(enrolment, by=None, reason=f"Reason {n}")
        enrolment.save()
    url = reverse("admin:workshops_enrolment_history", args=[enrolment.pk])

    with django_assert_max_num_queries(14):
        response = staff_client.get(url)

    assert response.status_code == 200
    assert f"Reason {changes - 1}" in response.content.decode()


def test_staff_without_the_view_permission_cannot_see_an_enrolment_history(client):
    from hengdian.roles import BOOKING_DESK

    enrolment = EnrolmentFactory()
    desk = login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))

    assert desk.get(reverse("admin:workshops_enrolment_history", args=[enrolment.pk])).status_code == 403
