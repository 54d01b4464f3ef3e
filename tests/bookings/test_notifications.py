"""The email outbox: queued with the event, sent once after commit, retried, visible to staff.

Tasks run eagerly here (tests/conftest.py); test_notification_worker.py does
the same against a real worker on Redis.
"""

import itertools
import logging
import smtplib
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse

from bookings import notifications
from bookings.models import Notification

from ..auth import login_staff
from .helpers import FlakyBackend

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
CHANGELIST = "admin:bookings_notification_changelist"


@pytest.fixture
def flaky_backend(settings):
    FlakyBackend.failures = 0
    FlakyBackend.calls = 0
    settings.EMAIL_BACKEND = f"{FlakyBackend.__module__}.{FlakyBackend.__qualname__}"
    settings.NOTIFICATION_RETRY_BASE = timedelta(seconds=60)
    settings.NOTIFICATION_MAX_ATTEMPTS = 5
    settings.NOTIFICATION_SENDING_TIMEOUT = timedelta(seconds=300)
    yield FlakyBackend
    FlakyBackend.failures = 0


def queue(**overrides) -> Notification | None:
    """Queue a message the way a service does: inside the transaction of its event."""
    fields = {
        "kind": "booking-requested",
        "recipient": "coordinator@example.com",
        "language": "en",
        "subject": "Booking HD-ABC234 requested",
        "body_text": "Your request for Palace hall, 2 to 8 March, is held for 48 hours.",
        "body_html": "<p>Your request for <b>Palace hall</b> is held for 48 hours.</p>",
        "dedupe_key": "booking:1:requested",
        **overrides,
    }
    with transaction.atomic():
        return notifications.notification_queue(**fields)


_keys = itertools.count()


def make(**fields) -> Notification:
    """A row in a given state, as a crash or an earlier run would have left it."""
    defaults = {
        "dedupe_key": f"test:{next(_keys)}",
        "kind": "booking-confirmed",
        "recipient": "crew@example.com",
        "language": "en",
        "subject": "Confirmed",
        "body_text": "Confirmed.",
    }
    return Notification.objects.create(**{**defaults, **fields})


# --- Queueing ----------------------------------------------------------------------


@pytest.mark.django_db
def test_queued_notification_is_sent_once_after_commit_and_not_before(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = queue()
        assert mail.outbox == []  # the transaction has not committed yet

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["coordinator@example.com"]
    assert email.subject == "Booking HD-ABC234 requested"
    assert "Palace hall, 2 to 8 March" in email.body
    assert email.alternatives[0].content == notification.body_html
    assert email.alternatives[0].mimetype == "text/html"
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)
    assert notification.sent_at is not None
    assert notification.last_error == ""


@pytest.mark.django_db
def test_message_without_html_is_sent_as_plain_text(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue(body_html="")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].alternatives == []


@pytest.mark.django_db
def test_nothing_is_queued_or_sent_when_the_event_rolls_back(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notifications.notification_queue(
            kind="booking-requested",
            recipient="coordinator@example.com",
            language="en",
            subject="Requested",
            body_text="Requested.",
            dedupe_key="booking:1:requested",
        )
        raise RuntimeError("the booking failed after the message was queued")

    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_same_dedupe_key_twice_gives_one_row_and_one_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            first = notifications.notification_queue(
                kind="booking-reminder-start",
                recipient="crew@example.com",
                language="zh-hans",
                subject="提醒",
                body_text="后天开拍。",
                dedupe_key="booking:42:reminder-start",
            )
            second = notifications.notification_queue(
                kind="booking-reminder-start",
                recipient="crew@example.com",
                language="zh-hans",
                subject="提醒",
                body_text="后天开拍。",
                dedupe_key="booking:42:reminder-start",
            )
            # The duplicate left the caller's transaction usable.
            assert Notification.objects.count() == 1
        # A later run (the next sweep) does not queue it again either.
        third = queue(dedupe_key="booking:42:reminder-start")

    assert first is not None
    assert second is None
    assert third is None
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "提醒"


# --- Claiming ----------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_is_exclusive_so_sending_twice_delivers_once():
    notification = queue()  # not committed: nothing sent yet
    assert mail.outbox == []

    assert notifications.notification_send(notification_id=notification.pk) is True
    assert notifications.notification_send(notification_id=notification.pk) is False

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)


@pytest.mark.django_db
def test_pending_row_is_not_claimed_before_its_next_attempt():
    with time_machine.travel(NOW, tick=False):
        notification = make(next_attempt_at=NOW + timedelta(seconds=30))

        assert notifications.notification_send(notification_id=notification.pk) is False

    assert mail.outbox == []
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.PENDING, 0)


