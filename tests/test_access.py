"""Who may open what: every URL of the site and the admin, for every kind of person.

The table below is the rule book. A URL that is added without a rule here
fails ``test_every_url_has_a_rule``, so nobody can add a page without saying
who may see it. The admin's model pages follow from two explicit tables: what
each model's admin offers at all, and what each role may do with each model.
Detailed behaviour within a page (masked passport numbers, hidden private
links, read-only fields) is tested in tests/staff/test_roles.py.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings import services
from bookings.models import (
    Blackout,
    Booking,
    DayRange,
    EquipmentUnit,
    FapiaoRequest,
    Handover,
    Invoice,
    Notification,
    Payment,
    StudioSet,
)
from hengdian.roles import BOOKING_DESK, EQUIPMENT_STORE, VIEWER, VISA_OFFICER, WORKSHOP_DESK
from workshops import services as workshop_services
from workshops.models import Attendance, Certificate, Enrolment, PlacePayment

from .auth import login_staff, staff_device
from .factories import (
    CrewMemberFactory,
    CrewOwnerFactory,
    EnrolmentFactory,
    EquipmentFactory,
    SessionFactory,
    StaffFactory,
    StaffMemberFactory,
    StudioSetFactory,
    UserFactory,
    WorkshopFactory,
)

ANONYMOUS = "anonymous"
OWNER = "crew owner"
MEMBER = "crew member"
OTHER_CREW = "other crew"
PARTICIPANT = "participant"  # holds an enrolment's private link, has no account
NO_PERMISSIONS = "staff without permissions"
SUPERUSER = "superuser"
ROLE_PERSONAS = {
    "booking desk": BOOKING_DESK,
    "workshop desk": WORKSHOP_DESK,
    "visa officer": VISA_OFFICER,
    "viewer": VIEWER,
    "equipment store": EQUIPMENT_STORE,
}
CREW = (OWNER, MEMBER, OTHER_CREW)
STAFF = (*ROLE_PERSONAS, NO_PERMISSIONS, SUPERUSER)
PERSONAS = (ANONYMOUS, PARTICIPANT, *CREW, *STAFF)


@dataclass
class World:
    """One of everything a URL can point at, and a client per person."""

    owner: object
    member: object
    pending: object  # invited to the owner's crew, has not chosen a password yet
    other: object
    staff: dict
    studio_set: StudioSet
    booking: Booking
    change: Booking  # a change asked for a confirmed booking, waiting for the desk
    enrolment: Enrolment
    notification: Notification
    blackout: Blackout
    unit: EquipmentUnit
    handover: Handover
    payment: Payment
    fapiao: FapiaoRequest
    place_payment: PlacePayment
    attendance: Attendance
    certificate: Certificate


@pytest.fixture
def world(db, private_storage) -> World:
    owner = CrewOwnerFactory()
    member = CrewMemberFactory(crew=owner.crew)
    other = CrewOwnerFactory()
    superuser = StaffFactory()
    staff = {name: StaffMemberFactory(roles=[role]) for name, role in ROLE_PERSONAS.items()}
    staff[NO_PERMISSIONS] = UserFactory(is_staff=True)
    staff[SUPERUSER] = superuser
    for user in staff.values():
        staff_device(user)
    StaticDevice.objects.create(user=superuser, name="Backup codes")
    studio_set = StudioSetFactory()
    camera = EquipmentFactory()
    today = timezone.localdate()
    booking = services.booking_request(
        crew=owner.crew,
        studio_set=studio_set,
        days=DayRange(today + timedelta(days=20), today + timedelta(days=22)),
        items=[services.ItemRequest(camera, 1)],
        by=owner,
    )
    confirmed = services.booking_confirm(
        booking=services.booking_request(
            crew=owner.crew,
            studio_set=studio_set,
            days=DayRange(today + timedelta(days=30), today + timedelta(days=32)),
            by=owner,
        ),
        by=superuser,
    )
    change = services.booking_change(
        booking=confirmed,
        change=services.BookingChange(
            studio_set, DayRange(today + timedelta(days=31), today + timedelta(days=33))
        ),
        by=owner,
    )
    enrolment = EnrolmentFactory(session=SessionFactory())
    workshop_services.invitation_letter_issue(enrolment=enrolment, by=superuser)
    certificate = Certificate.objects.create(
        enrolment=enrolment,
        name=enrolment.full_name,
        days_attended=1,
        days_total=1,
        hours=Decimal("8"),
        issued_at=timezone.now(),
    )
    paying = workshop_services.enrolment_register(
        session=SessionFactory(workshop=WorkshopFactory(fee=Decimal("6800"))),
        full_name="Paying Participant",
        email="paying@example.com",
        country_of_residence="ZA",
        nationality="ZA",
        role="actor",
    ).enrolment
    # Someone at the door of a session that runs today.
    running = SessionFactory(
        starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(days=2)
    )
    attendee = EnrolmentFactory(session=running, needs_visa_letter=False, passport_number="")
    AccessAttempt.objects.create(username="x@example.com", ip_address="127.0.0.1", failures_since_start=1)
    AccessLog.objects.create(username="x@example.com", ip_address="127.0.0.1")
    AccessFailureLog.objects.create(username="x@example.com", ip_address="127.0.0.1", locked_out=False)
    services.crew_member_add(crew=owner.crew, email="pending@example.com", full_name="Pending", by=owner)
    pending = owner.crew.members.get(email="pending@example.com")
    # A tagged unit out with the crew today.
    tagged = EquipmentFactory(stock=0)
    services.unit_add(equipment=tagged, asset_tag="CAM-0001")
    services.equipment_track_units(equipment=tagged, tracks=True)
    shooting = services.booking_confirm(
        booking=services.booking_request(
            crew=owner.crew,
            studio_set=StudioSetFactory(),
            days=DayRange(today, today),
            items=[services.ItemRequest(tagged, 1)],
            by=owner,
        ),
        by=superuser,
    )
    (handover,) = services.handover_check_out(
        line=shooting.items.get(), asset_tags=["CAM-0001"], collected_by=owner, by=superuser
    )
    return World(
        owner=owner,
        member=member,
        pending=pending,
        other=other,
        staff=staff,
        studio_set=studio_set,
        booking=booking,
        change=change,
        enrolment=enrolment,
        notification=Notification.objects.filter(enrolment=enrolment).first(),
        blackout=Blackout.objects.create(
            studio_set=studio_set, start_date=today + timedelta(days=60), end_date=today + timedelta(days=61)
        ),
        unit=handover.unit,
        handover=handover,
        payment=services.payment_record(
            invoice=Invoice.objects.filter(crew=owner.crew).first(),
            amount=Decimal("100"),
            paid_on=today,
            method="bank_transfer",
            by=superuser,
        )[0],
        fapiao=services.fapiao_request(
            invoice=Invoice.objects.filter(crew=owner.crew).first(),
            by=owner,
            kind="ordinary",
            email=owner.email,
        ),
        certificate=certificate,
        attendance=workshop_services.checkin_record(
            session=running, code=attendee.checkin_code, by=superuser
        ).attendance,
        place_payment=workshop_services.place_payment_record(
            enrolment=paying, amount=Decimal("100"), paid_on=today, method="bank_transfer", by=superuser
        ).payment,
    )


def client_for(persona: str, world: World) -> Client:
    client = Client()
    if persona in CREW:
        client.force_login({OWNER: world.owner, MEMBER: world.member, OTHER_CREW: world.other}[persona])
    elif persona in STAFF:
        login_staff(client, world.staff[persona])
    return client


# --- The rule book --------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How to call one URL, and the status each person gets."""

    url: Callable[[World], str]
    expected: dict[str, int]
    method: str = "get"
    data: Callable[[World], dict] | None = None


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in(status: int, *, anonymous: int = 302, **overrides: int) -> dict[str, int]:
    """``status`` for anyone logged in; anonymous visitors (and link holders) go to the log-in page."""
    table = dict.fromkeys(PERSONAS, status)
    table.update({ANONYMOUS: anonymous, PARTICIPANT: anonymous})
    table.update({k.replace("_", " "): v for k, v in overrides.items()})
    return table


