"""A participant changes their own enrolment from the private link."""

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from hengdian.roles import VISA_OFFICER, WORKSHOP_DESK
from tests.auth import login_staff
from tests.factories import EnrolmentFactory, SessionFactory, StaffFactory, StaffMemberFactory
from workshops import services
from workshops.models import Enrolment

pytestmark = pytest.mark.django_db


def _url(enrolment) -> str:
    return reverse("workshops:edit", args=[enrolment.manage_token])


def _data(enrolment, **overrides) -> dict:
    data = {
        "full_name": enrolment.full_name,
        "language": enrolment.language,
        "needs": enrolment.needs,
        "needs_visa_letter": "on" if enrolment.needs_visa_letter else "",
        "passport_number": "",
        "passport_expiry": "",
        "date_of_birth": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


NO_VISA = {"needs_visa_letter": False, "passport_number": "", "passport_expiry": None, "date_of_birth": None}


def _valid_expiry(enrolment) -> str:
    return (timezone.localtime(enrolment.session.starts_at).date() + relativedelta(years=2)).isoformat()


def _history(enrolment) -> list[LogEntry]:
    return list(LogEntry.objects.filter(object_id=str(enrolment.pk), content_type__model="enrolment"))


def test_the_form_shows_the_details_but_never_the_passport(client):
    enrolment = EnrolmentFactory(full_name="Amara Okafor", needs="Vegetarian", passport_number="A12345678")

    response = client.get(_url(enrolment))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Amara Okafor"' in page
    assert "Vegetarian" in page
    assert "A12345678" not in page
    assert enrolment.masked_passport_number in page  # which passport is on file, masked
    assert str(enrolment.date_of_birth) not in page
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_name_and_language_change_is_saved_recorded_and_later_emails_use_the_new_language(
    client, django_capture_on_commit_callbacks
):
    enrolment = EnrolmentFactory(full_name="Amara Okafor", language="en", **NO_VISA)

    response = client.post(_url(enrolment), _data(enrolment, full_name="  Amara   N. Okafor ", language="es"))

    assert response.status_code == 302
    assert response["Location"] == enrolment.get_absolute_url()
    enrolment.refresh_from_db()
    assert enrolment.full_name == "Amara N. Okafor"
    assert enrolment.language == "es"
    (entry,) = _history(enrolment)
    assert entry.get_change_message() == "Changed Full name as in passport and Language for emails."
    assert entry.user.email == services.PARTICIPANT_LINK_ACCOUNT
    assert not entry.user.is_active and not entry.user.has_usable_password()
    page = client.get(enrolment.get_absolute_url()).content.decode()
    assert "Your changes are saved." in page
    assert "Amara N. Okafor" in page

    with django_capture_on_commit_callbacks(execute=True):
        services.enrolment_cancel(enrolment=enrolment)

    (message,) = mail.outbox
    assert message.subject.startswith("Su inscripción está cancelada")
    assert "Hola, Amara N. Okafor" in message.body


def test_passport_details_replace_those_on_file_while_no_letter_is_issued(client):
    enrolment = EnrolmentFactory(passport_number="A12345678")
    expiry = _valid_expiry(enrolment)

    response = client.post(
        _url(enrolment),
        _data(enrolment, passport_number="b 9876-5432", passport_expiry=expiry, date_of_birth="1990-02-03"),
    )

    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.passport_number == "B98765432"
    assert str(enrolment.passport_expiry) == expiry
    assert enrolment.letter_reissue_requested_at is None
    (entry,) = _history(enrolment)
    message = entry.get_change_message()
    assert "Passport number" in message and "Date of birth" in message
    # Names of the fields only, never their values.
    for value in ("B98765432", "A12345678", expiry, "1990-02-03", "1990"):
        assert value not in entry.change_message


def test_empty_passport_fields_keep_the_details_on_file(client):
    enrolment = EnrolmentFactory(passport_number="A12345678")
    before = (enrolment.passport_number, enrolment.passport_expiry, enrolment.date_of_birth)

    client.post(_url(enrolment), _data(enrolment, needs="Wheelchair access"))

    enrolment.refresh_from_db()
    assert (enrolment.passport_number, enrolment.passport_expiry, enrolment.date_of_birth) == before
    assert enrolment.needs == "Wheelchair access"


def test_asking_for_a_letter_later_needs_the_passport_and_unticking_it_drops_the_data(client):
    enrolment = EnrolmentFactory(**NO_VISA)

    response = client.post(_url(enrolment), _data(enrolment, needs_visa_letter="on"))

    assert response.status_code == 400
    assert "Needed for your invitation letter." in response.context["form"].errors["passport_number"]
    enrolment.refresh_from_db()
    assert not enrolment.needs_visa_letter

    client.post(
        _url(enrolment),
        _data(
            enrolment,
            needs_visa_letter="on",
            passport_number="C1234567",
            passport_expiry=_valid_expiry(enrolment),
            date_of_birth="1988-08-08",
        ),
    )
    enrolment.refresh_from_db()
    assert enrolment.needs_visa_letter and enrolment.passport_number == "C1234567"

    client.post(_url(enrolment), _data(enrolment, needs_visa_letter=""))

    enrolment.refresh_from_db()
    assert not enrolment.needs_visa_letter
    assert (enrolment.passport_number, enrolment.passport_expiry, enrolment.date_of_birth) == ("", None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("passport_number", "12<script>", "5 to 20 letters and digits"),
        ("passport_expiry", "2020-01-01", "This passport has expired."),
        ("passport_expiry", "six-months-minus-a-day", "at least six months after your arrival"),
        ("date_of_birth", "1850-01-01", "Enter your real date of birth."),
        ("full_name", "Amara\tOkafor", "Enter this on one line"),
        ("full_name", "N" * 201, "at most 200 characters"),
        ("language", "fr", "Select a valid choice."),
    ],
    ids=[
        "bad-number",
        "expired",
        "less-than-six-months",
        "birth-date",
        "tab-in-name",
        "long-name",
        "language",
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(client, field, value, message):
    enrolment = EnrolmentFactory(full_name="Amara Okafor", language="en")
    if value == "six-months-minus-a-day":
        arrival = timezone.localtime(enrolment.session.starts_at).date()
        value = (arrival + relativedelta(months=6) - timedelta(days=1)).isoformat()
    passport = {
        "passport_number": "D7654321",
        "passport_expiry": _valid_expiry(enrolment),
        "date_of_birth": "1991-01-01",
    }
    passport[field] = value
    before = Enrolment.objects.values().get(pk=enrolment.pk)

    data = _data(enrolment, **{"language": "es", "needs": "Halal", **passport, field: value})
    response = client.post(_url(enrolment), data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()
    # Nothing half-saved: the valid language and needs in the same form were not kept either.
    assert Enrolment.objects.values().get(pk=enrolment.pk) == before
    assert _history(enrolment) == []


def test_new_passport_details_after_a_letter_ask_the_visa_officer_for_a_new_one(client, private_storage):
    enrolment = EnrolmentFactory(full_name="Lucía Gómez")
    services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())
    form_page = client.get(_url(enrolment)).content.decode()
    assert "id_needs_visa_letter" not in form_page  # a letter exists: no withdrawing the request
    assert "the visa officer will issue a new letter" in form_page

    response = client.post(
        _url(enrolment),
        _data(
            enrolment,
            passport_number="E1122334",
            passport_expiry=_valid_expiry(enrolment),
            date_of_birth=str(enrolment.date_of_birth),
        ),
        follow=True,
    )

    enrolment.refresh_from_db()
    assert enrolment.needs_visa_letter
    assert enrolment.passport_number == "E1122334"
    assert enrolment.letter_reissue_requested_at is not None
    page = response.content.decode()
    assert "The visa officer will issue a new letter" in page
    assert "New letter requested" in page
    assert "New letter requested at" in _history(enrolment)[0].get_change_message()

    # The visa officer finds it in the admin, and the next letter settles it.
    officer = login_staff(client.__class__(), StaffMemberFactory(roles=[VISA_OFFICER]))
    listing = officer.get(
        reverse("admin:workshops_enrolment_changelist"), {"letter_reissue_requested_at__isempty": "0"}
    )
    assert listing.status_code == 200
    assert "Lucía Gómez" in listing.content.decode()
    history = officer.get(reverse("admin:workshops_enrolment_history", args=[enrolment.pk]))
    assert "Passport number" in history.content.decode()
    assert "E1122334" not in history.content.decode()

    services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())
    enrolment.refresh_from_db()
    assert enrolment.letter_reissue_requested_at is None


def test_staff_without_the_visa_role_see_the_change_but_no_passport_data(client):
    enrolment = EnrolmentFactory(full_name="Kwame Mensah")
    client.post(_url(enrolment), _data(enrolment, full_name="Kwame A. Mensah"))
    desk = login_staff(client.__class__(), StaffMemberFactory(roles=[WORKSHOP_DESK]))

    history = desk.get(reverse("admin:workshops_enrolment_history", args=[enrolment.pk]))

    assert history.status_code == 200
    assert "Changed Full name as in passport." in history.content.decode()


def test_a_cancelled_place_cannot_be_edited(client):
    enrolment = EnrolmentFactory(full_name="Amara Okafor", status=Enrolment.Status.CANCELLED)

    response = client.post(_url(enrolment), _data(enrolment, full_name="Someone Else"), follow=True)

    assert "can no longer be changed" in response.content.decode()
    enrolment.refresh_from_db()
    assert enrolment.full_name == "Amara Okafor"
    assert "Change my details" not in client.get(enrolment.get_absolute_url()).content.decode()
    with pytest.raises(services.EnrolmentError):
        services.enrolment_update(
            enrolment=enrolment, full_name="X", language="en", needs="", needs_visa_letter=False
        )


def test_a_session_that_has_ended_cannot_be_edited(client):
    past = timezone.now() - timedelta(days=3)
    session = SessionFactory(
        starts_at=past - timedelta(days=1), ends_at=past, registration_closes_at=past - timedelta(days=5)
    )
    enrolment = EnrolmentFactory(session=session, full_name="Amara Okafor")

    response = client.post(_url(enrolment), _data(enrolment, full_name="Someone Else"))

    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.full_name == "Amara Okafor"


def test_a_wrong_token_is_not_found_and_one_link_never_edits_another_enrolment(client):
    mine = EnrolmentFactory(full_name="Lucía Gómez")
    theirs = EnrolmentFactory(session=mine.session, full_name="Kwame Mensah")

    assert client.get(reverse("workshops:edit", args=["x" * 43])).status_code == 404
    client.post(_url(mine), _data(mine, full_name="Lucía G."))

    theirs.refresh_from_db()
    assert theirs.full_name == "Kwame Mensah"
    assert "Kwame" not in client.get(_url(mine)).content.decode()


def test_the_edit_page_answers_in_a_few_queries(client, django_assert_max_num_queries):
    enrolment = EnrolmentFactory()
    with django_assert_max_num_queries(4):
        assert client.get(_url(enrolment)).status_code == 200
    # One more than before the change history: the historical row.
    with django_assert_max_num_queries(15):
        client.post(_url(enrolment), _data(enrolment, full_name="New Name"))


# --- The manage page says what became of the letter when the place went --------------


def test_after_cancelling_the_page_says_the_issued_letter_was_withdrawn(client, private_storage):
    enrolment = EnrolmentFactory()
    letter = services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())
    services.enrolment_cancel(enrolment=enrolment)

    page = client.get(enrolment.get_absolute_url()).content.decode()

    assert "Not requested" not in page
    assert f"Letter {letter.number} was issued, and was withdrawn with your place" in page
    assert reverse("workshops:letter", args=[enrolment.manage_token]) not in page


def test_after_leaving_the_waiting_list_the_page_says_the_request_was_withdrawn(client):
    session = SessionFactory(capacity=0)
    waiting = EnrolmentFactory(session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=1)
    services.enrolment_cancel(enrolment=waiting)

    page = client.get(waiting.get_absolute_url()).content.decode()

    assert "Not requested" not in page
    assert "Requested, and withdrawn with your place" in page


def test_a_cancelled_place_without_a_letter_request_still_says_not_requested(client):
    enrolment = EnrolmentFactory(status=Enrolment.Status.CANCELLED, **NO_VISA)

    assert "Not requested" in client.get(enrolment.get_absolute_url()).content.decode()
