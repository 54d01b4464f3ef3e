"""Operations on crews, the catalogue and bookings. Views, the admin and tasks all call these.

One module per concept, all importable from here: :mod:`.accounts` (sign-up, members, own
details), :mod:`.bookings` (requests, decisions, cancellations, the sweeps), :mod:`.changes`
(changing a live booking), :mod:`.desk` (the booking desk booking for a crew),
:mod:`.catalogue` (equipment stock) and :mod:`.staff` (the staff log-in's second factor).
"""

from .accounts import (
    NOTICE,
    AccountError,
    account_password_reset_request,
    account_update,
    crew_calendar_reset,
    crew_member_add,
    crew_member_invitation_resend,
    crew_member_remove,
    crew_owner_transfer,
    crew_signup,
    crew_update,
)
from .bookings import (
    BookingError,
    ItemRequest,
    SetRequest,
    booking_cancel,
    booking_complete_finished,
    booking_confirm,
    booking_expire_stale_holds,
    booking_reject,
    booking_reminders_queue_due,
    booking_request,
    booking_validate_days,
    shoot_plan_confirm,
    shoot_plan_reject,
    shoot_plan_request,
)
from .catalogue import equipment_check_stock, equipment_set_stock
from .changes import (
    BookingChange,
    booking_change,
    booking_change_approve,
    booking_change_refuse,
    booking_change_withdraw,
    booking_changes_lapse_undecided,
)
from .desk import DESK_PERMISSION, NewCrew, crew_create_for_desk, desk_shoot_plan_request
from .staff import (
    BACKUP_CODE_COUNT,
    staff_authenticator_confirm,
    staff_authenticator_pending,
    staff_backup_codes_left,
    staff_backup_codes_replace,
)

__all__ = [
    "BACKUP_CODE_COUNT",
    "DESK_PERMISSION",
    "NOTICE",
    "AccountError",
    "BookingChange",
    "BookingError",
    "ItemRequest",
    "NewCrew",
    "SetRequest",
    "account_password_reset_request",
    "account_update",
    "booking_cancel",
    "booking_change",
    "booking_change_approve",
    "booking_change_refuse",
    "booking_change_withdraw",
    "booking_changes_lapse_undecided",
    "booking_complete_finished",
    "booking_confirm",
    "booking_expire_stale_holds",
    "booking_reject",
    "booking_reminders_queue_due",
    "booking_request",
    "booking_validate_days",
    "crew_calendar_reset",
    "crew_create_for_desk",
    "crew_member_add",
    "crew_member_invitation_resend",
    "crew_member_remove",
    "crew_owner_transfer",
    "crew_signup",
    "crew_update",
    "desk_shoot_plan_request",
    "equipment_check_stock",
    "equipment_set_stock",
    "shoot_plan_confirm",
    "shoot_plan_reject",
    "shoot_plan_request",
    "staff_authenticator_confirm",
    "staff_authenticator_pending",
    "staff_backup_codes_left",
    "staff_backup_codes_replace",
]
