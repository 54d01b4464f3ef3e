"""The pages the accessibility (axe) and HTML validity (vnu) checks look at, with the demo data behind them.

Adding a page to both checks is one line in PAGES: its address, with ``{placeholders}`` filled from
``demo_objects()``, and who looks at it ("anyone", "crew" or "staff").
"""

from dataclasses import dataclass

from django.core.management import call_command

from hengdian import roles

LANGUAGES = ["en", "zh-hans", "es"]

ANYONE, CREW, STAFF = "anyone", "crew", "staff"

PAGES: list[tuple[str, str]] = [
    # The public site
    ("/", ANYONE),
    ("/sets/", ANYONE),
    ("/sets/?category=palace&free_from={next_monday}&free_to={next_sunday}", ANYONE),
    ("/sets/{set}/", ANYONE),
    ("/sets/{set}/?start={next_monday}&end={next_sunday}", ANYONE),
    ("/sets/?q=palace", ANYONE),
    ("/equipment/", ANYONE),
    ("/equipment/?start={next_monday}&end={next_sunday}", ANYONE),
    ("/workshops/", ANYONE),
    ("/workshops/?q=drama&page=2", ANYONE),
    ("/workshops/{workshop}/", ANYONE),
    ("/workshops/sessions/{session}/register/", ANYONE),
    ("/workshops/sessions/{session}/register/sent/", ANYONE),
    ("/enrolments/{enrolment}/", ANYONE),
    ("/enrolments/{enrolment}/cancel/", ANYONE),
    ("/enrolments/{enrolment}/edit/", ANYONE),
    ("/enrolments/{awaiting_payment}/", ANYONE),
    ("/enrolments/{awaiting_payment}/cancel/", ANYONE),
    ("/accounts/login/", ANYONE),
    ("/accounts/signup/", ANYONE),
    ("/accounts/signup/sent/", ANYONE),
    ("/accounts/password/reset/", ANYONE),
    ("/accounts/password/reset/sent/", ANYONE),
    # A crew's own pages
    ("/bookings/", CREW),
    ("/bookings/?page=2", CREW),
    ("/bookings/new/?set={set}&start={next_monday}&end={next_sunday}", CREW),
    ("/bookings/{booking}/", CREW),
    ("/bookings/{booking}/cancel/", CREW),
    ("/bookings/{booking}/change/", CREW),
    ("/plans/{plan}/", CREW),
    ("/plans/{plan}/again/?start={next_monday}", CREW),
    ("/crew/", CREW),
    ("/crew/edit/", CREW),
    ("/crew/members/{member_pk}/remove/", CREW),
    ("/crew/members/{member_pk}/make-owner/", CREW),
    ("/accounts/profile/", CREW),
    ("/accounts/password/change/", CREW),
    # The studio's admin
    ("/admin/", STAFF),
    ("/admin/bookings/booking/", STAFF),
    ("/admin/bookings/booking/{booking_pk}/change/", STAFF),
    ("/admin/bookings/booking/{booking_pk}/history/", STAFF),
    ("/admin/bookings/booking/{requested_pk}/confirm/", STAFF),
    ("/admin/bookings/booking/{requested_pk}/reject/", STAFF),
    ("/admin/bookings/booking/{confirmed_pk}/cancel/", STAFF),
    ("/admin/bookings/shootplan/", STAFF),
    ("/admin/bookings/shootplan/{plan_pk}/change/", STAFF),
    ("/admin/bookings/shootplan/{plan_pk}/reject/", STAFF),
    ("/admin/bookings/booking/add/", STAFF),
    ("/admin/bookings/booking/{change_pk}/change-decision/refuse/", STAFF),
    ("/admin/bookings/booking/occupancy/", STAFF),
    ("/admin/bookings/booking/equipment-occupancy/", STAFF),
    ("/admin/bookings/booking/export/", STAFF),
    ("/admin/bookings/handover/store/", STAFF),
    ("/admin/bookings/invoice/", STAFF),
    ("/admin/bookings/invoice/report/", STAFF),
    ("/admin/bookings/fapiaorequest/", STAFF),
    ("/admin/bookings/invoice/{invoice_pk}/change/", STAFF),
    ("/admin/bookings/invoice/{invoice_pk}/payment/", STAFF),
    ("/admin/bookings/payment/", STAFF),
    ("/admin/bookings/handover/", STAFF),
    ("/admin/bookings/equipmentunit/", STAFF),
    ("/admin/bookings/equipmentunit/add/", STAFF),
    ("/admin/bookings/equipment/{kit_pk}/change/", STAFF),
    ("/admin/bookings/studioset/", STAFF),
    ("/admin/bookings/studioset/{set_pk}/change/", STAFF),
    ("/admin/bookings/studioset/{set_pk}/history/", STAFF),
    ("/admin/bookings/equipment/", STAFF),
    ("/admin/bookings/equipment/{equipment_pk}/change/", STAFF),
    ("/admin/bookings/notification/", STAFF),
    ("/admin/bookings/notification/{notification_pk}/change/", STAFF),
    ("/admin/workshops/workshop/", STAFF),
    ("/admin/workshops/workshop/{workshop_pk}/change/", STAFF),
    ("/admin/workshops/session/", STAFF),
    ("/admin/workshops/session/{session_pk}/change/", STAFF),
    ("/admin/workshops/enrolment/", STAFF),
    ("/admin/workshops/enrolment/{enrolment_pk}/change/", STAFF),
    ("/admin/workshops/enrolment/{enrolment_pk}/history/", STAFF),
    ("/admin/workshops/enrolment/add/", STAFF),
    ("/admin/workshops/enrolment/add/?session={session_pk}", STAFF),
    ("/admin/workshops/enrolment/?fee=awaiting", STAFF),
    ("/admin/workshops/placepayment/", STAFF),
    ("/admin/workshops/placepayment/statement/", STAFF),
    ("/admin/bookings/payment/statement/", STAFF),
    ("/admin/workshops/placepayment/add/", STAFF),
    ("/admin/workshops/placepayment/{place_payment_pk}/change/", STAFF),
    ("/admin/workshops/session/{session_pk}/checkin/", STAFF),
    ("/admin/workshops/attendance/", STAFF),
    ("/admin/workshops/certificate/", STAFF),
]


