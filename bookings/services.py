"""Operations on crews and bookings. Views, the admin and tasks all call these."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import Crew, User


class AccountError(Exception):
    """A sign-up or membership change that cannot be made; the message is for the user."""


def _email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


@transaction.atomic
def crew_signup(
    *,
    email: str,
    password: str,
    full_name: str,
    company_name: str,
    contact_phone: str,
    country: str,
    language: str = "en",
) -> User:
    """Create a crew and its first member, who owns it."""
    if _email_taken(email):
        raise AccountError(_("An account with this email address already exists."))
    crew = Crew.objects.create(name=company_name, contact_phone=contact_phone, country=country)
    try:
        # A savepoint, so a lost race on the unique email leaves nothing behind.
        with transaction.atomic():
            return User.objects.create_user(
                email=email,
                password=password,
                first_name=full_name,
                crew=crew,
                crew_role=User.CrewRole.OWNER,
                language=language,
            )
    except IntegrityError as exc:
        raise AccountError(_("An account with this email address already exists.")) from exc


@transaction.atomic
def crew_member_add(*, crew: Crew, email: str, full_name: str, by: User) -> User:
    """Add a member to ``crew``; they receive an email to choose a password."""
    from .tasks import send_member_invitation

    if not (by.crew_id == crew.pk and by.is_crew_owner):
        raise AccountError(_("Only the crew's owner can add members."))
    if _email_taken(email):
        raise AccountError(_("This email address already has an account."))
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
    except IntegrityError as exc:
        raise AccountError(_("This email address already has an account.")) from exc
    transaction.on_commit(lambda: send_member_invitation.delay(member.pk, by.pk))
    return member
