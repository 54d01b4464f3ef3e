"""Bank statements: read from the CSV a bank exports, matched by the references in the transfers'
messages to invoices and workshop places, and recorded only once staff confirm."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.models import DayRange, Invoice, Payment
from bookings.statements import StatementError, statement_read
from hengdian.roles import BOOKING_DESK, VIEWER, WORKSHOP_DESK
from workshops import services as workshop_services
from workshops.models import Enrolment, PlacePayment

from ..auth import login_staff
from ..factories import (
    CrewOwnerFactory,
    SessionFactory,
    StaffFactory,
    StaffMemberFactory,
    StudioSetFactory,
    WorkshopFactory,
)


def test_a_chinese_banks_export_is_read_in_gb18030_below_its_preamble_and_only_money_received():
    export = (
        "账号,6217000000000000000\n"
        "户名,横店影视城\n"
        "\n"
        "交易日期,交易金额,对方户名,附言\n"
        '2026/11/27,"6,800.00",김민지,学费 HDW-K7M2-Q9XP\n'
        "2026-11-28 10:21:00,-120.00,手续费,bank fee\n"
        "20261128,¥36000,红灯笼影业,hd-inv 2026 000001 定金\n"
    ).encode("gb18030")

    lines = statement_read(export)

    assert [(line.row, line.paid_on, line.amount, line.payer) for line in lines] == [
        (5, date(2026, 11, 27), Decimal("6800.00"), "김민지"),
        (7, date(2026, 11, 28), Decimal("36000"), "红灯笼影业"),
    ]
    assert lines[1].payer_reference == "红灯笼影业 hd-inv 2026 000001 定金"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"when,how much\n2026-11-27,10\n", "No header row"),
        (b"Date,Amount,Reference\nyesterday,10,x\n", "Line 2"),
        (b"Date,Amount,Reference\n2026-11-27,ten,x\n", "Line 2"),
        (b"\x81\x30\xff\xfe binary", "neither UTF-8 nor GB18030"),
        (b"Date,Amount,Reference\n" + b"2026-11-27,1,x\n" * 5001, "more than 5000 lines"),
    ],
)
def test_a_file_that_is_not_a_statement_is_refused_saying_why(content, message):
    with pytest.raises(StatementError, match=message):
        statement_read(content)


def _csv(*rows: str) -> SimpleUploadedFile:
    text = "\n".join(["Date,Amount,Payer,Reference", *rows]) + "\n"
    return SimpleUploadedFile("statement.csv", text.encode("utf-8-sig"), content_type="text/csv")


def _invoice() -> Invoice:
    owner = CrewOwnerFactory()
    first = timezone.localdate() + timedelta(days=20)
    plan = services.shoot_plan_request(
        crew=owner.crew,
        parts=[services.SetRequest(StudioSetFactory(daily_rate=Decimal("10000")), DayRange(first, first))],
        by=owner,
    )
    services.shoot_plan_confirm(plan=plan, by=StaffFactory())
    return Invoice.objects.get(plan=plan)


@pytest.mark.django_db
def test_the_desk_matches_a_statement_to_invoices_confirms_and_a_second_upload_finds_it_recorded(client):
    invoice = _invoice()
    today = f"{timezone.localdate():%Y-%m-%d}"
    number = invoice.number.lower().replace("-", " ")
    login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))
    url = reverse("admin:bookings_payment_statement")
    statement = (f"{today},3180.00,Red Lantern,deposit {number}", f"{today},500,Someone,no reference here")

    page = client.post(url, {"statement": _csv(*statement)})

    assert page.status_code == 200
    assert not Payment.objects.exists()  # nothing before the desk confirms
    html = page.content.decode()
    assert re.search(r'name="record" value="2"[^>]*checked', html)
    assert 'value="3"' not in html
    assert "No invoice number in the message." in html
    signed = page.context["signed"]

    done = client.post(url, {"matches": signed, "record": ["2", "3"]})

    assert done.status_code == 302
    payment = Payment.objects.get()
    assert (payment.invoice_id, payment.amount, payment.method) == (
        invoice.pk,
        Decimal("3180.00"),
        "bank_transfer",
    )
    assert number in payment.payer_reference
    again = client.post(url, {"statement": _csv(*statement)})
    assert "Already recorded." in again.content.decode()
    assert 'name="record"' not in again.content.decode()


@pytest.mark.django_db
def test_altered_matches_record_nothing(client):
    invoice = _invoice()
    login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))
    url = reverse("admin:bookings_payment_statement")
    page = client.post(url, {"statement": _csv(f"{timezone.localdate()},100,X,{invoice.number}")})

    response = client.post(url, {"matches": page.context["signed"] + "x", "record": ["2"]}, follow=True)

    assert "upload the statement again" in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("s.csv", b"nothing,here\n1,2\n"), "No header row"),
        (SimpleUploadedFile("s.csv", b"Date,Amount,Reference\n2026-11-27,-5,fee\n"), "no money received"),
        (None, "This field is required"),
    ],
)
def test_a_bad_file_is_refused_next_to_the_field(client, upload, message):
    login_staff(client, StaffMemberFactory(roles=[BOOKING_DESK]))

    response = client.post(
        reverse("admin:bookings_payment_statement"), {"statement": upload} if upload else {}
    )

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["statement"])


@pytest.mark.django_db
def test_the_workshop_desk_matches_place_references_and_a_released_place_is_left_to_a_person(client):
    session = SessionFactory(workshop=WorkshopFactory(fee=Decimal("3200")), capacity=5)

    def register(n: int) -> Enrolment:
        return workshop_services.enrolment_register(
            session=session,
            full_name=f"Participant {n}",
            email=f"p{n}@example.org",
            country_of_residence="RS",
            nationality="RS",
            role="actor",
        ).enrolment

    paying, cancelled = register(1), register(2)
    workshop_services.enrolment_cancel(enrolment=cancelled)
    login_staff(client, StaffMemberFactory(roles=[WORKSHOP_DESK]))
    url = reverse("admin:workshops_placepayment_statement")
    today = timezone.localdate()
    page = client.post(
        url,
        {
            "statement": _csv(
                f"{today},3200,Ana,{paying.payment_reference.lower()}",
                f"{today},3200,Marko,{cancelled.payment_reference}",
            )
        },
    )
    html = page.content.decode()
    assert re.search(r'name="record" value="2"[^>]*checked', html)
    assert 'value="3"' not in html

    client.post(url, {"matches": page.context["signed"], "record": ["2", "3"]})

    payment = PlacePayment.objects.get()
    assert payment.enrolment_id == paying.pk
    paying.refresh_from_db()
    assert paying.paid_at is not None


@pytest.mark.django_db
def test_statements_are_matched_only_by_those_who_record_payments(client):
    for role, name in ((VIEWER, "bookings_payment"), (BOOKING_DESK, "workshops_placepayment")):
        login_staff(client, StaffMemberFactory(roles=[role]))
        assert client.get(reverse(f"admin:{name}_statement")).status_code == 403
