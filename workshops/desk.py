"""The workshop desk enrols a participant by hand, from the admin.

The page is the public registration form (``StaffEnrolmentForm``) for one
session, saved through ``services.enrolment_register``: the same capacity,
waiting list, emails and one-place-per-address rule as a participant's own
registration, marked as made by the staff member.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import selectors, services
from .forms import StaffEnrolmentForm
from .models import Enrolment, Session

ENROL_PERMISSION = "workshops.add_enrolment"


class SessionChoiceForm(forms.Form):
    """The session to enrol in: one that still takes registrations."""

    session = forms.ModelChoiceField(label=_("Session"), queryset=Session.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = (
            Session.objects.filter(status=Session.Status.OPEN, registration_closes_at__gt=timezone.now())
            .select_related("workshop")
            .order_by("starts_at", "pk")
        )
        self.fields["session"].error_messages["invalid_choice"] = _(
            "Registration for that session is closed; choose one that is open."
        )


def enrol_view(model_admin, request: HttpRequest, *, sees_passport_data: bool) -> HttpResponse:
    """The admin's "Add" for enrolments, also reached from a session's "Enrol a participant"."""
    if not request.user.has_perm(ENROL_PERMISSION):
        raise PermissionDenied
    picker = SessionChoiceForm(request.GET if "session" in request.GET else None)
    session = picker.cleaned_data["session"] if picker.is_valid() else None
    form = None
    status = 200
    if session is not None:
        session = (
            selectors.sessions_with_places(Session.objects.filter(pk=session.pk))
            .select_related("workshop")
            .get()
        )
        data = request.POST if request.method == "POST" else None
        form = StaffEnrolmentForm(data, session=session, sees_passport_data=sees_passport_data)
        if form.is_bound:
            if form.is_valid():
                try:
                    registration = services.enrolment_register(
                        session=session, by=request.user, **form.service_kwargs()
                    )
                except services.EnrolmentError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, str(exc))
                else:
                    return _done(model_admin, request, registration.enrolment)
            status = 400
    elif request.method == "POST":
        status = 400
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Enrolment._meta,
        "title": gettext("Enrol a participant"),
        "picker": picker,
        "session": session,
        "form": form,
        "has_errors": status == 400,
        "media": model_admin.media + (form.media if form else forms.Media()),
    }
    return TemplateResponse(request, "admin/workshops/enrolment_add.html", context, status=status)


def _done(model_admin, request: HttpRequest, enrolment: Enrolment) -> HttpResponse:
    model_admin.log_addition(request, enrolment, [{"added": {}}])
    if enrolment.status == Enrolment.Status.CONFIRMED:
        text = gettext("%(name)s has a place in %(session)s and was emailed.")
    else:
        text = gettext("%(session)s is full: %(name)s is on the waiting list and was emailed.")
    messages.success(request, text % {"name": enrolment.full_name, "session": enrolment.session})
    return redirect("admin:workshops_enrolment_change", enrolment.pk)
