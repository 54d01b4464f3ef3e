"""What crews and the booking desk are told about their bookings: once, in their language."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from bookings import emails, services
from bookings.models import Booking, Notification

from ..auth import login_staff
from ..factories import CrewMemberFactory, EquipmentFactory, StudioSetFactory
from .test_booking_request import days_from_now

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
LANGUAGES = ["en", "zh-hans", "es"]


@pytest.fixture
def request_booking(crew_owner, django_capture_on_commit_callbacks):
    """A crew's request for three days on a set with two camera kits, sent through the outbox."""

    def request(**kwargs) -> Booking:
        with django_capture_on_commit_callbacks(execute=True):
            return services.booking_request(
                crew=crew_owner.crew,
                studio_set=kwargs.pop("studio_set", None)
                or StudioSetFactory(location="Palace area, north gate"),
                days=kwargs.pop("days", days_from_now(10, 3)),
                items=[services.ItemRequest(EquipmentFactory(name="Vertical camera kit"), 2)],
                by=crew_owner,
                **kwargs,
            )

    return request


def sent_to(kind: str) -> dict[str, str]:
    """recipient → language of the sent notifications of ``kind``."""
    rows = Notification.objects.filter(kind=kind, status=Notification.Status.SENT)
    return dict(rows.values_list("recipient", "language"))


def test_a_request_tells_every_crew_member_and_the_booking_desk_once_each_in_their_language(
    crew_owner, staff_admin, request_booking, settings
):
    member = CrewMemberFactory(crew=crew_owner.crew, language="zh-hans")
    CrewMemberFactory(crew=crew_owner.crew, is_active=False)  # left the crew: not told
    CrewMemberFactory(language="es")  # another crew: not told
    staff_admin.language = "es"
    staff_admin.save()
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example", staff_admin.email.upper()]

    booking = request_booking()

    assert sent_to(Kind.BOOKING_REQUESTED) == {crew_owner.email: "en", member.email: "zh-hans"}
    assert sent_to(Kind.BOOKING_REQUEST_RECEIVED) == {"desk@hengdian.example": "en", staff_admin.email: "es"}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [crew_owner.email, member.email, "desk@hengdian.example", staff_admin.email]
    )
    desk = next(m for m in mail.outbox if m.to == ["desk@hengdian.example"])
    assert reverse("admin:bookings_booking_change", args=[booking.pk]) in desk.body
    assert booking.crew.name in desk.subject
    assert Notification.objects.filter(booking=booking).count() == 4


def test_a_request_that_fails_queues_nothing(crew_owner, other_crew_member, request_booking):
    studio_set = StudioSetFactory()
    request_booking(studio_set=studio_set)
    mail.outbox.clear()
    before = Notification.objects.count()

    with pytest.raises(services.BookingError):
        services.booking_request(
            crew=other_crew_member.crew,
            studio_set=studio_set,
            days=days_from_now(10, 3),
            by=other_crew_member,
        )

    assert Notification.objects.count() == before
    assert mail.outbox == []


def test_a_rolled_back_decision_leaves_no_message(request_booking, staff_admin):
    booking = request_booking()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.booking_confirm(booking=booking, by=staff_admin)
        raise RuntimeError("the admin request failed after the service ran")

    assert not Notification.objects.filter(kind=Kind.BOOKING_CONFIRMED).exists()


@pytest.mark.parametrize(
    ("decide", "kind"),
    [
        (lambda b, staff, owner: services.booking_confirm(booking=b, by=staff), Kind.BOOKING_CONFIRMED),
        (
            lambda b, staff, owner: services.booking_reject(booking=b, by=staff, reason="Not available"),
            Kind.BOOKING_REJECTED,
        ),
        (lambda b, staff, owner: services.booking_cancel(booking=b, by=owner), Kind.BOOKING_CANCELLED),
    ],
    ids=["confirmed", "rejected", "cancelled"],
)
def test_each_decision_tells_the_crew_once(
    decide, kind, request_booking, crew_owner, staff_admin, django_capture_on_commit_callbacks
):
    booking = request_booking()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        decide(booking, staff_admin, crew_owner)
    # The same notice again, e.g. from a retried request, is not sent twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert emails.booking_notify(booking=booking, kind=kind, by=crew_owner) == 0

    assert sent_to(kind) == {crew_owner.email: "en"}
    assert [m.to for m in mail.outbox] == [[crew_owner.email]]
    assert booking.reference in mail.outbox[0].subject


