"""What participants are told, in their language, and never their passport data."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from bookings.models import Notification
from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory
from workshops import emails, services
from workshops.models import Enrolment

from ..auth import login_staff
from .test_enrolment_register import _register as register

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
LANGUAGES = ["en", "zh-hans", "es"]
KINDS = [
    Kind.ENROLMENT_CONFIRMED,
    Kind.ENROLMENT_WAITLISTED,
    Kind.ENROLMENT_PROMOTED,
    Kind.ENROLMENT_CANCELLED,
    Kind.ENROLMENT_SESSION_CANCELLED,
    Kind.ENROLMENT_LINK,
    Kind.ENROLMENT_LETTER,
    Kind.ENROLMENT_REMINDER_WEEK,
    Kind.ENROLMENT_REMINDER_DAY,
    Kind.ENROLMENT_OFFERED,
    Kind.ENROLMENT_OFFER_LAPSED,
    Kind.ENROLMENT_VISA_SKIPPED,
]


def english_subject(enrolment: Enrolment, kind: str) -> str:
    with translation.override("en"):
        return emails.enrolment_message(enrolment, kind).subject


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_message_renders_in_each_language_with_dates_and_link_and_no_passport_data(
    kind, language, django_capture_on_commit_callbacks
):
    waiting = kind == Kind.ENROLMENT_WAITLISTED
    enrolment = EnrolmentFactory(
        language=language,
        passport_number="X98765432",
        status=Enrolment.Status.WAITLISTED if waiting else Enrolment.Status.CONFIRMED,
        waitlist_order=1 if waiting else None,
        offer_expires_at=timezone.now() + timedelta(hours=48),
    )
    letter = services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory()) if not waiting else None
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        notification = emails.enrolment_notify(enrolment=enrolment, kind=kind, letter=letter)

    assert notification is not None
    (message,) = mail.outbox
    html, mimetype = message.alternatives[0]
    assert (mimetype, message.to) == ("text/html", [enrolment.email])
    assert f'lang="{language}"' in html
    everything = message.subject + message.body + html
    for secret in ("X98765432", "98765432", "5432"):
        assert secret not in everything
    assert enrolment.date_of_birth.isoformat() not in everything
    url = f"{settings.SITE_URL}{enrolment.get_absolute_url()}"
    assert url in message.body
    assert f'href="{url}"' in html
    starts = timezone.localtime(enrolment.session.starts_at)
    with translation.override(language):
        when = date_format(starts, "DATETIME_FORMAT")
    assert when in message.body and when in html
    assert "Asia/Shanghai" in message.body
    assert enrolment.session.workshop.title in message.subject
    if language != "en":
        assert message.subject != english_subject(enrolment, kind), "the subject was not translated"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "waiting list, at position 2"), ("es", "posición 2"), ("zh-hans", "第 2 位")],
)
def test_the_waiting_list_message_gives_the_position_in_the_participants_language(
    language, expected, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=1)
    with django_capture_on_commit_callbacks(execute=True):
        register(session, 1)
        register(session, 2)
        register(session, 3, language=language)

    assert expected in mail.outbox[-1].body
    assert Notification.objects.get(recipient="person3@example.org").kind == Kind.ENROLMENT_WAITLISTED


def test_a_freed_place_tells_the_leaver_and_the_first_person_waiting_once_each(
    django_capture_on_commit_callbacks,
):
    session = SessionFactory(capacity=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = register(session, 1).enrolment
        register(session, 2)
        register(session, 3)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.enrolment_cancel(enrolment=first)

    assert sorted(m.to[0] for m in mail.outbox) == ["person1@example.org", "person2@example.org"]
    assert Notification.objects.filter(kind=Kind.ENROLMENT_OFFERED).get().recipient == "person2@example.org"
    assert Notification.objects.filter(kind=Kind.ENROLMENT_CANCELLED).get().recipient == "person1@example.org"


def test_registering_an_address_again_resends_the_link_at_most_once_an_hour(
    django_capture_on_commit_callbacks,
):
    session = SessionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        register(session, 1)
    mail.outbox.clear()
    # The top of the next hour, studio time: three attempts within it, then one in the hour after.
    now = timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        for minutes in (0, 20, 40):
            assert not register(session, 1, now=now + timedelta(minutes=minutes)).created
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        register(session, 1, now=now + timedelta(hours=1))

    assert len(mail.outbox) == 2
    assert Notification.objects.filter(kind=Kind.ENROLMENT_LINK).count() == 2
    assert session.enrolments.count() == 1


def test_a_reissued_letter_is_announced_again(django_capture_on_commit_callbacks):
    enrolment = EnrolmentFactory()
    staff = StaffFactory()

    with django_capture_on_commit_callbacks(execute=True):
        first = services.invitation_letter_issue(enrolment=enrolment, by=staff)
        second = services.invitation_letter_issue(enrolment=enrolment, by=staff)

    keys = set(Notification.objects.filter(kind=Kind.ENROLMENT_LETTER).values_list("dedupe_key", flat=True))
    assert keys == {
        f"enrolment:{enrolment.pk}:letter:{first.number}",
        f"enrolment:{enrolment.pk}:letter:{second.number}",
    }
    assert len(mail.outbox) == 2


def test_a_registration_rolled_back_by_its_caller_leaves_no_message():
    session = SessionFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        register(session, 1)
        raise RuntimeError("the request failed after the service ran")

    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_staff_see_on_the_enrolment_page_what_the_participant_was_told(client, staff_admin):
    enrolment = register(SessionFactory(), 1).enrolment
    login_staff(client, staff_admin)

    response = client.get(reverse("admin:workshops_enrolment_change", args=[enrolment.pk]))

    assert response.status_code == 200
    assert "Enrolment confirmed" in response.content.decode()
