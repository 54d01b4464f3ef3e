"""The workshops admin: capacity changes, enrolment actions, letters and CSV exports."""

import csv
import io
import logging
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import EnrolmentFactory, SessionFactory, UserFactory, WorkshopFactory
from workshops.models import Enrolment, InvitationLetter, Session

from ..auth import login_staff

pytestmark = pytest.mark.django_db

ENROLMENTS = "admin:workshops_enrolment_changelist"
SESSIONS = "admin:workshops_session_changelist"


@pytest.fixture
def staff_client(client, staff_admin):
    login_staff(client, staff_admin)
    return client


@pytest.fixture
def limited_staff(db):
    """Staff who may look at and edit enrolments, and nothing more."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="workshops", codename__in=["view_enrolment", "change_enrolment"]
        )
    )
    return user


def waitlisted(session: Session, order: int, **kwargs) -> Enrolment:
    return EnrolmentFactory(
        session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=order, **kwargs
    )


def _run_action(client, action: str, enrolments, follow: bool = True):
    return client.post(
        reverse(ENROLMENTS),
        {"action": action, "_selected_action": [e.pk for e in enrolments]},
        follow=follow,
    )


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- Sessions ---------------------------------------------------------------------


def _sessions_with_enrolments(count: int) -> list[Session]:
    sessions = []
    for _ in range(count):
        session = SessionFactory(capacity=2)
        EnrolmentFactory.create_batch(2, session=session)
        waitlisted(session, 1)
        sessions.append(session)
    return sessions


def test_session_changelist_queries_do_not_grow_with_sessions(staff_client):
    url = reverse(SESSIONS)
    _sessions_with_enrolments(3)
    staff_client.get(url)  # warm per-process caches (content types)

    few = _count_queries(staff_client, url)
    _sessions_with_enrolments(97)
    response = staff_client.get(url)
    many = _count_queries(staff_client, url)

    assert few == many
    # A page of them (the admin's list_per_page for tables that grow).
    assert len(response.context["cl"].result_list) == 50
    assert response.text.count('<td class="field-confirmed_count">2</td>') == 50
    assert response.text.count('<td class="field-waitlisted_count">1</td>') == 50
    assert response.text.count('<td class="field-seats_left">0</td>') == 50


def test_session_row_links_to_its_enrolments(staff_client):
    session = SessionFactory()
    mine = EnrolmentFactory(session=session, full_name="Lerato Dlamini")
    EnrolmentFactory(full_name="Someone Else")

    page = staff_client.get(reverse(SESSIONS)).text
    link = f"{reverse(ENROLMENTS)}?session__id__exact={session.pk}"
    assert f'href="{link}"' in page

    response = staff_client.get(link)
    assert [e.pk for e in response.context["cl"].result_list] == [mine.pk]


def _split(name: str, value) -> dict[str, str]:
    local = timezone.localtime(value)
    return {f"{name}_0": f"{local:%Y-%m-%d}", f"{name}_1": f"{local:%H:%M:%S}"}


def _session_fields(session: Session, prefix: str = "", **changes) -> dict:
    data = {
        **_split("starts_at", session.starts_at),
        **_split("ends_at", session.ends_at),
        **_split("registration_closes_at", session.registration_closes_at),
        "venue_en": session.venue,
        "language": session.language,
        "interpretation": session.interpretation,
        "capacity": session.capacity,
        "visa_lead_days": session.visa_lead_days,
        "status": session.status,
    }
    data.update(changes)
    return {f"{prefix}{key}": value for key, value in data.items()}


def _post_session(client, session: Session, **changes):
    data = {"workshop": session.workshop_id, **_session_fields(session, **changes), "_save": "Save"}
    return client.post(reverse("admin:workshops_session_change", args=[session.pk]), data)


def test_capacity_cannot_go_below_the_confirmed_places(staff_client):
    session = SessionFactory(capacity=5)
    EnrolmentFactory.create_batch(3, session=session)

    response = _post_session(staff_client, session, capacity=2)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["capacity"]
    assert "3 places are already confirmed: the capacity cannot be lower." in errors["capacity"][0]
    session.refresh_from_db()
    assert session.capacity == 5

    assert _post_session(staff_client, session, capacity=3).status_code == 302
    session.refresh_from_db()
    assert session.capacity == 3


def test_raising_capacity_offers_places_to_the_first_people_waiting_and_emails_them(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=5, workshop__title="Vertical framing")
    EnrolmentFactory.create_batch(5, session=session)
    # Created out of order: the waiting-list order decides, not the primary key.
    third = waitlisted(session, 3)
    first = waitlisted(session, 1)
    fourth = waitlisted(session, 4)
    second = waitlisted(session, 2)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_session(staff_client, session, capacity=7)

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.capacity == 7
    statuses = {e.pk: e.status for e in session.enrolments.all()}
    assert statuses[first.pk] == statuses[second.pk] == Enrolment.Status.OFFERED
    assert statuses[third.pk] == statuses[fourth.pk] == Enrolment.Status.WAITLISTED
    assert sorted(m.to[0] for m in mailoutbox) == sorted([first.email, second.email])
    assert {m.subject for m in mailoutbox} == {"A place is free for you: Vertical framing"}
    page = staff_client.get(response.url).text
    assert "2 people on the waiting list were offered places" in page


def test_calling_a_session_off_cancels_every_place_and_tells_each_person_once(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=2, workshop__title="Vertical framing")
    confirmed = EnrolmentFactory(session=session, language="es")
    waiting = waitlisted(session, 1)
    gone = EnrolmentFactory(session=session, status=Enrolment.Status.CANCELLED)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_session(staff_client, session, status=Session.Status.CANCELLED)
    assert response.status_code == 302
    assert "enrolments were cancelled and they were emailed" in staff_client.get(response.url).text
    with django_capture_on_commit_callbacks(execute=True):  # saved again: nobody is told twice
        assert _post_session(staff_client, session, status=Session.Status.CANCELLED).status_code == 302

    statuses = dict(session.enrolments.values_list("pk", "status"))
    assert set(statuses.values()) == {Enrolment.Status.CANCELLED}
    assert sorted(m.to[0] for m in mailoutbox) == sorted([confirmed.email, waiting.email])
    assert gone.email not in {m.to[0] for m in mailoutbox}
    spanish = next(m for m in mailoutbox if m.to == [confirmed.email])
    assert spanish.subject == "Sesión cancelada: Vertical framing"


def test_raising_capacity_in_the_workshop_page_offers_places_too(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    workshop = WorkshopFactory()
    session = SessionFactory(workshop=workshop, capacity=1)
    EnrolmentFactory(session=session)
    nxt = waitlisted(session, 1)
    data = {
        "title_en": workshop.title,
        "slug": workshop.slug,
        "summary_en": workshop.summary,
        "description_en": "",
        "fee": "0",
        "topics_en": "",
        "is_published": "on",
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "1",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "1000",
        "sessions-0-id": session.pk,
        "sessions-0-workshop": workshop.pk,
        **_session_fields(session, prefix="sessions-0-", capacity=2),
        "_save": "Save",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:workshops_workshop_change", args=[workshop.pk]), data)

    assert response.status_code == 302
    nxt.refresh_from_db()
    assert nxt.status == Enrolment.Status.OFFERED
    assert [m.to for m in mailoutbox] == [[nxt.email]]


def test_session_form_checks_dates_and_interpretation(staff_client):
    session = SessionFactory(capacity=5)
    starts = session.starts_at

    response = _post_session(
        staff_client,
        session,
        **_split("ends_at", starts - timedelta(hours=1)),
        **_split("registration_closes_at", starts + timedelta(hours=1)),
        interpretation=["en", "es"],
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"ends_at", "registration_closes_at", "interpretation"}
    assert "must end after it starts" in errors["ends_at"][0]
    assert "no later than the session starts" in errors["registration_closes_at"][0]
    assert "its own language" in errors["interpretation"][0]

    response = _post_session(staff_client, session, interpretation=["fr"])
    assert "interpretation" in response.context["adminform"].form.errors

    assert _post_session(staff_client, session, interpretation=["es", "zh-hans"]).status_code == 302
    session.refresh_from_db()
    assert session.interpretation == ["zh-hans", "es"]


def test_workshop_changelist_counts_sessions(staff_client):
    workshop = WorkshopFactory(title="Pacing for micro-drama")
    SessionFactory.create_batch(3, workshop=workshop)

    response = staff_client.get(reverse("admin:workshops_workshop_changelist"))

    assert '<td class="field-session_count">3</td>' in response.text


# --- Enrolments: who sees what ----------------------------------------------------


def test_enrolment_list_masks_passports_and_the_change_page_shows_them(staff_client):
    enrolment = EnrolmentFactory(passport_number="E12345678")

    changelist = staff_client.get(reverse(ENROLMENTS))

    assert changelist.status_code == 200
    assert "••••••678" in changelist.text
    assert "E12345678" not in changelist.text

    change = staff_client.get(reverse("admin:workshops_enrolment_change", args=[enrolment.pk]))
    assert change.status_code == 200
    assert "Passport (for the invitation letter)" in change.text
    assert 'value="E12345678"' in change.text


def test_enrolment_changelist_queries_do_not_grow_with_enrolments(staff_client, staff_admin):
    def make(count: int) -> None:
        for _ in range(count):
            enrolment = EnrolmentFactory()
            InvitationLetter.objects.create(
                enrolment=enrolment, number=f"T-{enrolment.pk}", issued_by=staff_admin, pdf="x.pdf"
            )

    url = reverse(ENROLMENTS)
    make(3)
    staff_client.get(url)
    few = _count_queries(staff_client, url)
    make(40)
    response = staff_client.get(url)
    many = _count_queries(staff_client, url)

    assert few == many
    assert (
        response.text.count('<td class="field-letter_issued"><img src="/static/admin/img/icon-yes.svg"') == 43
    )


def test_letter_issued_filter(staff_client, staff_admin):
    with_letter = EnrolmentFactory()
    without = EnrolmentFactory()
    InvitationLetter.objects.create(enrolment=with_letter, number="T-1", issued_by=staff_admin, pdf="x.pdf")

    def listed(value: str) -> list[int]:
        return [
            e.pk for e in staff_client.get(reverse(ENROLMENTS), {"letter": value}).context["cl"].result_list
        ]

    assert listed("yes") == [with_letter.pk]
    assert listed("no") == [without.pk]


def test_enrolments_cannot_be_deleted_in_the_admin(staff_client):
    enrolment = EnrolmentFactory()

    # "Add" is the registration form on the desk's own page (tests/workshops/test_staff_enrolment.py).
    assert (
        staff_client.get(reverse("admin:workshops_enrolment_add")).context["title"] == "Enrol a participant"
    )
    assert (
        staff_client.get(reverse("admin:workshops_enrolment_delete", args=[enrolment.pk])).status_code == 403
    )
    choices = dict(staff_client.get(reverse(ENROLMENTS)).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in choices
    assert Enrolment.objects.filter(pk=enrolment.pk).exists()


def test_staff_edit_of_the_passport_number_is_saved_but_status_is_not(staff_client):
    enrolment = EnrolmentFactory(passport_number="E12345678")
    data = {
        "full_name": enrolment.full_name,
        "email": enrolment.email,
        "country_of_residence": enrolment.country_of_residence.code,
        "nationality": enrolment.nationality.code,
        "role": enrolment.role,
        "experience": "",
        "language": "en",
        "needs": "",
        "needs_visa_letter": "on",
        "passport_number": "E12345679",
        "passport_expiry": f"{enrolment.passport_expiry:%Y-%m-%d}",
        "date_of_birth": f"{enrolment.date_of_birth:%Y-%m-%d}",
        "status": "cancelled",
        "payments-TOTAL_FORMS": "0",
        "payments-INITIAL_FORMS": "0",
        "letters-TOTAL_FORMS": "0",
        "letters-INITIAL_FORMS": "0",
        "letters-MIN_NUM_FORMS": "0",
        "letters-MAX_NUM_FORMS": "1000",
        "notifications-TOTAL_FORMS": "0",
        "notifications-INITIAL_FORMS": "0",
        "notifications-MIN_NUM_FORMS": "0",
        "notifications-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }

    response = staff_client.post(reverse("admin:workshops_enrolment_change", args=[enrolment.pk]), data)

    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.passport_number == "E12345679"
    assert enrolment.status == Enrolment.Status.CONFIRMED


# --- Letters ------------------------------------------------------------------------


def test_issue_letters_makes_a_pdf_for_confirmed_places_only(
    staff_client, staff_admin, private_storage, mailoutbox, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=1, workshop__title="Production intensive")
    confirmed = EnrolmentFactory(session=session, full_name="Thandiwe Nkosi")
    waiting = waitlisted(session, 1, full_name="Mateo Ruiz")

    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(staff_client, "issue_letters", [confirmed, waiting])

    letter = InvitationLetter.objects.get()
    assert letter.enrolment == confirmed
    assert letter.issued_by == staff_admin
    with letter.pdf.open("rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert (private_storage / letter.pdf.name).exists()
    assert not waiting.letters.exists()
    assert (
        "warning",
        "Mateo Ruiz has no confirmed place: letters are issued only for confirmed places.",
    ) in (_messages(response))
    assert ("success", "1 invitation letter issued.") in _messages(response)
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [confirmed.email]
    assert email.subject == "Your visa invitation letter is ready: Production intensive"
    assert confirmed.passport_number not in email.subject + email.body
    assert confirmed.passport_number[-3:] not in email.body


def test_issue_skips_people_with_a_letter_and_reissue_makes_a_new_one(staff_client, private_storage):
    enrolment = EnrolmentFactory(full_name="Aiko Tanaka")
    _run_action(staff_client, "issue_letters", [enrolment])

    again = _run_action(staff_client, "issue_letters", [enrolment])

    assert enrolment.letters.count() == 1
    assert any(
        level == "warning" and "Aiko Tanaka already has an invitation letter" in text
        for level, text in _messages(again)
    )

    reissued = _run_action(staff_client, "reissue_letters", [enrolment])

    assert sorted(enrolment.letters.values_list("number", flat=True)) == [
        f"HDW-{timezone.localdate():%Y}-{enrolment.pk:05d}-1",
        f"HDW-{timezone.localdate():%Y}-{enrolment.pk:05d}-2",
    ]
    assert ("success", "1 invitation letter issued.") in _messages(reissued)


def test_staff_download_the_letter_and_others_cannot(client, staff_client, private_storage, crew_owner):
    enrolment = EnrolmentFactory()
    _run_action(staff_client, "issue_letters", [enrolment])
    letter = enrolment.letters.get()
    url = reverse("admin:workshops_invitationletter_pdf", args=[letter.pk])

    change = staff_client.get(reverse("admin:workshops_enrolment_change", args=[enrolment.pk]))
    assert f'href="{url}"' in change.text
    assert letter.number in change.text

    response = staff_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{letter.number}.pdf"'
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert (
        staff_client.get(reverse("admin:workshops_invitationletter_pdf", args=[letter.pk + 99])).status_code
        == 404
    )

    login = reverse("admin:login")
    staff_client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(login)

    client.force_login(crew_owner)
    crew = client.get(url)
    assert crew.status_code == 302 and crew.url.startswith(login)
    assert not hasattr(crew, "streaming_content")


def test_staff_without_letter_permission_cannot_download(
    client, staff_client, private_storage, limited_staff
):
    enrolment = EnrolmentFactory()
    _run_action(staff_client, "issue_letters", [enrolment])
    url = reverse("admin:workshops_invitationletter_pdf", args=[enrolment.letters.get().pk])

    login_staff(client, limited_staff)

    assert client.get(url).status_code == 403
    choices = dict(client.get(reverse(ENROLMENTS)).context["action_form"].fields["action"].choices)
    assert "issue_letters" not in choices


def test_letters_cannot_be_added_changed_or_deleted(staff_client, staff_admin):
    letter = InvitationLetter.objects.create(
        enrolment=EnrolmentFactory(), number="T-1", issued_by=staff_admin, pdf="x.pdf"
    )

    assert staff_client.get(reverse("admin:workshops_invitationletter_add")).status_code == 403
    assert (
        staff_client.get(reverse("admin:workshops_invitationletter_delete", args=[letter.pk])).status_code
        == 403
    )
    response = staff_client.post(
        reverse("admin:workshops_invitationletter_change", args=[letter.pk]), {"number": "T-2"}
    )
    assert response.status_code == 403
    letter.refresh_from_db()
    assert letter.number == "T-1"


# --- Cancelling and promoting -------------------------------------------------------


def test_cancel_action_frees_the_place_for_the_first_person_waiting(
    staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=2)
    leaving, staying = EnrolmentFactory.create_batch(2, session=session)
    later = waitlisted(session, 2)
    nxt = waitlisted(session, 1)

    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(staff_client, "cancel_selected", [leaving])

    for e in (leaving, staying, later, nxt):
        e.refresh_from_db()
    assert leaving.status == Enrolment.Status.CANCELLED
    assert nxt.status == Enrolment.Status.OFFERED
    assert later.status == Enrolment.Status.WAITLISTED
    assert staying.status == Enrolment.Status.CONFIRMED
    assert sorted((m.to[0], m.subject.split(":")[0]) for m in mailoutbox) == sorted(
        [(leaving.email, "Your enrolment is cancelled"), (nxt.email, "A place is free for you")]
    )
    assert any(level == "success" and "1 enrolment cancelled" in text for level, text in _messages(response))

    again = _run_action(staff_client, "cancel_selected", [leaving])
    assert ("warning", "This enrolment is already cancelled.") in _messages(again)


def test_promote_action_needs_a_free_place(staff_client):
    session = SessionFactory(capacity=1)
    EnrolmentFactory(session=session)
    waiting = waitlisted(session, 1, full_name="Chen Jing")

    full = _run_action(staff_client, "promote_selected", [waiting])

    waiting.refresh_from_db()
    assert waiting.status == Enrolment.Status.WAITLISTED
    assert any(
        level == "warning" and "raise its capacity to promote Chen Jing" in t for level, t in _messages(full)
    )

    Session.objects.filter(pk=session.pk).update(capacity=2)
    done = _run_action(staff_client, "promote_selected", [waiting])

    waiting.refresh_from_db()
    assert waiting.status == Enrolment.Status.CONFIRMED
    assert ("success", "1 person promoted from the waiting list.") in _messages(done)


# --- CSV exports --------------------------------------------------------------------


def test_csv_export_lists_enrolments_without_passport_data(staff_client, staff_admin):
    session = SessionFactory(capacity=1, workshop__title="Pacing")
    first = EnrolmentFactory(
        session=session,
        full_name="李小龙",
        email="li@example.org",
        nationality="CN",
        country_of_residence="HK",
        role=Enrolment.Role.DIRECTOR,
    )
    second = waitlisted(session, 1, needs_visa_letter=False, passport_number="", passport_expiry=None)
    InvitationLetter.objects.create(enrolment=first, number="HDW-T-1", issued_by=staff_admin, pdf="x.pdf")

    response = _run_action(staff_client, "export_csv", [first, second], follow=False)

    header, *rows = _csv_rows(response)
    assert header == [
        "Name",
        "Email",
        "Session",
        "Status",
        "Waiting-list order",
        "Nationality",
        "Country of residence",
        "Role",
        "Language for emails",
        "Needs visa letter",
        "Letter numbers",
        "Registered at (Asia/Shanghai)",
        "Fee (CNY)",
        "Payment reference",
        "Fee paid",
        "Received (CNY)",
        "Paid back (CNY)",
    ]
    registered = timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M")
    assert rows[0] == [
        "李小龙",
        "li@example.org",
        str(session),
        "Confirmed",
        "",
        "China",
        "Hong Kong",
        "Director",
        "English",
        "yes",
        "HDW-T-1",
        registered,
        "0.00",
        "",
        "Nothing to pay",
        "0.00",
        "0.00",
    ]
    assert rows[1][3:5] == ["On the waiting list", "1"]
    assert first.passport_number not in response.content.decode()
    assert "Passport" not in response.content.decode()


def test_csv_export_with_passport_data_is_for_permitted_users_and_logged(staff_client, staff_admin, caplog):
    enrolment = EnrolmentFactory(passport_number="E12345678")

    with caplog.at_level(logging.INFO, logger="workshops.admin"):
        response = _run_action(staff_client, "export_csv_with_passport", [enrolment], follow=False)

    header, row = _csv_rows(response)
    assert header[-3:] == ["Passport number", "Passport expiry", "Date of birth"]
    assert row[-3:] == [
        "E12345678",
        f"{enrolment.passport_expiry:%Y-%m-%d}",
        f"{enrolment.date_of_birth:%Y-%m-%d}",
    ]
    assert "no-store" in response["Cache-Control"]
    assert "exported passport data for 1 enrolments" in caplog.text
    assert "E12345678" not in caplog.text
    entry = LogEntry.objects.get(object_id=str(enrolment.pk))
    assert entry.user == staff_admin
    assert "E12345678" not in entry.change_message + entry.object_repr


def test_passport_export_is_not_offered_without_the_permission(client, limited_staff):
    enrolment = EnrolmentFactory(passport_number="E12345678")
    login_staff(client, limited_staff)

    changelist = client.get(reverse(ENROLMENTS))

    choices = dict(changelist.context["action_form"].fields["action"].choices)
    assert "export_csv" in choices
    assert "export_csv_with_passport" not in choices
    response = _run_action(client, "export_csv_with_passport", [enrolment], follow=False)
    assert not response.get("Content-Type", "").startswith("text/csv")
    assert b"E12345678" not in response.content


def test_csv_export_neutralises_spreadsheet_formulas(staff_client):
    enrolment = EnrolmentFactory(full_name='=HYPERLINK("http://evil.example","x")', email="plain@example.org")
    other = EnrolmentFactory(full_name="+86 Wang", session=enrolment.session)

    response = _run_action(staff_client, "export_csv", [enrolment, other], follow=False)

    _header, *rows = _csv_rows(response)
    names = {r[1]: r[0] for r in rows}
    assert names["plain@example.org"] == '\'=HYPERLINK("http://evil.example","x")'
    assert names[other.email] == "'+86 Wang"


def test_csv_export_queries_do_not_grow_with_enrolments(staff_client, staff_admin):
    def make(count: int) -> None:
        for enrolment in EnrolmentFactory.create_batch(count):
            InvitationLetter.objects.create(
                enrolment=enrolment, number=f"T-{enrolment.pk}", issued_by=staff_admin, pdf="x.pdf"
            )

    def export_queries(action: str) -> int:
        enrolments = Enrolment.objects.all()
        with CaptureQueriesContext(connection) as queries:
            response = _run_action(staff_client, action, enrolments, follow=False)
        assert len(_csv_rows(response)) == enrolments.count() + 1
        return len(queries)

    make(3)
    export_queries("export_csv")
    few = export_queries("export_csv"), export_queries("export_csv_with_passport")
    make(30)
    many = export_queries("export_csv"), export_queries("export_csv_with_passport")

    assert few == many