def test_an_expired_hold_is_never_silent(
    request_booking, crew_owner, settings, django_capture_on_commit_callbacks
):
    booking = request_booking()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_expire_stale_holds(now=booking.hold_expires_at)
        services.booking_expire_stale_holds(now=booking.hold_expires_at + timedelta(minutes=1))

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert sent_to(Kind.BOOKING_HOLD_EXPIRED) == {crew_owner.email: "en"}
    assert len(mail.outbox) == 1


def test_a_cancellation_says_who_cancelled(
    request_booking, crew_owner, staff_admin, django_capture_on_commit_callbacks
):
    by_crew, by_studio = request_booking(), request_booking(days=days_from_now(20, 2))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=by_crew, by=crew_owner)
        services.booking_cancel(booking=by_studio, by=staff_admin, reason="Set flooded")

    crew_text, studio_text = (m.body for m in mail.outbox)
    assert crew_owner.first_name in crew_text
    assert "The studio has cancelled" in studio_text
    assert staff_admin.email not in studio_text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_booking_desk_is_told_when_a_crew_cancels_in_its_language(
    language, request_booking, crew_owner, staff_admin, settings, django_capture_on_commit_callbacks
):
    staff_admin.language = language
    staff_admin.save()
    settings.STAFF_NOTIFICATION_EMAILS = [staff_admin.email]
    booking = request_booking()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, by=crew_owner)

    (desk,) = [m for m in mail.outbox if m.to == [staff_admin.email]]
    notification = Notification.objects.get(recipient=staff_admin.email, kind=Kind.BOOKING_CANCELLED)
    assert notification.language == language and notification.booking == booking
    assert booking.reference in desk.subject and booking.crew.name in desk.subject
    assert crew_owner.get_full_name() in desk.body
    url = f"{settings.SITE_URL}{reverse('admin:bookings_booking_change', args=[booking.pk])}"
    assert url in desk.body
    with translation.override(language):
        assert str(translation.gettext("Cancelled by")) in desk.body
    if language != "en":
        with translation.override("en"):
            assert (
                desk.subject != emails._staff_message(booking, Kind.BOOKING_CANCELLED, by=crew_owner).subject
            )

    # Told once, however often the cancellation's messages are queued again.
    with django_capture_on_commit_callbacks(execute=True):
        emails.booking_notify(booking=booking, kind=Kind.BOOKING_CANCELLED, by=crew_owner)
    assert Notification.objects.filter(recipient=staff_admin.email).count() == 2  # the request, the cancel


def test_the_booking_desk_is_not_told_of_its_own_cancellations(
    request_booking, staff_admin, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["desk@hengdian.example"]
    booking = request_booking()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, by=staff_admin, reason="Set flooded")

    assert not Notification.objects.filter(recipient="desk@hengdian.example", kind=Kind.BOOKING_CANCELLED)
    assert Notification.objects.filter(kind=Kind.BOOKING_CANCELLED).exclude(recipient="desk@hengdian.example")


# --- Content ---------------------------------------------------------------------

CREW_KINDS = [
    Kind.BOOKING_REQUESTED,
    Kind.BOOKING_CONFIRMED,
    Kind.BOOKING_REJECTED,
    Kind.BOOKING_CANCELLED,
    Kind.BOOKING_HOLD_EXPIRING,
    Kind.BOOKING_HOLD_EXPIRED,
    Kind.BOOKING_REMINDER_START,
    Kind.BOOKING_REMINDER_END,
]
# Kinds whose message names a moment, not only dates: the zone must be named.
TIMED_KINDS = {Kind.BOOKING_REQUESTED, Kind.BOOKING_HOLD_EXPIRING, Kind.BOOKING_REMINDER_START}


