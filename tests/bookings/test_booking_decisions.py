"""The booking desk decides with a reason: one booking from its admin page, or a shoot plan as a whole."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from bookings import services
from bookings.models import Booking, Notification
from hengdian.roles import BOOKING_DESK, VIEWER

from ..auth import login_staff
from ..factories import (
    CrewMemberFactory,
    CrewOwnerFactory,
    StaffFactory,
    StaffMemberFactory,
    StudioSetFactory,
    UserFactory,
)
from .helpers import run_concurrently
from .test_booking_request import days_from_now

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def request_plan(owner, *, parts: int = 2, start: int = 20):
    return services.shoot_plan_request(
        crew=owner.crew,
        parts=[services.SetRequest(StudioSetFactory(), days_from_now(start, 3)) for _ in range(parts)],
        by=owner,
    )


def request_booking(owner, *, start: int = 20) -> Booking:
    return request_plan(owner, parts=1, start=start).bookings.get()


def body(booking: Booking, kind: str, recipient) -> str:
    return Notification.objects.get(booking=booking, kind=kind, recipient=recipient.email).body_text


# --- Services -----------------------------------------------------------------------


def test_a_rejection_needs_a_reason_and_stores_and_emails_it(crew_owner, staff_admin):
    booking = request_booking(crew_owner)

    for blank in ("", "   \n"):
        with pytest.raises(services.BookingError) as refused:
            services.booking_reject(booking=booking, by=staff_admin, reason=blank)
        assert refused.value.field == "reason"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED
    assert not Notification.objects.filter(kind=Kind.BOOKING_REJECTED).exists()

    services.booking_reject(booking=booking, by=staff_admin, reason=" The palace roof is being repaired. ")

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert booking.decision_reason == "The palace roof is being repaired."
    assert "Reason: The palace roof is being repaired." in body(booking, Kind.BOOKING_REJECTED, crew_owner)


def test_a_confirmation_may_carry_a_note_for_the_crew(crew_owner, staff_admin):
    plain = request_booking(crew_owner)
    noted = request_booking(crew_owner, start=40)

    services.booking_confirm(booking=plain, by=staff_admin)
    services.booking_confirm(booking=noted, by=staff_admin, reason="Gate 3 opens at 6:00.")

    noted.refresh_from_db()
    assert noted.decision_reason == "Gate 3 opens at 6:00."
    assert "Note from the booking desk: Gate 3 opens at 6:00." in body(
        noted, Kind.BOOKING_CONFIRMED, crew_owner
    )
    assert "Note from the booking desk" not in body(plain, Kind.BOOKING_CONFIRMED, crew_owner)


def test_a_studio_cancellation_needs_a_reason_a_crew_one_does_not(crew_owner, staff_admin):
    by_studio = request_booking(crew_owner)
    by_crew = request_booking(crew_owner, start=40)

    with pytest.raises(services.BookingError) as refused:
        services.booking_cancel(booking=by_studio, by=staff_admin, reason=" ")
    assert refused.value.field == "reason"
    by_studio.refresh_from_db()
    assert by_studio.status == Booking.Status.REQUESTED

    services.booking_cancel(booking=by_studio, by=staff_admin, reason="Storm damage to the set.")
    services.booking_cancel(booking=by_crew, by=crew_owner)

    by_studio.refresh_from_db()
    by_crew.refresh_from_db()
    assert (by_studio.status, by_studio.cancellation_reason) == (
        Booking.Status.CANCELLED,
        "Storm damage to the set.",
    )
    assert (by_crew.status, by_crew.cancellation_reason) == (Booking.Status.CANCELLED, "")
    assert "Reason: Storm damage to the set." in body(by_studio, Kind.BOOKING_CANCELLED, crew_owner)


@pytest.mark.parametrize("language", ["zh-hans", "es"])
def test_the_reason_is_in_the_email_in_the_crews_language(crew_owner, staff_admin, language):
    reader = CrewMemberFactory(crew=crew_owner.crew, language=language)
    booking = request_booking(crew_owner)

    services.booking_reject(booking=booking, by=staff_admin, reason="Closed for a studio event")

    notification = Notification.objects.get(
        booking=booking, kind=Kind.BOOKING_REJECTED, recipient=reader.email
    )
    with translation.override(language):
        label = gettext("Reason")
    assert f"{label}: Closed for a studio event" in notification.body_text
    assert "Closed for a studio event" in notification.body_html


def test_a_plan_is_confirmed_as_a_whole_with_one_reason(crew_owner, staff_admin):
    plan = request_plan(crew_owner, parts=3)
    first, second, third = plan.bookings.order_by("pk")
    services.booking_reject(booking=third, by=staff_admin, reason="That set is closed that week")

    confirmed = services.shoot_plan_confirm(plan=plan, by=staff_admin, reason="See you on set")

    assert [b.pk for b in confirmed] == [first.pk, second.pk]
    statuses = dict(plan.bookings.values_list("pk", "status"))
    assert statuses == {first.pk: "confirmed", second.pk: "confirmed", third.pk: "rejected"}
    assert set(plan.bookings.filter(status="confirmed").values_list("decision_reason", flat=True)) == {
        "See you on set"
    }
    # The part decided on its own keeps its own reason.
    third.refresh_from_db()
    assert third.decision_reason == "That set is closed that week"
    # One email for the plan, with its reason, not one per set.
    assert not Notification.objects.filter(kind=Kind.BOOKING_CONFIRMED, recipient=crew_owner.email).exists()
    email = Notification.objects.get(kind=Kind.PLAN_CONFIRMED, recipient=crew_owner.email)
    assert "See you on set" in email.body_text


def test_a_plan_with_a_lapsed_hold_is_not_confirmed_at_all(crew_owner, staff_admin):
    plan = request_plan(crew_owner, parts=2)
    _first, second = plan.bookings.order_by("pk")
    Booking.objects.filter(pk=second.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))

    with pytest.raises(services.BookingError, match=f"The hold on {second.reference} has expired"):
        services.shoot_plan_confirm(plan=plan, by=staff_admin)

    assert set(plan.bookings.values_list("status", flat=True)) == {"requested"}
    assert not Notification.objects.filter(kind=Kind.BOOKING_CONFIRMED).exists()


def test_a_plan_rejection_needs_a_reason_and_rejects_every_requested_part(crew_owner, staff_admin):
    plan = request_plan(crew_owner, parts=2)

    with pytest.raises(services.BookingError):
        services.shoot_plan_reject(plan=plan, by=staff_admin, reason="")
    assert set(plan.bookings.values_list("status", flat=True)) == {"requested"}

    rejected = services.shoot_plan_reject(plan=plan, by=staff_admin, reason="Fully booked for the festival")

    assert len(rejected) == 2
    assert set(plan.bookings.values_list("status", "decision_reason")) == {
        ("rejected", "Fully booked for the festival")
    }
    with pytest.raises(services.BookingError, match="No booking of this plan is waiting"):
        services.shoot_plan_confirm(plan=plan, by=staff_admin)


# --- The admin: buttons and decide pages ---------------------------------------------------


def change_page(pk: int) -> str:
    return reverse("admin:bookings_booking_change", args=[pk])


def decide_url(decision: str, pk: int) -> str:
    return reverse(f"admin:bookings_booking_{decision}", args=[pk])


def test_a_request_offers_confirm_reject_and_cancel_buttons(client, crew_owner):
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    login_staff(client, desk)
    booking = request_booking(crew_owner)

    html = client.get(change_page(booking.pk)).text

    for decision in ("confirm", "reject", "cancel"):
        assert f'href="{decide_url(decision, booking.pk)}"' in html


def test_a_confirmed_booking_offers_only_cancel(client, crew_owner, staff_admin):
    login_staff(client, staff_admin)
    booking = request_booking(crew_owner)
    services.booking_confirm(booking=booking, by=staff_admin)

    html = client.get(change_page(booking.pk)).text

    assert f'href="{decide_url("cancel", booking.pk)}"' in html
    assert decide_url("confirm", booking.pk) not in html
    assert decide_url("reject", booking.pk) not in html
    # A decision the status no longer allows is refused, not applied.
    response = client.post(decide_url("reject", booking.pk), {"reason": "Too late"}, follow=True)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert "cannot be decided that way now" in response.text


@pytest.mark.parametrize("who", ["viewer", "no role"])
def test_staff_who_may_not_decide_see_no_buttons_and_get_403(client, crew_owner, who):
    user = StaffMemberFactory(roles=[VIEWER]) if who == "viewer" else UserFactory(is_staff=True)
    login_staff(client, user)
    booking = request_booking(crew_owner)

    if who == "viewer":
        html = client.get(change_page(booking.pk)).text
        assert "decide-" not in html
        plan_html = client.get(reverse("admin:bookings_shootplan_change", args=[booking.plan_id])).text
        assert "decide-" not in plan_html
    for decision in ("confirm", "reject", "cancel"):
        assert client.get(decide_url(decision, booking.pk)).status_code == 403
        assert client.post(decide_url(decision, booking.pk), {"reason": "x"}).status_code == 403
    for decision in ("confirm", "reject"):
        url = reverse(f"admin:bookings_shootplan_{decision}", args=[booking.plan_id])
        assert client.post(url, {"reason": "x"}).status_code == 403
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED


def test_rejecting_without_a_reason_says_so_next_to_the_field_and_saves_nothing(staff_client, crew_owner):
    booking = request_booking(crew_owner)

    response = staff_client.post(decide_url("reject", booking.pk), {"reason": "  "})

    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert 'class="form-row errors field-reason"' in response.text
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED
    assert not Notification.objects.filter(kind=Kind.BOOKING_REJECTED).exists()


def test_rejecting_with_a_reason_goes_back_to_the_booking_and_records_who_and_why(
    staff_client, staff_admin, crew_owner
):
    booking = request_booking(crew_owner)

    response = staff_client.post(
        decide_url("reject", booking.pk), {"reason": "Set under repair"}, follow=True
    )

    assert response.redirect_chain[-1][0] == change_page(booking.pk)
    assert f"{booking.reference} rejected." in response.text
    assert "Set under repair" in response.text  # shown on the change page
    booking.refresh_from_db()
    assert (booking.status, booking.decided_by, booking.decision_reason) == (
        Booking.Status.REJECTED,
        staff_admin,
        "Set under repair",
    )
    assert LogEntry.objects.filter(
        object_id=str(booking.pk), change_message="Rejected: Set under repair"
    ).exists()


def test_confirming_from_the_page_needs_no_reason(staff_client, crew_owner):
    booking = request_booking(crew_owner)

    page = staff_client.get(decide_url("confirm", booking.pk))
    response = staff_client.post(decide_url("confirm", booking.pk), {"reason": ""})

    assert page.status_code == 200
    assert booking.reference in page.text
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_staff_cancel_without_a_reason_is_refused_next_to_the_field(staff_client, crew_owner, staff_admin):
    booking = request_booking(crew_owner)
    services.booking_confirm(booking=booking, by=staff_admin)

    response = staff_client.post(decide_url("cancel", booking.pk), {"reason": ""})

    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_the_plan_admin_lists_parts_and_status_and_decides_the_plan(staff_client, crew_owner):
    plan = request_plan(crew_owner, parts=2)

    listing = staff_client.get(reverse("admin:bookings_shootplan_changelist")).text
    page = staff_client.get(reverse("admin:bookings_shootplan_change", args=[plan.pk])).text
    refused = staff_client.post(reverse("admin:bookings_shootplan_reject", args=[plan.pk]), {"reason": ""})
    response = staff_client.post(
        reverse("admin:bookings_shootplan_confirm", args=[plan.pk]), {"reason": "Welcome"}, follow=True
    )

    assert "2 × Requested" in listing
    assert reverse("admin:bookings_shootplan_confirm", args=[plan.pk]) in page
    assert reverse("admin:bookings_shootplan_reject", args=[plan.pk]) in page
    assert refused.status_code == 400
    assert "Plan confirmed" in response.text
    assert set(plan.bookings.values_list("status", "decision_reason")) == {("confirmed", "Welcome")}
    assert "2 × Confirmed" in staff_client.get(reverse("admin:bookings_shootplan_changelist")).text


def test_a_plan_whose_hold_lapsed_shows_the_error_and_changes_nothing(staff_client, crew_owner):
    plan = request_plan(crew_owner, parts=2)
    plan.bookings.update(hold_expires_at=timezone.now() - timedelta(minutes=5))

    response = staff_client.post(reverse("admin:bookings_shootplan_confirm", args=[plan.pk]), {"reason": ""})

    assert response.status_code == 400
    assert "has expired, so the plan cannot be confirmed" in response.text
    assert set(plan.bookings.values_list("status", flat=True)) == {"requested"}


# --- The crew's booking page --------------------------------------------------------------


def test_the_crew_reads_the_reason_next_to_the_status(
    owner_client, crew_owner, staff_admin, other_crew_member
):
    booking = request_booking(crew_owner)
    services.booking_reject(booking=booking, by=staff_admin, reason="No crane access in March")

    html = owner_client.get(booking.get_absolute_url()).text

    assert 'id="booking-reason"' in html
    assert "No crane access in March" in html
    owner_client.force_login(other_crew_member)
    assert owner_client.get(booking.get_absolute_url()).status_code == 404


# --- Races ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_plan_confirmed_while_the_crew_cancels_a_part_ends_consistent():
    owner, desk = CrewOwnerFactory(), StaffFactory()
    plan = request_plan(owner, parts=2)
    other, part = plan.bookings.order_by("pk")

    def attempt(i: int):
        if i == 0:
            return services.shoot_plan_confirm(plan=plan, by=desk, reason="Welcome")
        return services.booking_cancel(booking=part, by=owner, reason="Changed our minds")

    results = run_concurrently(2, attempt)

    confirmed, cancelled = results
    # The other part is requested whichever runs first, so the confirmation always has work to do;
    # the cancelled part ends cancelled, whether it was confirmed first or not.
    assert [b.pk for b in confirmed] in ([other.pk, part.pk], [other.pk]), results
    assert isinstance(cancelled, Booking), results
    assert sorted(plan.bookings.values_list("status", flat=True)) == ["cancelled", "confirmed"]
    part.refresh_from_db()
    assert part.cancellation_reason == "Changed our minds"
    assert (
        Notification.objects.filter(booking=part, kind=Kind.BOOKING_CANCELLED, recipient=owner.email).count()
        == 1
    )


@pytest.mark.parametrize("plans", [1, 8])
def test_the_plan_list_costs_the_same_queries_however_many_plans(
    staff_client, crew_owner, plans, django_assert_max_num_queries
):
    for i in range(plans):
        request_plan(crew_owner, parts=2, start=20 + 5 * i)

    with django_assert_max_num_queries(8):
        response = staff_client.get(reverse("admin:bookings_shootplan_changelist"))

    assert response.text.count("2 × Requested") == plans
