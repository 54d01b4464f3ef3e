from django.urls import path

from . import views

app_name = "workshops"

urlpatterns = [
    path("workshops/", views.session_list, name="list"),
    path("workshops/sessions/<int:pk>/register/", views.register, name="register"),
    path("workshops/sessions/<int:pk>/register/sent/", views.registration_sent, name="registration_sent"),
    path("workshops/<slug:slug>/", views.workshop_detail, name="detail"),
    path("enrolments/<slug:token>/", views.manage, name="manage"),
    path("enrolments/<slug:token>/edit/", views.manage_edit, name="edit"),
    path("enrolments/<slug:token>/cancel/", views.cancel, name="cancel"),
    path("enrolments/<slug:token>/accept/", views.accept, name="accept"),
    path("enrolments/<slug:token>/session.ics", views.calendar, name="calendar"),
    path("enrolments/<slug:token>/letter.pdf", views.letter, name="letter"),
    path("enrolments/<slug:token>/certificate.pdf", views.certificate, name="certificate"),
    path("checkin/<str:code>.png", views.checkin_qr, name="checkin_qr"),
    path("certificates/<str:number>/", views.certificate_verify, name="certificate_verify"),
]