@dataclass
class Demo:
    crew_member: object
    staff: object
    objects: dict[str, str]

    def pages(self, audience: str | None = None) -> list[str]:
        return [path.format(**self.objects) for path, who in PAGES if audience in (None, who)]


def demo_objects() -> Demo:
    """The demo data (``seed_demo``) plus a staff member who holds every role."""
    from datetime import timedelta

    from django.utils import timezone

    from bookings.models import Booking, Equipment, Invoice, Notification, StudioSet, User
    from hengdian.management.commands.seed_demo import CREW_EMAIL, KIT_SLUG
    from workshops.models import Enrolment, PlacePayment, Session

    from .factories import CrewMemberFactory, StaffMemberFactory

    call_command("seed_demo", force=True, verbosity=0)
    crew_member = User.objects.get(email=CREW_EMAIL)
    member = User.objects.filter(crew=crew_member.crew).exclude(pk=crew_member.pk).first()
    if member is None:
        member = CrewMemberFactory(crew=crew_member.crew)
    staff = StaffMemberFactory(
        roles=[roles.BOOKING_DESK, roles.WORKSHOP_DESK, roles.VISA_OFFICER, roles.EQUIPMENT_STORE]
    )
    booking = Booking.objects.bookings().filter(crew=crew_member.crew).order_by("start_date").first()
    requested = Booking.objects.filter(status=Booking.Status.REQUESTED).order_by("start_date").first()
    confirmed = (
        Booking.objects.filter(
            crew=crew_member.crew, status=Booking.Status.CONFIRMED, start_date__gt=timezone.localdate()
        )
        .order_by("start_date")
        .first()
    )
    enrolment = Enrolment.objects.order_by("pk").first()
    session = Session.objects.order_by("pk").first()
    studio_set = StudioSet.objects.get(slug="ming-qing-palace-hall")
    today = timezone.localdate()
    monday = today + timedelta(days=14 - today.weekday())
    return Demo(
        crew_member=crew_member,
        staff=staff,
        objects={
            "set": studio_set.slug,
            "set_pk": str(studio_set.pk),
            "equipment_pk": str(Equipment.objects.order_by("pk").first().pk),
            "kit_pk": str(Equipment.objects.get(slug=KIT_SLUG).pk),
            "invoice_pk": str(Invoice.objects.order_by("pk").first().pk),
            "workshop": session.workshop.slug,
            "workshop_pk": str(session.workshop.pk),
            "session": str(session.pk),
            "session_pk": str(session.pk),
            "enrolment": enrolment.manage_token,
            "enrolment_pk": str(enrolment.pk),
            "awaiting_payment": Enrolment.objects.filter(fee__gt=0, paid_at__isnull=True)
            .order_by("pk")
            .first()
            .manage_token,
            "place_payment_pk": str(PlacePayment.objects.order_by("pk").first().pk),
            "member_pk": str(member.pk),
            "booking": booking.reference,
            "plan": booking.plan.reference,
            "booking_pk": str(booking.pk),
            "change_pk": str(Booking.objects.get(change_of=booking, status=Booking.Status.CHANGE).pk),
            "requested_pk": str(requested.pk),
            "plan_pk": str(requested.plan_id),
            "confirmed_pk": str(confirmed.pk),
            "notification_pk": str(Notification.objects.order_by("pk").first().pk),
            "next_monday": f"{monday:%Y-%m-%d}",
            "next_sunday": f"{monday + timedelta(days=6):%Y-%m-%d}",
        },
    )
