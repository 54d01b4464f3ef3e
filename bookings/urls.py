from django.urls import path

from . import views

app_name = "bookings"

urlpatterns = [
    path("crew/", views.crew_detail, name="crew"),
    path("crew/members/add/", views.crew_member_add, name="crew_member_add"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/<slug:slug>/", views.set_detail, name="set_detail"),
    path("equipment/", views.equipment_list, name="equipment_list"),
]
