from django.urls import path

from . import views

app_name = "bookings"

urlpatterns = [
    path("crew/", views.crew_detail, name="crew"),
    path("crew/members/add/", views.crew_member_add, name="crew_member_add"),
    path(
        "crew/members/<int:pk>/invite-again/", views.crew_member_invite_again, name="crew_member_invite_again"
    ),
    path("crew/calendar/reset/", views.crew_calendar_reset, name="calendar_reset"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/<slug:slug>/", views.set_detail, name="set_detail"),
    path("equipment/", views.equipment_list, name="equipment_list"),
    path("bookings/", views.booking_list, name="list"),
    path("bookings/new/", views.booking_new, name="new"),
    path("bookings/quote/", views.booking_quote, name="quote"),
    path("bookings/feed/<str:token>.ics", views.crew_calendar_feed, name="feed"),
    path("bookings/<str:reference>.ics", views.booking_ics, name="ics"),
    path("bookings/<str:reference>/", views.booking_detail, name="detail"),
    path("bookings/<str:reference>/cancel/", views.booking_cancel, name="cancel"),
]
