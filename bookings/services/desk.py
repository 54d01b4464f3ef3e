"""The booking desk books for a crew that phones or walks in, opening the crew if need be."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.admin.models import ADDITION, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import emails
from ..models import (
    Crew,
    Notification,
    ShootPlan,
    User,
)
from .accounts import _registered
from .bookings import BookingError, ItemRequest, SetRequest, shoot_plan_request

NOTICE = Notification.Kind


@dataclass(frozen=True)
class NewCrew:
    """A crew the booking desk opens while booking for it, with the person who becomes its owner."""

    name: str
    contact_phone: str
    country: str
    owner_name: str
    owner_email: str
    owner_language: str = "en"


DESK_PERMISSION = "bookings.add_booking"


def crew_create_for_desk(*, new_crew: NewCrew, by: User, now: datetime | None = None) -> Crew:
    """Open a crew with its owner for a crew that phoned or walked in; the owner gets the invitation.

    As on sign-up, the owner has no password until they choose one from the
    emailed link. Unlike sign-up, the desk is told plainly when the address
    already has an account: staff may know that, and the crew is then booked
    for as it is. Call inside the transaction of the booking it is opened for.
    """
    now = now or timezone.now()
    if not by.has_perm(DESK_PERMISSION):
        raise BookingError(_("Only the booking desk can open a crew for someone."))
    email = new_crew.owner_email.strip().lower()
    taken = BookingError(
        _("%(email)s already has an account; choose that person's crew instead.") % {"email": email},
        field="owner_email",
    )
    if _registered(email) is not None:
        raise taken
    try:
        # A savepoint: the address taken a moment ago by someone else leaves no crew behind.
        with transaction.atomic():
            crew = Crew.objects.create(
                name=new_crew.name, contact_phone=new_crew.contact_phone, country=new_crew.country
            )
            owner = User.objects.create_user(
                email=email,
                password=None,
                first_name=new_crew.owner_name,
                crew=crew,
                crew_role=User.CrewRole.OWNER,
                language=new_crew.owner_language,
            )
    except IntegrityError as exc:
        if _registered(email) is None:
            raise  # not the unique address: a bug, not a race
        raise taken from exc
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[crew],
        action_flag=ADDITION,
        change_message=f"Opened by the booking desk, with its owner {email} (#{owner.pk})",
    )
    emails.account_notify(account=owner, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
    return crew


@transaction.atomic
def desk_shoot_plan_request(
    *,
    parts: Sequence[SetRequest],
    by: User,
    items: Sequence[ItemRequest] = (),
    crew: Crew | None = None,
    new_crew: NewCrew | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> ShootPlan:
    """The booking desk books for ``crew``, or for ``new_crew`` opened here: all or nothing.

    The same request as a crew's own (checks, quote, hold and emails), made
    in one transaction with the new crew, so a refused booking leaves no crew,
    owner or invitation behind.
    """
    if (crew is None) == (new_crew is None):
        raise ValueError("Give either crew or new_crew.")
    if not by.has_perm(DESK_PERMISSION):
        raise BookingError(_("Only the booking desk can book for a crew."))
    if new_crew is not None:
        crew = crew_create_for_desk(new_crew=new_crew, by=by, now=now)
    return shoot_plan_request(crew=crew, parts=parts, items=items, by=by, notes=notes, now=now)