def crew_page(own: int = 200, *, other: int = 404, member: int | None = None) -> dict[str, int]:
    """A page of a crew's: its members get it, other crews and staff do not know it exists."""
    table = signed_in(404)
    table.update({OWNER: own, MEMBER: own if member is None else member, OTHER_CREW: other})
    return table


def staff_only(staff: int = 200, *, others: int = 404) -> dict[str, int]:
    """Staff's own pages outside the admin: nobody else knows they exist."""
    table = signed_in(others)
    table.update(dict.fromkeys(STAFF, staff))
    return table


def admin_page(status: Callable[[str], int]) -> dict[str, int]:
    """Admin pages: visitors and crews are sent to the admin's log-in; staff get ``status(persona)``."""
    table = everyone(302)
    table.update({persona: status(persona) for persona in STAFF})
    return table


WRONG_TOKEN = "n0t-a-real-t0ken-n0t-a-real-t0ken-n0t-a-re"

PUBLIC_RULES: dict[str, Rule] = {
    "home": Rule(lambda w: reverse("home"), everyone(200)),
    "healthz": Rule(lambda w: reverse("healthz"), everyone(200)),
    "set_language": Rule(
        lambda w: reverse("set_language"), everyone(302), "post", lambda w: {"language": "es"}
    ),
    # Accounts
    "signup": Rule(lambda w: reverse("signup"), signed_in(302, anonymous=200)),
    "signup_sent": Rule(lambda w: reverse("signup_sent"), everyone(200)),
    "login": Rule(lambda w: reverse("login"), signed_in(302, anonymous=200)),
    "logout": Rule(lambda w: reverse("logout"), everyone(405)),
    # Everyone signed in keeps their own details.
    "account": Rule(lambda w: reverse("account"), signed_in(200)),
    "account_email_language": Rule(
        lambda w: reverse("account_email_language"), signed_in(302), "post", lambda w: {"language": "es"}
    ),
    "password_change": Rule(lambda w: reverse("password_change"), signed_in(200)),
    "password_change_done": Rule(lambda w: reverse("password_change_done"), signed_in(200)),
    "password_reset": Rule(lambda w: reverse("password_reset"), everyone(200)),
    "password_reset_done": Rule(lambda w: reverse("password_reset_done"), everyone(200)),
    "password_reset_confirm": Rule(
        lambda w: reverse("password_reset_confirm", args=["MQ", "not-a-token"]), everyone(200)
    ),
    "password_reset_complete": Rule(lambda w: reverse("password_reset_complete"), everyone(200)),
    # The staff log-in's second step: staff only; a verified session goes on to the admin.
    "two_factor": Rule(lambda w: reverse("two_factor"), staff_only(302)),
    "two_factor_setup": Rule(lambda w: reverse("two_factor_setup"), staff_only(200)),
    "two_factor_backup_codes": Rule(lambda w: reverse("two_factor_backup_codes"), staff_only(200), "post"),
    # Catalogue and workshops: public.
    "bookings:set_list": Rule(lambda w: reverse("bookings:set_list"), everyone(200)),
    "bookings:set_detail": Rule(lambda w: w.studio_set.get_absolute_url(), everyone(200)),
    "bookings:equipment_list": Rule(lambda w: reverse("bookings:equipment_list"), everyone(200)),
    "workshops:list": Rule(lambda w: reverse("workshops:list"), everyone(200)),
    "workshops:detail": Rule(lambda w: w.enrolment.session.workshop.get_absolute_url(), everyone(200)),
    "workshops:register": Rule(
        lambda w: reverse("workshops:register", args=[w.enrolment.session.pk]), everyone(200)
    ),
    "workshops:registration_sent": Rule(
        lambda w: reverse("workshops:registration_sent", args=[w.enrolment.session.pk]), everyone(200)
    ),
    # A check-in code is no credential: its QR image is drawn for anyone (the HTML email loads it).
    # Verifying a certificate by its number is public; it says only what the certificate says.
    "workshops:certificate_verify": Rule(lambda w: w.certificate.get_absolute_url(), everyone(200)),
    "workshops:checkin_qr": Rule(
        lambda w: reverse("workshops:checkin_qr", args=[w.enrolment.checkin_code]), everyone(200)
    ),
    # A crew's pages: its members only. Staff are nobody special on the site.
    "bookings:crew": Rule(lambda w: reverse("bookings:crew"), crew_page(other=200)),
    "bookings:list": Rule(lambda w: reverse("bookings:list"), signed_in(200)),
    "bookings:new": Rule(lambda w: reverse("bookings:new"), crew_page(other=200)),
    "bookings:quote": Rule(lambda w: reverse("bookings:quote"), crew_page(other=200), "post"),
    "bookings:detail": Rule(lambda w: w.booking.get_absolute_url(), crew_page()),
    "bookings:ics": Rule(lambda w: reverse("bookings:ics", args=[w.booking.reference]), crew_page()),
    "bookings:plan": Rule(lambda w: w.booking.plan.get_absolute_url(), crew_page()),
    # Asking for a fapiao a second time is refused on the page (400); other crews do not see the invoice.
    "bookings:invoice_fapiao": Rule(
        lambda w: reverse(
            "bookings:invoice_fapiao", args=[Invoice.objects.filter(crew=w.owner.crew).first().number]
        ),
        crew_page(400),
        method="post",
    ),
    "bookings:invoice_pdf": Rule(
        lambda w: Invoice.objects.filter(crew=w.owner.crew).first().get_absolute_url(), crew_page()
    ),
    "bookings:plan_again": Rule(
        lambda w: (
            reverse("bookings:plan_again", args=[w.booking.plan.reference])
            + f"?start={timezone.localdate() + timedelta(days=30):%Y-%m-%d}"
        ),
        crew_page(),
    ),
    "bookings:cancel": Rule(lambda w: reverse("bookings:cancel", args=[w.booking.reference]), crew_page()),
    "bookings:change": Rule(lambda w: reverse("bookings:change", args=[w.booking.reference]), crew_page()),
    "bookings:change_withdraw": Rule(
        lambda w: reverse("bookings:change_withdraw", args=[w.change.change_of.reference]),
        crew_page(302),
        "post",
    ),
    # Found: any staff account could cancel any crew's booking here, unrecorded.
    "bookings:cancel (confirmed)": Rule(
        lambda w: reverse("bookings:cancel", args=[w.booking.reference]), crew_page(302), "post"
    ),
    "bookings:crew_member_add": Rule(
        lambda w: reverse("bookings:crew_member_add"),
        crew_page(302, other=302, member=400),
        "post",
        lambda w: {"full_name": "New Member", "email": "new.member@example.com"},
    ),
    # Only the owner sends an invitation again, and only to a member of their own crew.
    "bookings:crew_member_invite_again": Rule(
        lambda w: reverse("bookings:crew_member_invite_again", args=[w.pending.pk]),
        crew_page(302, other=404, member=404),
        "post",
    ),
    # The owner's decisions about the crew: to its members and to other crews they do not exist.
    "bookings:crew_edit": Rule(lambda w: reverse("bookings:crew_edit"), crew_page(other=200, member=404)),
    "bookings:crew_edit (save)": Rule(
        lambda w: reverse("bookings:crew_edit"),
        crew_page(302, other=302, member=404),
        "post",
        lambda w: {"name": "Renamed Pictures", "contact_phone": "+86 579 8655 0000", "country": "CN"},
    ),
    "bookings:crew_member_make_owner": Rule(
        lambda w: reverse("bookings:crew_member_make_owner", args=[w.member.pk]), crew_page(member=404)
    ),
    # Refused (the pending member cannot log in yet), so the owner stays the owner for the rules below.
    "bookings:crew_member_make_owner (confirmed)": Rule(
        lambda w: reverse("bookings:crew_member_make_owner", args=[w.pending.pk]),
        crew_page(302, member=404),
        "post",
    ),
    "bookings:crew_member_remove": Rule(
        lambda w: reverse("bookings:crew_member_remove", args=[w.member.pk]), crew_page(member=404)
    ),
    # The rules run in order on one world: remove the pending member, keep the others.
    "bookings:crew_member_remove (confirmed)": Rule(
        lambda w: reverse("bookings:crew_member_remove", args=[w.pending.pk]),
        crew_page(302, member=404),
        "post",
    ),
    # Resetting the feed cuts off everyone's subscription: the owner's decision.
    "bookings:calendar_reset": Rule(
        lambda w: reverse("bookings:calendar_reset"), crew_page(302, other=302, member=403), "post"
    ),
    # The calendar feed's token is its key: anyone holding it may read it, nobody guesses it.
    "bookings:feed": Rule(
        lambda w: reverse("bookings:feed", args=[w.owner.crew.calendar_token]), everyone(200)
    ),
    # A participant's private link is their key; the same URL with any other token is nothing.
    "workshops:manage": Rule(lambda w: reverse("workshops:manage", args=[WRONG_TOKEN]), everyone(404)),
    "workshops:edit": Rule(lambda w: reverse("workshops:edit", args=[WRONG_TOKEN]), everyone(404)),
    "workshops:cancel": Rule(lambda w: reverse("workshops:cancel", args=[WRONG_TOKEN]), everyone(404)),
    "workshops:calendar": Rule(lambda w: reverse("workshops:calendar", args=[WRONG_TOKEN]), everyone(404)),
    "workshops:letter": Rule(lambda w: reverse("workshops:letter", args=[WRONG_TOKEN]), everyone(404)),
    "workshops:certificate": Rule(
        lambda w: reverse("workshops:certificate", args=[WRONG_TOKEN]), everyone(404)
    ),
    "workshops:accept": Rule(
        lambda w: reverse("workshops:accept", args=[WRONG_TOKEN]), everyone(404), method="post"
    ),
}

