"""How django-axes names the account a log-in attempt was for."""

from django.conf import settings
from django.http import HttpRequest

# AccessAttempt.username is a 255-character column; no account's email is that long.
_USERNAME_COLUMN = 255


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The email as the account is found by: stripped and lower-cased.

    Log-in finds the account whatever the case, so the lock-out must count
    MEMBER-A@… and member-a@… as one account, or each variant gets its own
    failures. A longer entry cannot be anyone's email; it is cut to fit the
    column, so it stays an ordinary failed log-in that still counts.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    value = credentials.get(field) if credentials else getattr(request, "POST", {}).get(field)
    if value is None:
        return None
    return str(value).strip().lower()[:_USERNAME_COLUMN]
