from django.urls import path

from . import views

app_name = "workshops"

urlpatterns = [
    path("workshops/", views.session_list, name="list"),
    path("workshops/<slug:slug>/", views.workshop_detail, name="detail"),
]