@pytest.mark.django_db
def test_row_left_in_sending_past_the_timeout_is_claimed_and_sent(settings):
    settings.NOTIFICATION_SENDING_TIMEOUT = timedelta(seconds=300)
    with time_machine.travel(NOW, tick=False):
        dead = make(status=Notification.Status.SENDING, claimed_at=NOW - timedelta(seconds=301), attempts=1)
        alive = make(status=Notification.Status.SENDING, claimed_at=NOW - timedelta(seconds=299), attempts=1)

        assert notifications.notification_send(notification_id=alive.pk) is False
        assert notifications.notification_send(notification_id=dead.pk) is True

    assert len(mail.outbox) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.attempts, dead.sent_at) == (Notification.Status.SENT, 2, NOW)
    assert (alive.status, alive.attempts) == (Notification.Status.SENDING, 1)


# --- Failures and retries ----------------------------------------------------------


@pytest.mark.django_db
def test_failed_send_goes_back_to_pending_with_backoff(flaky_backend):
    flaky_backend.failures = 2
    with time_machine.travel(NOW, tick=False):
        notification = queue()

        assert notifications.notification_send(notification_id=notification.pk) is False

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    assert notification.next_attempt_at == NOW + timedelta(seconds=60)
    assert notification.last_error == "SMTPException: 421 Service not available, try again later"
    assert mail.outbox == []

    # Not before its time; then the delay doubles.
    with time_machine.travel(NOW + timedelta(seconds=59), tick=False):
        assert notifications.notification_send(notification_id=notification.pk) is False
    with time_machine.travel(NOW + timedelta(seconds=60), tick=False):
        assert notifications.notification_send(notification_id=notification.pk) is False
    notification.refresh_from_db()
    assert notification.attempts == 2
    assert notification.next_attempt_at == NOW + timedelta(seconds=60 + 120)

    with time_machine.travel(NOW + timedelta(seconds=180), tick=False):
        assert notifications.notification_send(notification_id=notification.pk) is True
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.last_error) == (
        Notification.Status.SENT,
        3,
        "",
    )
    assert len(mail.outbox) == 1
    assert flaky_backend.calls == 3