# The participant's own link, with their token.
PARTICIPANT_RULES: dict[str, Rule] = {
    name: Rule(lambda w, name=name: reverse(name, args=[w.enrolment.manage_token]), {PARTICIPANT: 200})
    for name in (
        "workshops:manage",
        "workshops:edit",
        "workshops:cancel",
        "workshops:calendar",
        "workshops:letter",
        "workshops:certificate",
    )
}
# Accepting a place offered is a POST with the participant's own link; nothing is offered to this
# one, so they are sent back to their page with the reason.
PARTICIPANT_RULES["workshops:accept"] = Rule(
    lambda w: reverse("workshops:accept", args=[w.enrolment.manage_token]), {PARTICIPANT: 302}, method="post"
)

# --- The admin ------------------------------------------------------------------------

VIEW, ADD, CHANGE, DELETE = "v", "a", "c", "d"

# What each model's admin offers at all (to a superuser): records kept by the
# services can be read, never edited or deleted by hand. Bookings, shoot plans and
# enrolments are added on the desk's own pages, through the same services as the site.
ADMIN_OFFERS = {
    "auth.group": "vacd",
    "axes.accessattempt": "vcd",
    "axes.accesslog": "vcd",
    "axes.accessfailurelog": "vcd",
    "otp_totp.totpdevice": "vacd",
    "otp_static.staticdevice": "vacd",
    "bookings.user": "vacd",
    "bookings.crew": "vacd",
    "bookings.studioset": "vacd",
    "bookings.equipment": "vacd",
    "bookings.blackout": "vacd",
    "bookings.booking": "va",
    "bookings.shootplan": "va",
    "bookings.notification": "v",
    "bookings.equipmentunit": "vac",  # retired, never deleted
    "bookings.handover": "v",  # made and closed on the store's counter page
    "bookings.invoice": "v",  # issued by the services, never edited
    "bookings.payment": "v",  # recorded on an invoice's own page, never edited
    "bookings.fapiaorequest": "v",  # asked for by crews, marked issued by an action
    "workshops.workshop": "vacd",
    "workshops.session": "vacd",
    "workshops.enrolment": "vac",
    "workshops.invitationletter": "v",
    "workshops.placepayment": "va",  # recorded by payment reference, never edited
    "workshops.attendance": "v",  # recorded at the door, on the check-in page
    "workshops.certificate": "v",  # issued by the sweep after a session
}

