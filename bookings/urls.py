from django.urls import path, register_converter

from . import views


class _StringConverter:
    # A value outside the pattern cannot exist, so it is a 404 before the database is asked.
    regex: str

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ReferenceConverter(_StringConverter):
    """A booking reference in the shape ``new_reference`` makes."""

    regex = "HD-[0-9A-Z]{6}"


class PlanReferenceConverter(_StringConverter):
    """A shoot plan reference in the shape ``new_plan_reference`` makes."""

    regex = "HD-P[0-9A-Z]{6}"


class InvoiceNumberConverter(_StringConverter):
    """An invoice number: the prefix in settings, the year, six digits."""

    regex = "[A-Z][A-Z0-9-]{0,14}[A-Z0-9]-[0-9]{4}-[0-9]{6}"


class TokenConverter(_StringConverter):
    """A URL-safe secret (``secrets.token_urlsafe``), no longer than its column."""

    regex = "[A-Za-z0-9_-]{1,64}"


register_converter(ReferenceConverter, "reference")
register_converter(TokenConverter, "token")
register_converter(PlanReferenceConverter, "plan_reference")
register_converter(InvoiceNumberConverter, "invoice_number")

app_name = "bookings"

urlpatterns = [
    path("crew/", views.crew_detail, name="crew"),
    path("crew/members/add/", views.crew_member_add, name="crew_member_add"),
    path(
        "crew/members/<int:pk>/invite-again/", views.crew_member_invite_again, name="crew_member_invite_again"
    ),
    path("crew/edit/", views.crew_edit, name="crew_edit"),
    path("crew/members/<int:pk>/remove/", views.crew_member_remove, name="crew_member_remove"),
    path("crew/members/<int:pk>/make-owner/", views.crew_member_make_owner, name="crew_member_make_owner"),
    path("crew/calendar/reset/", views.crew_calendar_reset, name="calendar_reset"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/<slug:slug>/", views.set_detail, name="set_detail"),
    path("equipment/", views.equipment_list, name="equipment_list"),
    path("bookings/", views.booking_list, name="list"),
    path("bookings/new/", views.booking_new, name="new"),
    path("bookings/quote/", views.booking_quote, name="quote"),
    path("bookings/feed/<token:token>.ics", views.crew_calendar_feed, name="feed"),
    path("bookings/<reference:reference>.ics", views.booking_ics, name="ics"),
    path("bookings/<reference:reference>/", views.booking_detail, name="detail"),
    path("bookings/<reference:reference>/cancel/", views.booking_cancel, name="cancel"),
    path("bookings/<reference:reference>/change/", views.booking_change, name="change"),
    path(
        "bookings/<reference:reference>/change/withdraw/",
        views.booking_change_withdraw,
        name="change_withdraw",
    ),
    path("plans/<plan_reference:reference>/", views.plan_detail, name="plan"),
    path("plans/<plan_reference:reference>/again/", views.plan_again, name="plan_again"),
    path("invoices/<invoice_number:number>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<invoice_number:number>/fapiao/", views.invoice_fapiao, name="invoice_fapiao"),
]
