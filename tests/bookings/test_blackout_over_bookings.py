"""Closing a set or taking units out over days that crews hold is never done unawares."""

import pytest
from django.urls import reverse

from bookings import services
from bookings.models import Blackout, Booking
from bookings.services import ItemRequest

from ..factories import CrewOwnerFactory, EquipmentFactory, StudioSetFactory
from .test_booking_request import days_from_now

pytestmark = pytest.mark.django_db


def book(studio_set=None, items=(), days=None) -> Booking:
    owner = CrewOwnerFactory()
    return services.booking_request(
        crew=owner.crew,
        studio_set=studio_set or StudioSetFactory(),
        days=days or days_from_now(10, 3),
        items=list(items),
        by=owner,
    )


def post(client, **fields):
    data = {"reason": "maintenance", "note": "", "units": "", "studio_set": "", "equipment": ""}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(reverse("admin:bookings_blackout_add"), data)


def test_closing_a_set_over_a_booking_names_it_and_saves_only_when_confirmed(staff_client):
    booking = book()
    days = days_from_now(11, 2)
    fields = {"studio_set": booking.studio_set.pk, "start_date": days.start, "end_date": days.end}

    response = post(staff_client, **fields)

    assert response.status_code == 200
    page = response.content.decode()
    assert booking.reference in page and booking.crew.name in page and "Close anyway" in page
    assert not Blackout.objects.exists()

    response = post(staff_client, **fields, close_over_bookings="on")

    assert response.status_code == 302
    assert Blackout.objects.get().studio_set == booking.studio_set
    booking.refresh_from_db()
    assert booking.is_active  # the crew is told by the desk; the booking itself is untouched


def test_closing_free_days_asks_nothing(staff_client):
    booking = book()
    days = days_from_now(20, 2)  # after the booking and its changeover

    response = post(staff_client, studio_set=booking.studio_set.pk, start_date=days.start, end_date=days.end)

    assert response.status_code == 302
    assert Blackout.objects.count() == 1


def test_taking_units_out_asks_only_when_crews_would_be_short(staff_client):
    camera = EquipmentFactory(stock=3)
    booking = book(items=[ItemRequest(camera, 2)])
    days = booking.days

    fits = post(staff_client, equipment=camera.pk, units=1, start_date=days.start, end_date=days.end)
    assert fits.status_code == 302

    short = post(staff_client, equipment=camera.pk, units=1, start_date=days.start, end_date=days.start)
    assert short.status_code == 200  # 2 held + 1 already out + 1 more > 3
    assert booking.reference in short.content.decode()
    assert Blackout.objects.count() == 1


def test_changing_a_blackout_does_not_count_itself(staff_client):
    camera = EquipmentFactory(stock=3)
    booking = book(items=[ItemRequest(camera, 2)])
    blackout = Blackout.objects.create(
        equipment=camera, units=1, start_date=booking.start_date, end_date=booking.end_date
    )

    response = staff_client.post(
        reverse("admin:bookings_blackout_change", args=[blackout.pk]),
        {
            "equipment": camera.pk,
            "studio_set": "",
            "units": "1",
            "start_date": str(booking.start_date),
            "end_date": str(booking.end_date),
            "reason": "maintenance",
            "note": "checked again",
        },
    )

    assert response.status_code == 302
    blackout.refresh_from_db()
    assert blackout.note == "checked again"


# --- The crews are told ---------------------------------------------------------------


def test_closing_a_set_over_a_confirmed_booking_emails_its_crew_once(staff_client, staff_admin):
    from bookings.models import Notification

    booking = services.booking_confirm(booking=book(), by=staff_admin)
    days = days_from_now(11, 2)
    fields = {"studio_set": booking.studio_set.pk, "start_date": days.start, "end_date": days.end}

    response = post(staff_client, **fields, close_over_bookings="on")

    assert response.status_code == 302
    told = Notification.objects.filter(kind=Notification.Kind.BOOKING_CLOSED_OVER)
    assert list(told.values_list("recipient", flat=True)) == [booking.crew.members.get().email]
    email = told.get()
    assert booking.reference in email.subject and booking.studio_set.name in email.body_text
    blackout = Blackout.objects.get()
    again = staff_client.post(
        reverse("admin:bookings_blackout_change", args=[blackout.pk]),
        {
            "studio_set": booking.studio_set.pk,
            "equipment": "",
            "units": "",
            "start_date": str(days.start),
            "end_date": str(days.end),
            "reason": "maintenance",
            "note": "roof",
            "close_over_bookings": "on",
        },
    )
    assert again.status_code == 302
    assert told.count() == 1  # the same days: nobody hears twice


def test_taking_out_units_a_booking_needs_emails_its_crew(staff_client, staff_admin):
    from bookings.models import Notification

    camera = EquipmentFactory(stock=2)
    booking = services.booking_confirm(booking=book(items=[ItemRequest(camera, 2)]), by=staff_admin)
    days = booking.days

    response = post(
        staff_client,
        equipment=camera.pk,
        units=1,
        start_date=days.start,
        end_date=days.start,
        close_over_bookings="on",
    )

    assert response.status_code == 302
    email = Notification.objects.get(kind=Notification.Kind.BOOKING_CLOSED_OVER)
    assert camera.name in email.body_text and "1 unit" in email.body_text


def test_a_new_where_to_go_is_emailed_to_crews_with_coming_confirmed_bookings(staff_client, staff_admin):
    from bookings.models import Notification

    studio_set = StudioSetFactory(location="North gate")
    coming = services.booking_confirm(booking=book(studio_set=studio_set), by=staff_admin)
    book(studio_set=studio_set, days=days_from_now(40, 2))  # only requested: nothing to tell yet
    url = reverse("admin:bookings_studioset_change", args=[studio_set.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0", "_save": "Save"})

    unchanged = staff_client.post(url, data)
    assert unchanged.status_code == 302
    assert not Notification.objects.filter(kind=Notification.Kind.BOOKING_LOCATION_CHANGED).exists()

    data["location_en"] = "South gate, by the car park"
    assert staff_client.post(url, data).status_code == 302

    email = Notification.objects.get(kind=Notification.Kind.BOOKING_LOCATION_CHANGED)
    assert email.booking == coming
    assert "North gate" in email.body_text and "South gate, by the car park" in email.body_text