# What each role may do with each model (written out, not read from
# hengdian/roles.py, so that a change to a role is a change to this test too).
ROLE_MAY = {
    "booking desk": {
        "bookings.invoice": "v",
        "bookings.payment": "va",
        "bookings.fapiaorequest": "v",
        "bookings.studioset": "vac",
        "bookings.equipment": "vac",
        "bookings.equipmentunit": "v",
        "bookings.handover": "v",
        "bookings.blackout": "vacd",
        "bookings.booking": "vac",
        "bookings.shootplan": "va",
        "bookings.crew": "vc",
        "bookings.user": "vc",
        "bookings.notification": "vc",
    },
    "workshop desk": {
        "workshops.workshop": "vac",
        "workshops.session": "vac",
        "workshops.enrolment": "vac",
        "workshops.invitationletter": "v",
        "workshops.placepayment": "va",
        "workshops.attendance": "va",
        "workshops.certificate": "v",
        "bookings.notification": "vc",
    },
    "visa officer": {
        "workshops.workshop": "v",
        "workshops.session": "v",
        "workshops.enrolment": "vc",
        "workshops.invitationletter": "va",
        "bookings.notification": "v",
    },
    "viewer": {
        "bookings.invoice": "v",
        "bookings.payment": "v",
        "bookings.fapiaorequest": "v",
        "bookings.studioset": "v",
        "bookings.equipment": "v",
        "bookings.equipmentunit": "v",
        "bookings.handover": "v",
        "bookings.blackout": "v",
        "bookings.booking": "v",
        "bookings.shootplan": "v",
        "bookings.crew": "v",
        "workshops.workshop": "v",
        "workshops.session": "v",
        "workshops.enrolment": "v",
        "workshops.invitationletter": "v",
        "workshops.placepayment": "v",
        "workshops.attendance": "v",
        "workshops.certificate": "v",
    },
    "equipment store": {
        "bookings.equipment": "v",
        "bookings.equipmentunit": "vac",
        "bookings.handover": "vac",
        "bookings.blackout": "v",
        "bookings.booking": "v",
        "bookings.shootplan": "v",
        "bookings.crew": "v",
        "bookings.notification": "v",
    },
}

