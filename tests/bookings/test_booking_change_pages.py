"""The crew's change page, the booking page's pending change, and the desk's decision page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, DayRange, Notification
from hengdian.roles import BOOKING_DESK, VIEWER

from ..auth import login_staff
from ..factories import EquipmentFactory, StaffMemberFactory, StudioSetFactory


@pytest.fixture
def desk(db):
    return StaffMemberFactory(roles=[BOOKING_DESK])


@pytest.fixture
def confirmed(crew_owner, desk):
    today = timezone.localdate()
    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=StudioSetFactory(changeover_days=0),
        days=DayRange(today + timedelta(days=10), today + timedelta(days=14)),
        items=[services.ItemRequest(EquipmentFactory(stock=4), 1)],
        by=crew_owner,
    )
    return services.booking_confirm(booking=booking, by=desk)


def change_data(booking: Booking, *, shift: int = 1, quantity: int = 1, **extra) -> dict:
    item = booking.items.get()
    data = {
        "part-studio_set": booking.studio_set.slug,
        "part-start_date": (booking.start_date + timedelta(days=shift)).isoformat(),
        "part-end_date": (booking.end_date + timedelta(days=shift)).isoformat(),
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-equipment": item.equipment.slug,
        "items-0-quantity": str(quantity),
        "notes": booking.notes,
    }
    data.update(extra)
    return data


@pytest.mark.django_db
def test_crew_moves_a_confirmed_booking_and_sees_the_change_waiting(owner_client, confirmed):
    url = reverse("bookings:change", args=[confirmed.reference])
    page = owner_client.get(url)
    assert page.status_code == 200
    assert confirmed.studio_set.slug in page.content.decode()

    response = owner_client.post(url, change_data(confirmed))

    assert response.status_code == 302
    change = Booking.objects.get(change_of=confirmed)
    assert change.status == Booking.Status.CHANGE
    detail = owner_client.get(confirmed.get_absolute_url()).content.decode()
    assert 'id="pending-change"' in detail
    assert "Withdraw the change" in detail


@pytest.mark.django_db
def test_a_clash_is_shown_next_to_the_dates_and_nothing_is_saved(owner_client, confirmed, other_crew_member):
    blocker = services.booking_request(
        crew=other_crew_member.crew,
        studio_set=confirmed.studio_set,
        days=DayRange(confirmed.end_date + timedelta(days=1), confirmed.end_date + timedelta(days=3)),
        by=other_crew_member,
    )
    assert blocker.pk
    response = owner_client.post(
        reverse("bookings:change", args=[confirmed.reference]), change_data(confirmed, shift=2)
    )
    assert response.status_code == 400
    errors = response.context["part"].errors
    assert "already taken" in " ".join(errors["start_date"])
    assert not Booking.objects.filter(change_of=confirmed).exists()


@pytest.mark.django_db
def test_preview_prices_the_change_without_saving(owner_client, confirmed):
    response = owner_client.post(
        reverse("bookings:change", args=[confirmed.reference]),
        change_data(confirmed, quantity=3, preview="1"),
    )
    assert response.status_code == 200
    assert response.context["quote"]["total"] > confirmed.quote_total
    assert not Booking.objects.filter(change_of=confirmed).exists()


@pytest.mark.django_db
def test_another_crew_gets_404(client, other_crew_member, confirmed):
    client.force_login(other_crew_member)
    url = reverse("bookings:change", args=[confirmed.reference])
    assert client.get(url).status_code == 404
    assert client.post(url, change_data(confirmed)).status_code == 404
    assert not Booking.objects.filter(change_of=confirmed).exists()


@pytest.mark.django_db
def test_desk_approves_with_a_reason_and_the_crew_sees_the_new_days(owner_client, confirmed, desk):
    change = services.booking_change(
        booking=confirmed,
        change=services.BookingChange(
            confirmed.studio_set,
            DayRange(confirmed.start_date + timedelta(days=1), confirmed.end_date + timedelta(days=1)),
            [services.ItemRequest(i.equipment, i.quantity) for i in confirmed.items.all()],
        ),
        by=confirmed.created_by,
    )
    staff = login_staff(Client(), desk)
    admin_page = staff.get(reverse("admin:bookings_booking_change", args=[confirmed.pk])).content.decode()
    approve_url = reverse("admin:bookings_booking_change_decision", args=[change.pk, "approve"])
    assert approve_url in admin_page

    response = staff.post(approve_url, {"reason": "The hall is free that day"})

    assert response.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.start_date == change.start_date
    detail = owner_client.get(confirmed.get_absolute_url()).content.decode()
    assert "The hall is free that day" in detail
    assert Notification.objects.filter(kind=Notification.Kind.BOOKING_CHANGE_APPROVED).exists()


@pytest.mark.django_db
def test_refusing_needs_a_reason_and_viewers_cannot_decide(client, confirmed, desk):
    change = services.booking_change(
        booking=confirmed,
        change=services.BookingChange(
            confirmed.studio_set,
            DayRange(confirmed.start_date, confirmed.end_date + timedelta(days=1)),
            [services.ItemRequest(i.equipment, i.quantity) for i in confirmed.items.all()],
        ),
        by=confirmed.created_by,
    )
    url = reverse("admin:bookings_booking_change_decision", args=[change.pk, "refuse"])
    viewer = login_staff(client, StaffMemberFactory(roles=[VIEWER]))
    assert viewer.post(url, {"reason": "no"}).status_code == 403
    viewer.logout()
    staff = login_staff(client, desk)
    response = staff.post(url, {"reason": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    change.refresh_from_db()
    assert change.status == Booking.Status.CHANGE
    assert staff.post(url, {"reason": "Rig day"}).status_code == 302
    change.refresh_from_db()
    assert (change.status, change.change_reason) == (Booking.Status.CHANGE_REFUSED, "Rig day")


@pytest.mark.django_db
def test_staff_who_may_only_look_see_the_change_without_its_buttons(confirmed):
    change = services.booking_change(
        booking=confirmed,
        change=services.BookingChange(
            confirmed.studio_set,
            DayRange(confirmed.start_date, confirmed.end_date + timedelta(days=1)),
            [services.ItemRequest(i.equipment, i.quantity) for i in confirmed.items.all()],
        ),
        by=confirmed.created_by,
    )
    viewer = login_staff(Client(), StaffMemberFactory(roles=[VIEWER]))
    page = viewer.get(reverse("admin:bookings_booking_change", args=[confirmed.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert change.reference in html
    assert reverse("admin:bookings_booking_change_decision", args=[change.pk, "approve"]) not in html
