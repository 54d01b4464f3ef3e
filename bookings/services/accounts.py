"""Crews and their members: sign-up, invitations, password resets, own details, ownership."""

import contextlib
from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .. import emails
from ..models import (
    Crew,
    Notification,
    User,
    new_calendar_token,
)

NOTICE = Notification.Kind


class AccountError(Exception):
    """A sign-up or membership change that cannot be made; the message is for the user."""


def _registered(email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first()


def _account_notify_unless_recent(*, account: User, kind: str, now: datetime, **context) -> None:
    """Queue an account email for a form anyone can submit: silently skipped if it went out just now.

    The same email is then already on its way, and the page says the same either way.
    """
    with contextlib.suppress(emails.AccountEmailThrottled):
        emails.account_notify(account=account, kind=kind, now=now, **context)


def _pending_link_kind(account: User) -> str:
    """The email that gives an account that never chose a password its link again."""
    if account.is_crew_owner:
        return NOTICE.ACCOUNT_SIGNUP
    if account.crew_id is not None:
        return NOTICE.ACCOUNT_INVITATION
    return NOTICE.PASSWORD_RESET


@transaction.atomic
def crew_signup(
    *,
    email: str,
    full_name: str,
    company_name: str,
    contact_phone: str,
    country: str,
    language: str = "en",
    now: datetime | None = None,
) -> None:
    """Start a crew and its owner for a new address, or tell the address's owner that someone tried.

    Returns nothing, on purpose: the page must say the same whether or not
    the address has an account, so only the email, to that address, tells.
    A new owner has no password until they choose one from the emailed
    link, so nobody can take an address they do not read and set a password
    on it in advance. An address that has an account gets an email saying
    how to log in, or its set-password link again if it never chose a
    password; nothing else is written.
    """
    now = now or timezone.now()
    email = email.strip().lower()
    existing = _registered(email)
    if existing is None:
        try:
            # A savepoint, so a sign-up that loses a race for the address leaves no crew behind.
            with transaction.atomic():
                crew = Crew.objects.create(name=company_name, contact_phone=contact_phone, country=country)
                owner = User.objects.create_user(
                    email=email,
                    password=None,
                    first_name=full_name,
                    crew=crew,
                    crew_role=User.CrewRole.OWNER,
                    language=language,
                )
        except IntegrityError:
            existing = _registered(email)
            if existing is None:
                raise  # not the unique address: a bug, not a race
        else:
            emails.account_notify(account=owner, kind=NOTICE.ACCOUNT_SIGNUP, now=now)
            return
    if not existing.is_active:
        return  # deactivated by the studio: told nothing, as by the password reset
    if existing.has_usable_password():
        _account_notify_unless_recent(account=existing, kind=NOTICE.ACCOUNT_SIGNUP_EXISTING, now=now)
    else:
        _account_notify_unless_recent(account=existing, kind=_pending_link_kind(existing), now=now)


@transaction.atomic
def account_password_reset_request(*, email: str, now: datetime | None = None) -> None:
    """Email the active account with ``email``, if there is one, a link to choose a new password.

    Accounts that never chose a password (a member whose invitation expired)
    are included: this is how they get a fresh link. Returns nothing, on
    purpose: the page says the same for any address. The email goes through
    the outbox, so a mail server or broker outage delays it but cannot break
    the form, and it is sent to the stored address, never the typed one.
    """
    account = _registered(email.strip())
    if account is not None and account.is_active:
        _account_notify_unless_recent(account=account, kind=NOTICE.PASSWORD_RESET, now=now or timezone.now())


@transaction.atomic
def crew_member_add(*, crew: Crew, email: str, full_name: str, by: User, now: datetime | None = None) -> None:
    """Add a new address to ``crew`` as a member, who chooses a password from an emailed link.

    The member and their invitation are written in one transaction, and the
    invitation is an outbox row, so a broker outage delays the email but can
    never leave a member without one.

    Returns nothing, on purpose: the owner is told the same whether or not
    the address has an account; the address itself is told by email. One
    that already has an account stays as it is (an address belongs to one
    account) and is told that this crew tried to add it — or, if it is a
    member of this crew who never chose a password, gets its invitation again.
    """
    now = now or timezone.now()
    if not (by.crew_id == crew.pk and by.is_crew_owner):
        raise AccountError(_("Only the crew's owner can add members."))
    email = email.strip().lower()
    existing = _registered(email)
    if existing is None:
        try:
            with transaction.atomic():
                member = User.objects.create_user(
                    email=email,
                    password=None,
                    first_name=full_name,
                    crew=crew,
                    crew_role=User.CrewRole.MEMBER,
                    language=by.language,
                )
        except IntegrityError:
            existing = _registered(email)
            if existing is None:
                raise  # not the unique address: a bug, not a race
        else:
            emails.account_notify(account=member, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
            return
    if not existing.is_active:
        return  # deactivated by the studio: told nothing
    if existing.crew_id == crew.pk and not existing.has_usable_password():
        _account_notify_unless_recent(account=existing, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
    else:
        _account_notify_unless_recent(
            account=existing, kind=NOTICE.ACCOUNT_ADD_EXISTING, by=by, crew=crew, now=now
        )


@transaction.atomic
def crew_member_invitation_resend(*, member: User, by: User, now: datetime | None = None) -> Notification:
    """Send ``member`` their invitation again, with a fresh link, if they have not chosen a password.

    At most once per ``emails.ACCOUNT_EMAIL_INTERVAL`` per member.
    """
    now = now or timezone.now()
    if not (by.is_crew_owner and member.crew_id == by.crew_id):
        raise AccountError(_("Only the crew's owner can send invitations."))
    if not member.is_active:
        raise AccountError(_("%(email)s is no longer active in your crew.") % {"email": member.email})
    if member.has_usable_password():
        raise AccountError(
            _("%(email)s has already chosen a password and can log in.") % {"email": member.email}
        )
    try:
        return emails.account_notify(account=member, kind=NOTICE.ACCOUNT_INVITATION, by=by, now=now)
    except emails.AccountEmailThrottled as exc:
        raise AccountError(
            _(
                "An invitation went to %(email)s less than %(minutes)d minutes ago; from %(time)s you "
                "can send it again."
            )
            % {
                "email": member.email,
                "minutes": emails.ACCOUNT_EMAIL_INTERVAL.total_seconds() // 60,
                "time": date_format(timezone.localtime(exc.next_allowed_at), "TIME_FORMAT"),
            }
        ) from exc


def _log_change(*, by: User, obj, message) -> None:
    """A line in the object's admin history: who changed it, and what.

    ``message`` is either text or Django admin's structured form
    (``[{"changed": {"fields": [...]}}]``), which the admin shows in the reader's language.
    """
    LogEntry.objects.log_actions(user_id=by.pk, queryset=[obj], action_flag=CHANGE, change_message=message)


def _changed_fields(obj, values: dict) -> list[str]:
    """Set ``values`` on ``obj``; the names of the fields whose value changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _field_labels(model, names: list[str]) -> list[str]:
    # Stored in the default language, as the admin's own change messages are.
    with translation.override(None):
        return [str(model._meta.get_field(name).verbose_name).capitalize() for name in names]


@transaction.atomic
def account_update(
    *, user: User, first_name: str, last_name: str, phone: str, language: str, by: User | None = None
) -> list[str]:
    """Change a person's own name, phone and email language; returns the fields that changed."""
    by = by or user
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = _changed_fields(
        user, {"first_name": first_name, "last_name": last_name, "phone": phone, "language": language}
    )
    if changed:
        user.save(update_fields=changed)
        _log_change(by=by, obj=user, message=[{"changed": {"fields": _field_labels(User, changed)}}])
    return changed


def _lock_crew_for_owner(*, crew: Crew, by: User, refusal: str) -> tuple[Crew, User]:
    """Lock ``crew`` and re-read ``by`` under the lock: ownership may have just moved."""
    crew = Crew.objects.select_for_update().get(pk=crew.pk)
    owner = User.objects.get(pk=by.pk)
    if not (owner.crew_id == crew.pk and owner.is_crew_owner):
        raise AccountError(refusal)
    return crew, owner


@transaction.atomic
def crew_update(
    *,
    crew: Crew,
    by: User,
    name: str,
    contact_phone: str,
    country: str,
    tax_id: str | None = None,
    billing_address: str | None = None,
) -> list[str]:
    """The owner changes the company details (and the billing details invoices print); returns the
    fields that changed. Invoices already issued keep the details they were issued with."""
    crew, by = _lock_crew_for_owner(
        crew=crew, by=by, refusal=_("Only the crew's owner can change the company details.")
    )
    values = {"name": name, "contact_phone": contact_phone, "country": country}
    if tax_id is not None:
        values["tax_id"] = tax_id
    if billing_address is not None:
        values["billing_address"] = billing_address.strip()
    changed = _changed_fields(crew, values)
    if changed:
        crew.save(update_fields=changed)
        _log_change(by=by, obj=crew, message=[{"changed": {"fields": _field_labels(Crew, changed)}}])
    return changed


@transaction.atomic
def crew_member_remove(*, crew: Crew, member: User, by: User) -> User:
    """Detach ``member`` from ``crew``: they no longer see its bookings, which stay with the crew.

    The account itself stays (nothing is deleted by a user action); it simply
    belongs to no crew. The owner cannot remove themself: a crew always has one.
    """
    crew, by = _lock_crew_for_owner(crew=crew, by=by, refusal=_("Only the crew's owner can remove members."))
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.crew_id != crew.pk:
        raise AccountError(_("%(email)s is not a member of your crew.") % {"email": member.email})
    if member.pk == by.pk or member.is_crew_owner:
        raise AccountError(_("The crew's owner cannot be removed. Make another member the owner first."))
    member.crew = None
    member.crew_role = ""
    member.save(update_fields=["crew", "crew_role"])
    _log_change(by=by, obj=member, message=f"Removed from the crew {crew.name} (#{crew.pk}) by its owner")
    _log_change(by=by, obj=crew, message=f"Removed the member {member.email} (#{member.pk})")
    return member


@transaction.atomic
def crew_owner_transfer(*, crew: Crew, member: User, by: User) -> User:
    """Make ``member`` the crew's owner; the owner until now becomes a member.

    A crew has exactly one owner (a database constraint); the crew row is
    locked, so two transfers at once cannot both succeed.
    """
    crew, by = _lock_crew_for_owner(
        crew=crew, by=by, refusal=_("Only the crew's owner can hand the crew over.")
    )
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.crew_id != crew.pk or member.pk == by.pk:
        raise AccountError(_("%(email)s is not a member of your crew.") % {"email": member.email})
    if not member.is_active or not member.has_usable_password():
        raise AccountError(
            _("%(email)s has not chosen a password yet; they can become the owner once they can log in.")
            % {"email": member.email}
        )
    # The old owner steps down first, so the one-owner constraint holds after each statement.
    by.crew_role = User.CrewRole.MEMBER
    by.save(update_fields=["crew_role"])
    member.crew_role = User.CrewRole.OWNER
    member.save(update_fields=["crew_role"])
    _log_change(by=by, obj=crew, message=f"Ownership handed over from {by.email} to {member.email}")
    _log_change(by=by, obj=member, message="Made the crew's owner")
    _log_change(by=by, obj=by, message="Handed the crew over; now a member")
    return member


def crew_calendar_reset(*, crew: Crew, by: User) -> Crew:
    """A new secret for the crew's calendar feed; the old link stops working.

    Only the owner may: a reset cuts off every member's subscription at once.
    """
    if not (by.crew_id == crew.pk and by.is_crew_owner):
        raise AccountError(_("Only the crew's owner can reset the calendar link."))
    crew.calendar_token = new_calendar_token()
    crew.save(update_fields=["calendar_token"])
    return crew