# Which object each model's pages are opened with.
ADMIN_OBJECTS: dict[str, Callable[[World], object]] = {
    "auth.group": lambda w: Group.objects.get(name=VIEWER),
    "axes.accessattempt": lambda w: AccessAttempt.objects.get(username="x@example.com"),
    "axes.accesslog": lambda w: AccessLog.objects.filter(username="x@example.com").get(),
    "axes.accessfailurelog": lambda w: AccessFailureLog.objects.get(username="x@example.com"),
    "otp_totp.totpdevice": lambda w: TOTPDevice.objects.filter(user=w.staff[SUPERUSER], confirmed=True).get(),
    "otp_static.staticdevice": lambda w: StaticDevice.objects.get(),
    "bookings.user": lambda w: w.owner,
    "bookings.crew": lambda w: w.owner.crew,
    "bookings.studioset": lambda w: w.studio_set,
    "bookings.equipment": lambda w: w.booking.items.get().equipment,
    "bookings.blackout": lambda w: w.blackout,
    "bookings.booking": lambda w: w.booking,
    "bookings.shootplan": lambda w: w.booking.plan,
    "bookings.notification": lambda w: w.notification,
    "bookings.equipmentunit": lambda w: w.unit,
    "bookings.handover": lambda w: w.handover,
    "bookings.invoice": lambda w: Invoice.objects.filter(crew=w.owner.crew).first(),
    "bookings.payment": lambda w: w.payment,
    "bookings.fapiaorequest": lambda w: w.fapiao,
    "workshops.workshop": lambda w: w.enrolment.session.workshop,
    "workshops.session": lambda w: w.enrolment.session,
    "workshops.enrolment": lambda w: w.enrolment,
    "workshops.invitationletter": lambda w: w.enrolment.letters.get(),
    "workshops.placepayment": lambda w: w.place_payment,
    "workshops.attendance": lambda w: w.attendance,
    "workshops.certificate": lambda w: w.certificate,
}