def english_subject(booking: Booking, kind: str) -> str:
    with translation.override("en"):
        return emails._crew_message(booking, kind, member=booking.created_by, by=booking.created_by).subject


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", CREW_KINDS)
def test_every_crew_message_renders_in_each_language_with_its_dates_and_link(
    kind, language, request_booking, crew_owner, django_capture_on_commit_callbacks
):
    crew_owner.language = language
    crew_owner.save()
    booking = request_booking()
    mail.outbox.clear()
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        assert emails.booking_notify(booking=booking, kind=kind, by=crew_owner) == 1

    (message,) = mail.outbox
    notification = Notification.objects.get()
    assert (notification.kind, notification.language, notification.recipient) == (
        kind,
        language,
        crew_owner.email,
    )
    # A reminder is once per booking and the shoot day it is about; anything else once per booking.
    day = emails.reminder_day(booking, kind)
    about = f":{day:%Y%m%d}" if day else ""
    assert (
        notification.dedupe_key
        == f"booking:{booking.pk}:{kind.removeprefix('booking-')}{about}:user:{crew_owner.pk}"
    )
    assert notification.about_date == day
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'lang="{language}"' in html
    url = f"{settings_site_url()}/bookings/{booking.reference}/"
    assert url in message.body
    assert f'href="{url}"' in html
    with translation.override(language):
        start, end = date_format(booking.start_date), date_format(booking.end_date)
    assert booking.reference in message.subject
    assert start in message.body and end in message.body
    assert start in html and end in html
    if kind in TIMED_KINDS:
        assert "Asia/Shanghai" in message.body
    if language != "en":
        assert message.subject != english_subject(booking, kind), "the subject was not translated"
    if kind in (Kind.BOOKING_REMINDER_START, Kind.BOOKING_REMINDER_END):
        assert "2 × Vertical camera kit" in message.body  # what to collect, and to return
    if kind == Kind.BOOKING_REMINDER_START:
        assert "Palace area, north gate" in message.body  # where to go


def settings_site_url() -> str:
    from django.conf import settings

    return settings.SITE_URL


def test_markup_in_user_data_is_escaped_in_the_html_part(crew_owner, request_booking):
    crew_owner.first_name = '<img src=x onerror="alert(1)">'
    crew_owner.save()

    request_booking(studio_set=StudioSetFactory(name="<b>Palace</b>"))

    html = mail.outbox[0].alternatives[0][0]
    assert "<img src=x" not in html and "<b>Palace</b>" not in html
    assert "&lt;b&gt;Palace&lt;/b&gt;" in html
    assert '<img src=x onerror="alert(1)">' in mail.outbox[0].body  # plain text is not HTML


def test_a_shoot_without_equipment_is_not_told_to_collect_or_return_any(
    crew_owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.booking_request(
            crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(3, 2), by=crew_owner
        )
        emails.booking_notify(booking=booking, kind=Kind.BOOKING_REMINDER_START)
        emails.booking_notify(booking=booking, kind=Kind.BOOKING_REMINDER_END)

    start, end = mail.outbox[-2:]
    assert "equipment store" not in start.body and "equipment store" not in end.body
    assert "booking desk" in start.body  # no location on the set: where to report instead


def test_hold_times_are_shown_in_studio_time(request_booking):
    booking = request_booking()

    local = timezone.localtime(booking.hold_expires_at, timezone.get_default_timezone())
    with translation.override("en"):
        expected = date_format(local, "DATETIME_FORMAT")
    assert f"{expected} (China Standard Time, Asia/Shanghai)" in mail.outbox[0].body


def test_staff_see_on_the_booking_page_what_the_crew_was_told(
    client, staff_admin, crew_owner, request_booking
):
    booking = request_booking()
    login_staff(client, staff_admin)

    response = client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Booking requested (crew)" in page
    assert crew_owner.email in page
    assert "Sent" in page


def test_the_set_page_says_where_to_go(client):
    studio_set = StudioSetFactory(location="Qin palace area, main gate")

    response = client.get(studio_set.get_absolute_url())

    assert "Qin palace area, main gate" in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [Kind.BOOKING_REQUESTED, Kind.BOOKING_HOLD_EXPIRING])
def test_the_booking_desk_messages_render_in_each_language_with_the_admin_link(
    kind, language, staff_admin, request_booking, settings, django_capture_on_commit_callbacks
):
    staff_admin.language = language
    staff_admin.save()
    booking = request_booking()
    settings.STAFF_NOTIFICATION_EMAILS = [staff_admin.email]
    Notification.objects.all().delete()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        emails.booking_notify(booking=booking, kind=kind)

    desk = next(m for m in mail.outbox if m.to == [staff_admin.email])
    notification = Notification.objects.get(recipient=staff_admin.email)
    assert notification.language == language
    url = f"{settings.SITE_URL}{reverse('admin:bookings_booking_change', args=[booking.pk])}"
    assert url in desk.body and f'href="{url}"' in desk.alternatives[0][0]
    assert booking.reference in desk.subject and booking.crew.name in desk.subject
    with translation.override(language):
        held_until = date_format(timezone.localtime(booking.hold_expires_at), "DATETIME_FORMAT")
        english = translation.override("en")
    assert held_until in desk.body
    assert "Asia/Shanghai" in desk.body
    if language != "en":
        with english:
            assert desk.subject != emails._staff_message(booking, kind).subject
