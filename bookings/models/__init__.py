"""The bookings app's models, one module per concept; everything is importable from here.

- :mod:`.crews`: crews and their members (the user model);
- :mod:`.catalogue`: sets, their photos, equipment kinds and blackouts;
- :mod:`.bookings`: shoot plans, bookings and their equipment lines;
- :mod:`.invoices`: invoices and their yearly number counters;
- :mod:`.outbox`: the email outbox;
- :mod:`.store`: the equipment store's tagged units, kits and handovers.
"""

from .bookings import (
    REASON_MAX_LENGTH,
    REFERENCE_ALPHABET,
    Booking,
    BookingItem,
    BookingQuerySet,
    PlanItem,
    ShootPlan,
    ShootPlanQuerySet,
    new_plan_reference,
    new_reference,
    shoot_day_starts_at,
)
from .catalogue import (
    LIST_SEPARATORS,
    MAX_CHANGEOVER_DAYS,
    REPAIR_OPEN_END,
    SHOOT_DAY_STARTS,
    Blackout,
    DayRange,
    Equipment,
    SetPhoto,
    StudioSet,
    set_photo_path,
    split_list,
    validate_photo_size,
)
from .crews import Crew, User, UserManager, new_calendar_token, phone_validator
from .invoices import (
    FapiaoRequest,
    Invoice,
    InvoiceCounter,
    InvoiceQuerySet,
    MoneyEntry,
    Payment,
    PaymentState,
)
from .outbox import Notification
from .store import EquipmentUnit, Handover, KitComponent, normalize_asset_tag

__all__ = [
    "LIST_SEPARATORS",
    "MAX_CHANGEOVER_DAYS",
    "REASON_MAX_LENGTH",
    "REFERENCE_ALPHABET",
    "REPAIR_OPEN_END",
    "SHOOT_DAY_STARTS",
    "Blackout",
    "Booking",
    "BookingItem",
    "BookingQuerySet",
    "Crew",
    "DayRange",
    "Equipment",
    "EquipmentUnit",
    "FapiaoRequest",
    "Handover",
    "Invoice",
    "InvoiceCounter",
    "InvoiceQuerySet",
    "KitComponent",
    "MoneyEntry",
    "Notification",
    "Payment",
    "PaymentState",
    "PlanItem",
    "SetPhoto",
    "ShootPlan",
    "ShootPlanQuerySet",
    "StudioSet",
    "User",
    "UserManager",
    "new_calendar_token",
    "new_plan_reference",
    "new_reference",
    "normalize_asset_tag",
    "phone_validator",
    "set_photo_path",
    "shoot_day_starts_at",
    "split_list",
    "validate_photo_size",
]