# The admin's model views, the actions each needs (any one of them), and whether it takes an object.
MODEL_VIEWS = {
    "changelist": (VIEW + CHANGE, False),
    "add": (ADD, False),
    "change": (VIEW + CHANGE, True),
    "history": (VIEW + CHANGE, True),
    "delete": (DELETE, True),
}


def may(persona: str, model: str, actions: str) -> bool:
    offered = ADMIN_OFFERS[model]
    if persona == SUPERUSER:
        return any(a in offered for a in actions)
    granted = ROLE_MAY.get(persona, {}).get(model, "")
    return any(a in offered and a in granted for a in actions)


def model_rule(model: str, view: str) -> Rule:
    actions, with_object = MODEL_VIEWS[view]
    app_label, model_name = model.split(".")
    name = f"admin:{app_label}_{model_name}_{view}"

    def url(w: World) -> str:
        return reverse(name, args=[ADMIN_OBJECTS[model](w).pk] if with_object else [])

    return Rule(url, admin_page(lambda persona: 200 if may(persona, model, actions) else 403))


def holds(model: str, actions: str) -> Callable[[str], int]:
    return lambda persona: 200 if may(persona, model, actions) else 403


def decides(persona: str) -> int:
    """Confirming, rejecting and cancelling: bookings.change_booking, which the admin offers no other way."""
    return 200 if persona in ("booking desk", SUPERUSER) else 403


def visa_officer_or_superuser(persona: str) -> int:
    return 200 if persona in ("visa officer", SUPERUSER) else 403


def any_app_page(app_label: str) -> Callable[[str], int]:
    """An app's index lists the models one may see; with none, the app is not there."""
    return lambda persona: (
        200 if any(may(persona, m, "vacd") for m in ADMIN_OFFERS if m.startswith(f"{app_label}.")) else 404
    )


