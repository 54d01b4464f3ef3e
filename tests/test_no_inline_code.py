"""No page carries inline script or style, which the Content-Security-Policy would block.

The browser test (tests/browser/test_content_security_policy.py) proves the
main pages work under the policy; this one reads the HTML of many more pages,
public and admin, for anything inline: <style>, <script> without src,
style="" and on…="" attributes, javascript: links.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import Booking, DayRange, Notification, SetPhoto

from .auth import staff_device
from .bookings.test_set_photos import png_bytes
from .factories import EnrolmentFactory, EquipmentFactory, SessionFactory, StaffFactory, StudioSetFactory

# JSON data islands are not executed, so the policy does not apply to them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class _InlineCode(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in attributes and attributes.get("type") not in DATA_SCRIPT_TYPES:
            self.found.append("<script> without src")
        for name, value in attributes.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def _assert_no_inline_code(client, urls):
    problems = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if found := inline_code(response.content.decode()):
            problems[url] = found
    assert not problems


@pytest.fixture
def catalogue(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    studio_set = StudioSetFactory(name="Rooftop")
    SetPhoto.objects.create(studio_set=studio_set, image=SimpleUploadedFile("roof.png", png_bytes()))
    EquipmentFactory()
    session = SessionFactory()
    session.workshop.cover_image = SimpleUploadedFile("cover.png", png_bytes())
    session.workshop.save()
    return studio_set, session


@pytest.mark.django_db
def test_public_pages_have_no_inline_code(client, catalogue):
    studio_set, session = catalogue
    next_month = (timezone.localdate().replace(day=1) + timedelta(days=32)).replace(day=1)
    _assert_no_inline_code(
        client,
        [
            "/",
            "/sets/",
            studio_set.get_absolute_url(),
            f"{studio_set.get_absolute_url()}?month={next_month:%Y-%m}",
            "/equipment/",
            "/workshops/",
            session.workshop.get_absolute_url(),
            reverse("workshops:register", args=[session.pk]),
            reverse("login"),
            reverse("signup"),
            reverse("password_reset"),
        ],
    )


@pytest.mark.django_db
def test_crew_pages_have_no_inline_code(owner_client, crew_owner, catalogue):
    studio_set, _session = catalogue
    start = timezone.localdate() + timedelta(days=10)
    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=studio_set,
        days=DayRange(start, start + timedelta(days=2)),
        by=crew_owner,
    )
    _assert_no_inline_code(
        owner_client,
        [
            reverse("bookings:crew"),
            reverse("bookings:list"),
            f"{reverse('bookings:new')}?set={studio_set.slug}",
            booking.get_absolute_url(),
            reverse("bookings:cancel", args=[booking.reference]),
        ],
    )


@pytest.mark.django_db
def test_participant_pages_have_no_inline_code(client):
    enrolment = EnrolmentFactory()
    _assert_no_inline_code(
        client, [enrolment.get_absolute_url(), reverse("workshops:cancel", args=[enrolment.manage_token])]
    )


@pytest.mark.django_db
def test_admin_pages_have_no_inline_code(staff_client, staff_admin, crew_owner, catalogue, rf):
    studio_set, _session = catalogue
    start = timezone.localdate() + timedelta(days=10)
    booking = services.booking_request(
        crew=crew_owner.crew,
        studio_set=studio_set,
        days=DayRange(start, start + timedelta(days=2)),
        by=crew_owner,
    )
    enrolment = EnrolmentFactory()
    urls = ["/admin/", reverse("admin:bookings_booking_occupancy"), reverse("admin:bookings_booking_export")]
    request = rf.get("/admin/")
    request.user = staff_admin
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
    urls += [
        reverse("admin:bookings_booking_change", args=[booking.pk]),
        reverse("admin:workshops_enrolment_change", args=[enrolment.pk]),
        # The History pages (simple-history's own list template has an inline style).
        reverse("admin:bookings_booking_history", args=[booking.pk]),
        reverse("admin:workshops_enrolment_history", args=[enrolment.pk]),
        reverse("admin:bookings_crew_change", args=[crew_owner.crew.pk]),
        reverse("admin:bookings_user_change", args=[crew_owner.pk]),
        reverse("admin:bookings_notification_change", args=[Notification.objects.first().pk]),
        f"{reverse('admin:bookings_booking_changelist')}?start_date__year={start.year}",
        # The staff log-in's second step (a verified session: set-up is for a new phone).
        reverse("two_factor_setup"),
    ]
    assert Notification.objects.exists()  # the outbox changelist lists something
    _assert_no_inline_code(staff_client, urls)


@pytest.mark.django_db
def test_a_changelist_without_actions_keeps_its_layout_without_inline_style(staff_client, monkeypatch):
    booking_admin = admin.site._registry[Booking]
    monkeypatch.setattr(booking_admin, "actions_on_top", False)
    monkeypatch.setattr(booking_admin, "actions_on_bottom", False)

    page = staff_client.get(reverse("admin:bookings_booking_changelist")).content.decode()

    assert inline_code(page) == []
    assert "no-actions" in page.split("<body", 1)[1].split(">", 1)[0]
    assert "css/admin.css" in page


@pytest.mark.django_db
def test_the_second_step_of_the_staff_log_in_has_no_inline_code(client):
    staff = StaffFactory()
    client.force_login(staff)
    _assert_no_inline_code(client, [reverse("two_factor_setup")])
    staff_device(staff)
    _assert_no_inline_code(client, [reverse("two_factor")])
    response = client.post(reverse("two_factor"), {"code": "000000"})
    assert inline_code(response.content.decode()) == []