@pytest.mark.django_db
def test_backoff_is_capped_at_an_hour(flaky_backend, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 20
    flaky_backend.failures = 100
    with time_machine.travel(NOW, tick=False):
        notification = make(attempts=9)  # the tenth attempt would otherwise wait 60 s × 2⁹

        notifications.notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.next_attempt_at == NOW + timedelta(hours=1)


@pytest.mark.django_db
def test_after_max_attempts_the_row_fails_and_is_no_longer_due(flaky_backend, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    flaky_backend.failures = 100
    moment = NOW
    with time_machine.travel(NOW, tick=False):
        notification = queue()
    for _attempt in range(3):
        with time_machine.travel(moment, tick=False):
            notifications.notification_send(notification_id=notification.pk)
        notification.refresh_from_db()
        moment = notification.next_attempt_at

    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 3
    assert notification.last_error.startswith("SMTPException: ")
    assert mail.outbox == []
    far_later = NOW + timedelta(days=1)
    assert notifications.notifications_due(now=far_later) == []
    assert notifications.notification_send(notification_id=notification.pk, now=far_later) is False


@pytest.mark.django_db
def test_long_errors_are_truncated(flaky_backend, settings, monkeypatch):
    class LongError(smtplib.SMTPException):
        def __str__(self) -> str:
            return "x" * 5000

    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    notification = make()

    def refuse(self, messages):
        raise LongError()

    monkeypatch.setattr(flaky_backend, "send_messages", refuse)
    notifications.notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert len(notification.last_error) == 1000
    assert notification.last_error.startswith("LongError: xxx")


@pytest.mark.django_db
def test_retry_service_only_touches_failed_rows(django_capture_on_commit_callbacks):
    sent = make(status=Notification.Status.SENT, sent_at=NOW, attempts=1)
    pending = make(attempts=2)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert notifications.notification_retry(notification=sent) is False
        assert notifications.notification_retry(notification=pending) is False

    assert callbacks == []
    pending.refresh_from_db()
    assert pending.attempts == 2


@pytest.mark.django_db
def test_logs_name_the_notification_but_never_its_body_or_address(flaky_backend, caplog):
    flaky_backend.failures = 1
    caplog.set_level(logging.DEBUG, logger="bookings.notifications")

    with time_machine.travel(NOW, tick=False):
        notification = queue(body_text="Passport E12345678 is never logged", recipient="private@example.com")
        notifications.notification_send(notification_id=notification.pk)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        notifications.notification_send(notification_id=notification.pk)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"Notification {notification.pk} (booking-requested) attempt 1 failed" in logged
    assert f"Notification {notification.pk} (booking-requested) sent" in logged
    assert "E12345678" not in logged
    assert "private@example.com" not in logged
    assert "421" not in logged  # a server's message can quote the address


# --- The sweep ---------------------------------------------------------------------


def _not_due_rows(count: int) -> list[Notification]:
    """Rows the sweep must skip: waiting, sent, failed, or being sent by a live worker."""
    states = [
        {"status": Notification.Status.PENDING, "next_attempt_at": NOW + timedelta(minutes=5)},
        {"status": Notification.Status.SENT, "sent_at": NOW - timedelta(hours=1)},
        {"status": Notification.Status.FAILED},
        {"status": Notification.Status.SENDING, "claimed_at": NOW - timedelta(seconds=30)},
    ]
    return Notification.objects.bulk_create(
        Notification(
            kind="booking-confirmed",
            recipient=f"crew{i}@example.com",
            language="en",
            subject="Confirmed",
            body_text="Confirmed.",
            dedupe_key=f"not-due:{i}",
            **states[i % len(states)],
        )
        for i in range(count)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("not_due", [5, 500])
def test_notifications_due_is_one_query_whatever_the_number_of_rows_not_due(
    not_due, django_assert_num_queries, settings
):
    settings.NOTIFICATION_SENDING_TIMEOUT = timedelta(seconds=300)
    with time_machine.travel(NOW, tick=False):
        later = make(dedupe_key="due:later", next_attempt_at=NOW - timedelta(seconds=10))
        earlier = make(dedupe_key="due:earlier", next_attempt_at=NOW - timedelta(minutes=3))
        stranded = make(
            dedupe_key="due:stranded",
            status=Notification.Status.SENDING,
            next_attempt_at=NOW - timedelta(minutes=20),
            claimed_at=NOW - timedelta(minutes=10),
            attempts=1,
        )
        _not_due_rows(not_due)

        with django_assert_num_queries(1):
            due = notifications.notifications_due()

    assert due == [stranded.pk, earlier.pk, later.pk]
    assert notifications.notifications_due(now=NOW, limit=2) == [stranded.pk, earlier.pk]


@pytest.mark.django_db
def test_requeue_due_sends_each_due_notification_once(settings):
    settings.NOTIFICATION_SENDING_TIMEOUT = timedelta(seconds=300)
    with time_machine.travel(NOW, tick=False):
        due = make(dedupe_key="due", next_attempt_at=NOW - timedelta(minutes=1), attempts=1)
        stranded = make(
            dedupe_key="stranded",
            status=Notification.Status.SENDING,
            claimed_at=NOW - timedelta(minutes=10),
            attempts=1,
        )
        not_due = Notification.objects.filter(pk__in=[n.pk for n in _not_due_rows(8)])
        before = list(not_due.order_by("pk").values_list("pk", "status", "attempts"))

        assert notifications.notification_requeue_due() == 2
        assert notifications.notification_requeue_due() == 0  # a second sweep finds nothing left

    assert len(mail.outbox) == 2
    for notification in (due, stranded):
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == (Notification.Status.SENT, 2)
    assert list(not_due.order_by("pk").values_list("pk", "status", "attempts")) == before


# --- Admin -------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, staff_admin):
    login_staff(client, staff_admin)
    return client


class _IframeFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.iframes: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.iframes.append(dict(attrs))


@pytest.mark.django_db
def test_staff_see_the_outbox_filtered_by_status(staff_client):
    make(dedupe_key="a", recipient="waiting@example.com")
    make(dedupe_key="b", recipient="broken@example.com", status=Notification.Status.FAILED, attempts=5)

    response = staff_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert b"waiting@example.com" in response.content
    assert b"broken@example.com" in response.content

    response = staff_client.get(reverse(CHANGELIST), {"status__exact": "failed"})
    assert b"broken@example.com" in response.content
    assert b"waiting@example.com" not in response.content

    response = staff_client.get(reverse(CHANGELIST), {"q": "waiting@"})
    assert b"waiting@example.com" in response.content
    assert b"broken@example.com" not in response.content


@pytest.mark.django_db
def test_outbox_list_keeps_each_email_to_one_line_with_the_whole_subject_in_a_tooltip(staff_client):
    subject = 'Request received: Ming-Qing palace hall & "the east wing" (HD-ABC123), 7 days from Monday'
    make(dedupe_key="a", subject=subject, status=Notification.Status.FAILED, attempts=3)

    page = staff_client.get(reverse(CHANGELIST)).content.decode()
    escaped = "Request received: Ming-Qing palace hall &amp; &quot;the east wing&quot; (HD-ABC123), 7 days from Monday"
    # The cell cuts the subject short on screen (admin.css); the tooltip, and the link, carry all of it.
    assert f'<span class="outbox-cut" title="{escaped}">{escaped}</span>' in page
    assert "Failed (3 attempts)" in page
    # Four columns beside the checkbox: subject (the link to the email), recipient, status, created.
    head = page.split('<table id="result_list">', 1)[1].split("</thead>", 1)[0]
    assert head.count("<th ") == 5
    assert 'class="field-subject_line"><a href=' in page


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 60])
def test_outbox_list_uses_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries, rows):
    _not_due_rows(rows)
    with django_assert_max_num_queries(8):
        response = staff_client.get(reverse(CHANGELIST))
    assert response.status_code == 200