ADMIN_RULES: dict[str, Rule] = {
    "admin:index": Rule(lambda w: reverse("admin:index"), admin_page(lambda p: 200)),
    # Visitors see the admin's log-in form; a signed-in staff member goes on to the index.
    "admin:login": Rule(
        lambda w: reverse("admin:login"),
        {**admin_page(lambda p: 302), ANONYMOUS: 200, PARTICIPANT: 200, **dict.fromkeys(CREW, 200)},
    ),
    "admin:logout": Rule(lambda w: reverse("admin:logout"), admin_page(lambda p: 405)),
    "admin:password_change": Rule(lambda w: reverse("admin:password_change"), admin_page(lambda p: 200)),
    "admin:password_change_done": Rule(
        lambda w: reverse("admin:password_change_done"), admin_page(lambda p: 200)
    ),
    "admin:jsi18n": Rule(lambda w: reverse("admin:jsi18n"), admin_page(lambda p: 200)),
    # Autocomplete answers only for a field of a model one may change, pointing at a model one may see.
    "admin:autocomplete": Rule(
        lambda w: (
            reverse("admin:autocomplete")
            + "?app_label=bookings&model_name=blackout&field_name=studio_set&term=Palace"
        ),
        admin_page(
            lambda p: 200 if may(p, "bookings.studioset", "v") and may(p, "bookings.blackout", "vc") else 403
        ),
    ),
    # "View on site" for a set: needs the view permission (enrolments never: tests/staff/test_roles.py).
    "admin:view_on_site": Rule(
        lambda w: f"/admin/r/{ContentType.objects.get_for_model(StudioSet).pk}/{w.studio_set.pk}/",
        admin_page(lambda p: 302 if may(p, "bookings.studioset", "v") else 404),
    ),
    "admin:app_list": Rule(
        lambda w: reverse("admin:app_list", args=["workshops"]), admin_page(any_app_page("workshops"))
    ),
    "admin:auth_user_password_change": Rule(
        lambda w: reverse("admin:auth_user_password_change", args=[w.owner.pk]),
        admin_page(lambda p: 200 if p == SUPERUSER else 403),
    ),
    "admin:bookings_booking_occupancy": Rule(
        lambda w: reverse("admin:bookings_booking_occupancy"), admin_page(holds("bookings.booking", "v"))
    ),
    "admin:bookings_booking_change_decision": Rule(
        lambda w: reverse("admin:bookings_booking_change_decision", args=[w.change.pk, "refuse"]),
        # Deciding needs the booking desk's change permission, which the read-only admin page never offers.
        admin_page(lambda p: 200 if p in ("booking desk", SUPERUSER) else 403),
    ),
    "admin:bookings_booking_equipment_occupancy": Rule(
        lambda w: reverse("admin:bookings_booking_equipment_occupancy"),
        admin_page(holds("bookings.booking", "v")),
    ),
    "admin:bookings_equipmentunit_labels": Rule(
        lambda w: reverse("admin:bookings_equipmentunit_labels", args=[w.unit.equipment_id]),
        admin_page(holds("bookings.equipmentunit", "v")),
    ),
    "admin:bookings_invoice_pdf": Rule(
        lambda w: reverse(
            "admin:bookings_invoice_pdf", args=[Invoice.objects.filter(crew=w.owner.crew).first().pk]
        ),
        admin_page(holds("bookings.invoice", "v")),
    ),
    "admin:bookings_invoice_report": Rule(
        lambda w: reverse("admin:bookings_invoice_report"), admin_page(holds("bookings.invoice", "v"))
    ),
    # Recording a payment needs the desk's permission to add payments.
    "admin:bookings_invoice_payment": Rule(
        lambda w: reverse("admin:bookings_invoice_payment", args=[w.payment.invoice_id]),
        admin_page(lambda p: 200 if p in ("booking desk", SUPERUSER) else 403),
    ),
    # Matching a bank statement records payments: the desk that may add them.
    "admin:bookings_payment_statement": Rule(
        lambda w: reverse("admin:bookings_payment_statement"),
        admin_page(lambda p: 200 if p in ("booking desk", SUPERUSER) else 403),
    ),
    # The door: attendance readers see the page, the workshop desk checks people in.
    "admin:workshops_session_checkin": Rule(
        lambda w: reverse("admin:workshops_session_checkin", args=[w.attendance.enrolment.session_id]),
        admin_page(holds("workshops.attendance", "v")),
    ),
    "admin:workshops_certificate_pdf": Rule(
        lambda w: reverse("admin:workshops_certificate_pdf", args=[w.certificate.pk]),
        admin_page(holds("workshops.certificate", "v")),
    ),
    "admin:workshops_placepayment_statement": Rule(
        lambda w: reverse("admin:workshops_placepayment_statement"),
        admin_page(lambda p: 200 if p in ("workshop desk", SUPERUSER) else 403),
    ),
    "admin:bookings_handover_store": Rule(
        lambda w: reverse("admin:bookings_handover_store"), admin_page(holds("bookings.handover", "v"))
    ),
    # Handing out needs the store's permission to add handovers: a viewer sees the page, but may not.
    "admin:bookings_handover_store (hand out)": Rule(
        lambda w: reverse("admin:bookings_handover_store"),
        admin_page(lambda p: 200 if p in ("equipment store", SUPERUSER) else 403),
        method="post",
        data=lambda w: {
            "action": "check-out",
            "line": f"item-{w.handover.booking_item_id}",
            "asset_tags": "",
        },
    ),
    "admin:bookings_booking_export": Rule(
        lambda w: reverse("admin:bookings_booking_export"), admin_page(holds("bookings.booking", "v"))
    ),
    # Deciding needs the booking desk's permission to change bookings (the booking in the world is a request).
    **{
        f"admin:bookings_booking_{decision}": Rule(
            lambda w, decision=decision: reverse(f"admin:bookings_booking_{decision}", args=[w.booking.pk]),
            admin_page(decides),
        )
        for decision in ("confirm", "reject", "cancel")
    },
    **{
        f"admin:bookings_shootplan_{decision}": Rule(
            lambda w, decision=decision: reverse(
                f"admin:bookings_shootplan_{decision}", args=[w.booking.plan_id]
            ),
            admin_page(decides),
        )
        for decision in ("confirm", "reject")
    },
    "admin:bookings_notification_body": Rule(
        lambda w: reverse("admin:bookings_notification_body", args=[w.notification.pk]),
        admin_page(holds("bookings.notification", "v")),
    ),
    "admin:workshops_invitationletter_pdf": Rule(
        lambda w: reverse("admin:workshops_invitationletter_pdf", args=[w.enrolment.letters.get().pk]),
        admin_page(visa_officer_or_superuser),
    ),
    # django-otp's pages that would show a device's secret: nobody (OTP_ADMIN_HIDE_SENSITIVE_DATA).
    "admin:otp_totp_totpdevice_config": Rule(
        lambda w: reverse("admin:otp_totp_totpdevice_config", args=[staff_device(w.staff[SUPERUSER]).pk]),
        admin_page(lambda p: 403),
    ),
    "admin:otp_totp_totpdevice_qrcode": Rule(
        lambda w: reverse("admin:otp_totp_totpdevice_qrcode", args=[staff_device(w.staff[SUPERUSER]).pk]),
        admin_page(lambda p: 403),
    ),
    **{
        f"admin:{model.replace('.', '_')}_{view}": model_rule(model, view)
        for model in ADMIN_OFFERS
        for view in MODEL_VIEWS
    },
}

