import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from bookings import services
from bookings.models import Booking, Equipment, Handover, StudioSet, User
from hengdian import roles
from workshops.models import Session

from .auth import login_staff
from .factories import StaffMemberFactory


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", force=True)
    counts = (
        StudioSet.objects.count(),
        Equipment.objects.count(),
        Session.objects.count(),
        User.objects.count(),
    )
    call_command("seed_demo", force=True)
    again = (
        StudioSet.objects.count(),
        Equipment.objects.count(),
        Session.objects.count(),
        User.objects.count(),
    )
    assert counts == again
    assert counts[0] >= 12
    # Red Lantern's plan (one part confirmed, one requested); Silver Bamboo's shoot today and last week's.
    assert Booking.objects.bookings().count() == 4
    assert set(Booking.objects.bookings().values_list("status", flat=True)) == {"requested", "confirmed"}
    # Tagged units for the camera kits, gimbals and LED panels; a kit; one unit overdue, one collected today.
    assert set(Equipment.objects.filter(tracks_units=True).values_list("slug", flat=True)) == {
        "vertical-camera-kit",
        "three-axis-gimbal",
        "led-panel-1x1",
    }
    assert Equipment.objects.get(slug="vertical-interview-package").components.count() == 4
    assert sorted(Handover.objects.out().values_list("unit__asset_tag", flat=True)) == [
        "CAM-0012",
        "GIM-0010",
    ]
    # Invoices: Silver Bamboo's shoot today paid in full, last week's overdue.
    today = timezone.localdate()
    states = sorted(i.payment_state(paid=i.paid, today=today) for i in services.invoices_with_paid())
    assert states == ["overdue", "paid"]
    # and one change asked for the confirmed booking, waiting for the desk
    assert Booking.objects.filter(status=Booking.Status.CHANGE, change_of__status="confirmed").count() == 1
    assert User.objects.filter(is_staff=True).exists()
    assert User.objects.filter(crew__isnull=False).exists()


@pytest.mark.django_db
def test_home_explains_and_links_to_sets_and_workshops(client):
    call_command("seed_demo", force=True)
    page = client.get("/").content.decode()
    assert reverse("bookings:set_list") in page
    assert reverse("workshops:list") in page
    assert "Asia/Shanghai" in page
    assert "Micro-drama production intensive" in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["bookings:set_list", "bookings:equipment_list", "workshops:list"])
def test_catalogue_pages_show_demo_data_to_anyone(client, name):
    call_command("seed_demo", force=True)
    response = client.get(reverse(name))
    assert response.status_code == 200
    text = response.content.decode()
    assert any(
        s in text for s in ("Ming-Qing palace hall", "Vertical camera kit", "Acting for vertical screens")
    )


@pytest.mark.django_db
def test_set_detail_shows_the_set_and_404s_for_inactive_ones(client):
    call_command("seed_demo", force=True)
    studio_set = StudioSet.objects.get(slug="modern-ceo-office")
    assert "Modern CEO office" in client.get(studio_set.get_absolute_url()).content.decode()
    studio_set.is_active = False
    studio_set.save()
    assert client.get(studio_set.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


@pytest.mark.django_db
def test_a_staff_member_without_the_permission_gets_a_friendly_403_in_their_language(client, settings):
    settings.DEBUG = False
    visa_officer = StaffMemberFactory(roles=[roles.VISA_OFFICER])
    login_staff(client, visa_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get(reverse("admin:bookings_equipment_add"))

    assert response.status_code == 403
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and "Forbidden" not in page
    with translation.override("zh-hans"):
        assert translation.gettext("You cannot open this page") in page


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_cookie_gets_a_friendly_403(settings):
    settings.DEBUG = False
    response = Client(enforce_csrf_checks=True, headers={"accept-language": "es"}).post(
        reverse("login"), {"username": "a@example.com", "password": "x"}
    )

    assert response.status_code == 403
    with translation.override("es"):
        assert translation.gettext("The form could not be sent") in response.content.decode()


@pytest.mark.django_db
def test_admin_is_staff_only(client, crew_owner, staff_admin):
    client.force_login(crew_owner)
    assert client.get(reverse("admin:index")).status_code == 302
    login_staff(client, staff_admin)
    for name in ["admin:index", "admin:bookings_crew_changelist", "admin:bookings_user_changelist"]:
        assert client.get(reverse(name)).status_code == 200
