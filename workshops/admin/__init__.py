"""The International Business Department's admin, one module per concept.

Importing the package registers every model admin: :mod:`.enrolments` (workshops, sessions,
enrolments and invitation letters) and :mod:`.payments` (workshop fees paid and refunded).
"""

from .enrolments import EnrolmentAdmin, InvitationLetterAdmin, SessionAdmin, WorkshopAdmin
from .payments import PlacePaymentAdmin

__all__ = ["EnrolmentAdmin", "InvitationLetterAdmin", "PlacePaymentAdmin", "SessionAdmin", "WorkshopAdmin"]