# URLs without a name, by their pattern.
UNNAMED_RULES: dict[str, Rule] = {
    # Django's shortcut from /admin/<app>/<model>/<id>/ to the change page.
    **{
        f"admin/{model.replace('.', '/')}/<path:object_id>/": Rule(
            lambda w, model=model: f"/admin/{model.replace('.', '/')}/{ADMIN_OBJECTS[model](w).pk}/",
            admin_page(lambda p: 302),
        )
        for model in ADMIN_OFFERS
    },
    "admin/(?P<url>.*)$": Rule(lambda w: "/admin/no-such-page/", admin_page(lambda p: 404)),
    "^media/(?P<path>.*)$": Rule(lambda w: "/media/sets/no-such-photo.jpg", everyone(404)),
}

RULES = {**PUBLIC_RULES, **ADMIN_RULES}


def all_urls(patterns=None, prefix: str = "", namespace: str | None = None):
    """(name or None, pattern) for every URL the project answers."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from all_urls(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield name, prefix + str(pattern.pattern)


def test_every_url_has_a_rule():
    missing = [
        name or pattern
        for name, pattern in all_urls()
        if not (name in RULES if name else pattern in UNNAMED_RULES)
    ]
    assert missing == [], "add a rule for each new URL to tests/test_access.py"
    # ... and every model registered in the admin is in the tables.
    from django.contrib import admin

    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_OFFERS)
    assert set(ADMIN_OBJECTS) == set(ADMIN_OFFERS)


def _check(persona: str, world: World, rules: dict[str, Rule]) -> list[str]:
    client = client_for(persona, world)
    wrong = []
    for key, rule in rules.items():
        if persona not in rule.expected:
            continue
        url = rule.url(world)
        data = rule.data(world) if rule.data else {}
        response = getattr(client, rule.method)(url, data)
        if response.status_code != rule.expected[persona]:
            wrong.append(
                f"{rule.method.upper()} {url} ({key}): {response.status_code}, expected {rule.expected[persona]}"
            )
    return wrong


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_person_gets_exactly_what_their_role_allows(persona, world):
    rules = {**RULES, **UNNAMED_RULES}
    # Requests that change something come last, so they do not change what the others see.
    changing = {k: r for k, r in rules.items() if r.method == "post"}
    reading = {k: r for k, r in rules.items() if r.method != "post"}
    wrong = _check(persona, world, reading) + _check(persona, world, changing)
    assert wrong == [], "\n".join(wrong)


@pytest.mark.django_db
def test_a_participant_with_their_link_reaches_their_enrolment_and_letter(world):
    assert _check(PARTICIPANT, world, PARTICIPANT_RULES) == []


def test_every_person_is_checked_against_every_named_url():
    # Guards against a table edit that silently drops someone from the rules.
    for persona in PERSONAS:
        assert all(persona in rule.expected for rule in RULES.values()), persona