@pytest.mark.django_db
def test_preview_shows_text_escaped_and_html_only_in_a_sandboxed_frame(staff_client):
    body_html = '<p>Dear crew &amp; "friends"</p><script>alert("x")</script>'
    notification = make(
        subject="Subject <i>here</i>",
        body_text="Line one <b>not bold</b>\nLine two",
        body_html=body_html,
    )

    response = staff_client.get(reverse("admin:bookings_notification_change", args=[notification.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Subject &lt;i&gt;here&lt;/i&gt;" in content
    assert "Line one &lt;b&gt;not bold&lt;/b&gt;\nLine two</pre>" in content
    assert "<script>alert" not in content
    finder = _IframeFinder()
    finder.feed(content)
    assert len(finder.iframes) == 1
    frame = finder.iframes[0]
    assert "sandbox" in frame
    assert frame["sandbox"] in (None, "")  # no allowances: no scripts, no same origin
    # The frame loads the HTML part from its own URL, which answers it unmangled
    # under a policy of its own: nothing runs, nothing loads, only the admin frames it.
    body = staff_client.get(frame["src"])
    assert body.status_code == 200
    assert body.content.decode() == body_html
    policy = body["Content-Security-Policy"]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert "frame-ancestors 'self'" in policy
    assert body["X-Frame-Options"] == "SAMEORIGIN"
    # Read-only: no form to save and no delete link.
    assert 'name="_save"' not in content
    assert "/delete/" not in content


@pytest.mark.django_db
def test_outbox_cannot_be_added_edited_or_deleted(staff_client):
    notification = make()
    change = reverse("admin:bookings_notification_change", args=[notification.pk])

    assert staff_client.get(reverse("admin:bookings_notification_add")).status_code == 403
    assert (
        staff_client.post(change, {"subject": "Changed", "recipient": "evil@example.com"}).status_code == 403
    )
    delete = reverse("admin:bookings_notification_delete", args=[notification.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403

    notification.refresh_from_db()
    assert (notification.subject, notification.recipient) == ("Confirmed", "crew@example.com")


@pytest.mark.django_db
def test_admin_retry_brings_a_failed_notification_back_and_it_is_delivered(
    staff_client, flaky_backend, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    flaky_backend.failures = 2
    with time_machine.travel(NOW, tick=False):
        failed = queue()
    notifications.notification_send(notification_id=failed.pk, now=NOW)
    notifications.notification_send(notification_id=failed.pk, now=NOW + timedelta(minutes=1))
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Notification.Status.FAILED, 2)
    sent = make(dedupe_key="sent", status=Notification.Status.SENT, sent_at=NOW, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse(CHANGELIST),
            {"action": "retry_selected", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert "1 notification queued to be sent again." in shown
    assert "1 notification was skipped: only failed notifications can be retried." in shown
    failed.refresh_from_db()
    assert failed.status == Notification.Status.SENT
    assert failed.attempts == 1  # a fresh count: the retry was its first new attempt
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["coordinator@example.com"]
    sent.refresh_from_db()
    assert sent.attempts == 1


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["changelist", "change"])
def test_crew_member_and_anonymous_are_sent_to_the_admin_login(client, crew_owner, page):
    notification = make()
    url = (
        reverse(CHANGELIST)
        if page == "changelist"
        else reverse("admin:bookings_notification_change", args=[notification.pk])
    )
    login = reverse("admin:login")

    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(f"{login}?next=")

    client.force_login(crew_owner)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(f"{login}?next=")
    assert b"Confirmed." not in response.content
