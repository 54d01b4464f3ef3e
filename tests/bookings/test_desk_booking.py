"""The booking desk books for a crew that phones or walks in, from the admin's "Add" page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingItem, Crew, DayRange, Notification, ShootPlan, User
from hengdian.roles import BOOKING_DESK, VIEWER

from ..auth import login_staff
from ..factories import CrewOwnerFactory, EquipmentFactory, StaffMemberFactory, StudioSetFactory

ADD = "admin:bookings_booking_add"
DESK_ADDRESS = "desk@hengdian.example"
Kind = Notification.Kind


@pytest.fixture(autouse=True)
def _desk_address(settings):
    settings.STAFF_NOTIFICATION_EMAILS = [DESK_ADDRESS]


@pytest.fixture
def desk_user(db):
    return StaffMemberFactory(roles=[BOOKING_DESK], first_name="Li", last_name="Na")


@pytest.fixture
def desk_client(client, desk_user):
    login_staff(client, desk_user)
    return client


def day(offset: int):
    return timezone.localdate() + timedelta(days=offset)


def form_data(*, studio_set, start: int = 10, end: int = 12, items=(), crew=None, new=None, **extra) -> dict:
    data = {
        "crew_choice": "new" if new else "existing",
        "crew": str(crew.pk) if crew else "",
        "parts-TOTAL_FORMS": "1",
        "parts-INITIAL_FORMS": "0",
        "parts-0-studio_set": studio_set.slug,
        "parts-0-start_date": day(start).isoformat(),
        "parts-0-end_date": day(end).isoformat(),
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "notes": "Booked on the phone with Ms Wang.",
        "save": "1",
    }
    for i, (equipment, quantity) in enumerate(items):
        data[f"items-{i}-equipment"] = equipment.slug
        data[f"items-{i}-quantity"] = str(quantity)
    for name, value in (new or {}).items():
        data[f"new-{name}"] = value
    data.update(extra)
    return data


NEW_CREW = {
    "company_name": "Golden Phoenix Media",
    "contact_phone": "+86 571 8888 1234",
    "country": "CN",
    "full_name": "Zhao Lei",
    "email": "Zhao.Lei@phoenix.example",
    "language": "zh-hans",
}


def field_errors(response, form: str, field: str) -> list[str]:
    return [str(e) for e in response.context[form][field].errors]


@pytest.mark.django_db
def test_desk_books_for_an_existing_crew_with_the_crews_own_checks_quote_and_emails(desk_client, desk_user):
    owner = CrewOwnerFactory(language="en")
    palace = StudioSetFactory(name="Palace Hall", daily_rate=Decimal("8000.00"))
    camera = EquipmentFactory(name="Vertical camera kit", daily_rate=Decimal("500.00"), stock=4)

    response = desk_client.post(
        reverse(ADD), form_data(studio_set=palace, crew=owner.crew, items=[(camera, 2)]), follow=True
    )

    booking = Booking.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:bookings_booking_change", args=[booking.pk])
    assert booking.crew == owner.crew
    assert booking.status == Booking.Status.REQUESTED
    assert booking.hold_expires_at is not None
    assert booking.created_by == desk_user
    assert booking.by_desk is True and booking.plan.by_desk is True
    assert booking.notes == "Booked on the phone with Ms Wang."
    # 3 days × (8,000 + 2 × 500)
    assert booking.quote_total == Decimal("27000.00")
    assert list(BookingItem.objects.values_list("equipment__name", "quantity")) == [
        ("Vertical camera kit", 2)
    ]
    assert booking.reference in response.text
    crew_email = Notification.objects.get(kind=Kind.BOOKING_REQUESTED)
    assert crew_email.recipient == owner.email
    assert "booking desk" in crew_email.subject.lower()
    assert "The booking desk has requested Palace Hall for you" in crew_email.body_text
    desk_email = Notification.objects.get(kind=Kind.BOOKING_REQUEST_RECEIVED)
    assert desk_email.recipient == DESK_ADDRESS
    assert "Li Na of the booking desk requested Palace Hall" in desk_email.body_text
    assert LogEntry.objects.filter(object_id=str(booking.pk), user=desk_user).exists()


@pytest.mark.django_db
def test_desk_opens_a_new_crew_whose_owner_is_invited_and_booked_for(desk_client, desk_user):
    palace = StudioSetFactory(name="Palace Hall", daily_rate=Decimal("8000.00"))

    response = desk_client.post(reverse(ADD), form_data(studio_set=palace, new=NEW_CREW), follow=True)

    crew = Crew.objects.get(name="Golden Phoenix Media")
    assert (crew.contact_phone, crew.country.code) == ("+86 571 8888 1234", "CN")
    owner = User.objects.get(crew=crew)
    assert owner.email == "zhao.lei@phoenix.example"
    assert owner.first_name == "Zhao Lei"
    assert owner.crew_role == User.CrewRole.OWNER
    assert owner.language == "zh-hans"
    assert not owner.has_usable_password()  # chosen from the emailed link
    booking = Booking.objects.get()
    assert booking.crew == crew and booking.by_desk and booking.created_by == desk_user
    assert booking.quote_total == Decimal("24000.00")
    invitation = Notification.objects.get(kind=Kind.ACCOUNT_INVITATION)
    assert invitation.recipient == owner.email and invitation.account == owner
    assert invitation.language == "zh-hans"
    assert "[[set-password-link]]" in invitation.body_text
    assert Notification.objects.get(kind=Kind.BOOKING_REQUESTED).recipient == owner.email
    assert Notification.objects.get(kind=Kind.BOOKING_REQUEST_RECEIVED).recipient == DESK_ADDRESS
    assert "zhao.lei@phoenix.example" in response.text


@pytest.mark.django_db
def test_the_invitation_to_a_crew_the_desk_opened_says_who_opened_it(desk_user):
    palace = StudioSetFactory()
    new_crew = services.NewCrew(
        name="Golden Phoenix Media",
        contact_phone="+86 571 8888 1234",
        country="CN",
        owner_name="Zhao Lei",
        owner_email="zhao.lei@phoenix.example",
    )
    services.desk_shoot_plan_request(
        new_crew=new_crew, parts=[services.SetRequest(palace, DayRange(day(5), day(6)))], by=desk_user
    )

    invitation = Notification.objects.get(kind=Kind.ACCOUNT_INVITATION)
    assert "The booking desk of Hengdian World Studios opened an account for Golden Phoenix Media" in (
        invitation.body_text
    )


def assert_nothing_written(crews_before: int, users_before: int) -> None:
    assert Crew.objects.count() == crews_before
    assert User.objects.count() == users_before
    assert not ShootPlan.objects.exists()
    assert not Booking.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_clash_is_shown_beside_the_dates_and_leaves_no_new_crew_behind(desk_client):
    palace = StudioSetFactory(name="Palace Hall")
    other = CrewOwnerFactory()
    services.booking_request(crew=other.crew, studio_set=palace, days=DayRange(day(10), day(12)), by=other)
    Notification.objects.all().delete()
    crews, users, plans = Crew.objects.count(), User.objects.count(), ShootPlan.objects.count()

    response = desk_client.post(reverse(ADD), form_data(studio_set=palace, start=11, end=13, new=NEW_CREW))

    assert response.status_code == 400
    errors = [str(e) for e in response.context["parts"].forms[0].errors["start_date"]]
    assert errors and "Palace Hall is already taken" in errors[0]
    assert (Crew.objects.count(), User.objects.count()) == (crews, users)
    assert ShootPlan.objects.count() == plans
    assert not User.objects.filter(email="zhao.lei@phoenix.example").exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_stock_shortage_is_shown_beside_the_quantity_and_nothing_is_saved(desk_client):
    palace = StudioSetFactory()
    camera = EquipmentFactory(name="Vertical camera kit", stock=3)
    other = CrewOwnerFactory()
    services.booking_request(
        crew=other.crew,
        studio_set=StudioSetFactory(),
        days=DayRange(day(10), day(12)),
        items=[services.ItemRequest(camera, 2)],
        by=other,
    )
    Notification.objects.all().delete()
    crews, users = Crew.objects.count(), User.objects.count()

    response = desk_client.post(reverse(ADD), form_data(studio_set=palace, items=[(camera, 2)], new=NEW_CREW))

    assert response.status_code == 400
    errors = [str(e) for e in response.context["items"].forms[0].errors["quantity"]]
    assert errors and "Not enough Vertical camera kit" in errors[0]
    assert (Crew.objects.count(), User.objects.count()) == (crews, users)
    assert Booking.objects.count() == 1  # the other crew's
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_a_registered_owner_email_is_refused_beside_the_field(desk_client):
    owner = CrewOwnerFactory(email="zhao.lei@phoenix.example")
    palace = StudioSetFactory()
    crews, users = Crew.objects.count(), User.objects.count()

    response = desk_client.post(reverse(ADD), form_data(studio_set=palace, new=NEW_CREW))

    assert response.status_code == 400
    assert field_errors(response, "new_crew_form", "email") == [
        "zhao.lei@phoenix.example already has an account; choose that person's crew instead."
    ]
    assert_nothing_written(crews, users)
    owner.refresh_from_db()
    assert owner.crew.name != "Golden Phoenix Media"


@pytest.mark.django_db
def test_bad_dates_and_a_missing_crew_are_shown_beside_their_fields(desk_client):
    palace = StudioSetFactory()
    crews, users = Crew.objects.count(), User.objects.count()

    response = desk_client.post(reverse(ADD), form_data(studio_set=palace, start=12, end=10))

    assert response.status_code == 400
    assert field_errors(response, "crew_form", "crew") == ["Choose the crew, or open a new one below."]
    assert [str(e) for e in response.context["parts"].forms[0].errors["end_date"]] == [
        "The last shoot day cannot be before the first."
    ]
    assert_nothing_written(crews, users)


@pytest.mark.django_db
def test_the_page_previews_the_quote_without_saving(desk_client):
    owner = CrewOwnerFactory()
    palace = StudioSetFactory(daily_rate=Decimal("1000.00"))
    data = form_data(studio_set=palace, crew=owner.crew, preview="1")
    del data["save"]

    response = desk_client.post(reverse(ADD), data)

    assert response.status_code == 200
    assert response.context["total"] == Decimal("3000.00")
    assert "¥3,000.00" in response.text
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_the_page_offers_a_crew_search_and_the_new_crew_fields(desk_client):
    response = desk_client.get(reverse(ADD))

    assert response.status_code == 200
    assert 'data-model-name="booking"' in response.text  # the admin's autocomplete for crews
    assert 'name="new-company_name"' in response.text
    assert 'name="new-email"' in response.text
    # The shoot plan list's "Add" is the same page.
    assert desk_client.get(reverse("admin:bookings_shootplan_add")).status_code == 200


@pytest.mark.django_db
def test_staff_without_the_desk_permission_get_403_and_no_add_button(client):
    viewer = StaffMemberFactory(roles=[VIEWER])
    login_staff(client, viewer)
    palace = StudioSetFactory()
    owner = CrewOwnerFactory()

    assert client.get(reverse(ADD)).status_code == 403
    assert client.post(reverse(ADD), form_data(studio_set=palace, crew=owner.crew)).status_code == 403
    assert client.get(reverse("admin:bookings_shootplan_add")).status_code == 403
    assert reverse(ADD) not in client.get(reverse("admin:bookings_booking_changelist")).text
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_someone_who_is_not_the_desk():
    outsider = CrewOwnerFactory()
    owner = CrewOwnerFactory()
    with pytest.raises(services.BookingError):
        services.desk_shoot_plan_request(
            crew=owner.crew,
            parts=[services.SetRequest(StudioSetFactory(), DayRange(day(5), day(6)))],
            by=outsider,
        )
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_the_crew_sees_that_the_desk_booked_for_them_and_the_admin_list_says_so(
    desk_client, desk_user, client
):
    owner = CrewOwnerFactory()
    palace = StudioSetFactory()
    booking = services.desk_shoot_plan_request(
        crew=owner.crew, parts=[services.SetRequest(palace, DayRange(day(5), day(6)))], by=desk_user
    ).bookings.get()
    own = services.booking_request(
        crew=owner.crew, studio_set=StudioSetFactory(), days=DayRange(day(5), day(6)), by=owner
    )
    assert not own.by_desk

    changelist = desk_client.get(reverse("admin:bookings_booking_changelist"), {"by_desk__exact": "1"})
    assert booking.reference in changelist.text and own.reference not in changelist.text

    client.force_login(owner)
    detail = client.get(booking.get_absolute_url())
    assert "Booked for you by the booking desk" in detail.text
    assert "Booked for you by the booking desk" not in client.get(own.get_absolute_url()).text
    listing = client.get(reverse("bookings:list"))
    assert listing.text.count("Booked for you by the booking desk") == 1


@pytest.mark.django_db
def test_the_service_itself_refuses_a_registered_owner_address_and_writes_nothing(desk_user):
    CrewOwnerFactory(email="zhao.lei@phoenix.example")
    crews, users = Crew.objects.count(), User.objects.count()
    new_crew = services.NewCrew(
        name="Golden Phoenix Media",
        contact_phone="+86 571 8888 1234",
        country="CN",
        owner_name="Zhao Lei",
        owner_email="ZHAO.LEI@phoenix.example",
    )

    with pytest.raises(services.BookingError) as refused:
        services.desk_shoot_plan_request(
            new_crew=new_crew,
            parts=[services.SetRequest(StudioSetFactory(), DayRange(day(5), day(6)))],
            by=desk_user,
        )

    assert refused.value.field == "owner_email"
    assert_nothing_written(crews, users)
