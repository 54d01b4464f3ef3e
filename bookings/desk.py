"""The booking desk books for a crew that phones or walks in, from the admin.

The page reuses the crew's own booking form (sets, shoot days, equipment,
notes) and the sign-up form (a new crew with its owner), and saves through
``services.desk_shoot_plan_request``: the same checks, quote, hold and emails
as a crew's own request, with the new crew in the same transaction.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .forms import SignupForm
from .models import Booking, Crew, User
from .views import _formsets, _quote, _quote_requests, _requests_from, _with_extra_form

EXISTING, NEW = "existing", "new"
PART_FIELDS = {"studio_set", "start_date", "end_date"}


class DeskCrewForm(forms.Form):
    """Whom the booking is for: a crew that has an account, or one opened here."""

    crew_choice = forms.ChoiceField(
        label=_("Book for"),
        choices=[(EXISTING, _("A crew that has an account")), (NEW, _("A new crew, opened now"))],
        widget=forms.RadioSelect,
        initial=EXISTING,
    )
    crew = forms.ModelChoiceField(
        label=_("Crew"),
        queryset=Crew.objects.all(),
        required=False,
        help_text=_("Type part of the company's name, phone or a member's email."),
    )

    def __init__(self, *args, admin_site: admin.AdminSite, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin's own search box, answering from the crew list's search fields.
        field = self.fields["crew"]
        field.widget = AutocompleteSelect(Booking._meta.get_field("crew"), admin_site)
        field.widget.choices = field.choices
        # No empty first option (invalid HTML without a label): nothing is chosen until the desk searches.
        field.widget.is_required = True

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("crew_choice") == EXISTING and not cleaned.get("crew"):
            self.add_error("crew", _("Choose the crew, or open a new one below."))
        return cleaned

    @property
    def wants_new_crew(self) -> bool:
        return self.is_valid() and self.cleaned_data["crew_choice"] == NEW


class DeskNewCrewForm(SignupForm):
    """The sign-up form, filled in by the desk: the person named becomes the crew's owner."""

    language = forms.ChoiceField(
        label=_("Language for emails"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_name"].label = _("Owner's name")
        self.fields["email"].label = _("Owner's email")
        self.fields["email"].help_text = _(
            "They become the crew's owner and get an email with a link to choose their password."
        )
        self.order_fields(["company_name", "contact_phone", "country", "full_name", "email", "language"])

    def clean_email(self) -> str:
        email = super().clean_email()
        # Said at once, with the other errors; the service checks again under its transaction.
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("%(email)s already has an account; choose that person's crew instead.") % {"email": email}
            )
        return email

    def new_crew(self) -> services.NewCrew:
        data = self.cleaned_data
        return services.NewCrew(
            name=data["company_name"],
            contact_phone=data["contact_phone"].strip(),
            country=data["country"],
            owner_name=" ".join(data["full_name"].split()),
            owner_email=data["email"],
            owner_language=data["language"],
        )


def _place_error(exc: services.BookingError, *, crew_form, new_crew_form, parts, items) -> None:
    """Show the service's refusal beside the field it is about."""
    message = str(exc)
    if exc.field == "owner_email":
        new_crew_form.add_error("email", message)
    elif exc.field in PART_FIELDS:
        filled = [f for f in parts.forms if f.cleaned_data]
        # The message names the set; with several sets, mark the rows of that one.
        named = [f for f in filled if str(f.cleaned_data["studio_set"]) in message] or filled[:1]
        for form in named:
            form.add_error(exc.field, message)
    elif exc.field == "items":
        lines = [f for f in items.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        named = [f for f in lines if str(f.cleaned_data["equipment"]) in message] or lines
        for form in named:
            form.add_error("quantity", message)
    else:
        crew_form.add_error(None, message)


def _context(model_admin, request, *, crew_form, new_crew_form, parts, items, notes, quote) -> dict:
    media = model_admin.media + crew_form.media
    return {
        **model_admin.admin_site.each_context(request),
        "opts": Booking._meta,
        "title": gettext("Book for a crew"),
        "crew_form": crew_form,
        "new_crew_form": new_crew_form,
        "parts": parts,
        "items": items,
        "notes": notes,
        "media": media,
        "hold_hours": settings.BOOKING_HOLD_HOURS,
        **quote,
    }


def _unbound_crew_forms(data, admin_site):
    """The crew forms filled in from ``data`` but not validated (the "add another" buttons)."""
    crew_form = DeskCrewForm(
        initial={"crew_choice": data.get("crew_choice", EXISTING), "crew": data.get("crew") or None},
        admin_site=admin_site,
    )
    names = DeskNewCrewForm.base_fields.keys() | {"language"}
    new_crew_form = DeskNewCrewForm(prefix="new", initial={n: data.get(f"new-{n}", "") for n in names})
    return crew_form, new_crew_form


def desk_booking_view(model_admin, request: HttpRequest) -> HttpResponse:
    """The admin's "Add" for bookings and shoot plans."""
    if not request.user.has_perm(services.DESK_PERMISSION):
        raise PermissionDenied
    admin_site = model_admin.admin_site
    status = 200
    if request.method == "POST":
        extra = next((p for p in ("parts", "items") if f"add_{p}" in request.POST), None)
        if extra is not None:
            parts, items, notes = _with_extra_form(request.POST, extra)
            crew_form, new_crew_form = _unbound_crew_forms(request.POST, admin_site)
            bound_parts, bound_items, _notes = _formsets(request.POST)
            quote = _quote(_quote_requests(bound_parts, bound_items))
        else:
            crew_form = DeskCrewForm(request.POST, admin_site=admin_site)
            new_crew_form = DeskNewCrewForm(request.POST, prefix="new")
            parts, items, notes = _formsets(request.POST)
            quote = _quote(_quote_requests(parts, items))
            valid = [crew_form.is_valid(), parts.is_valid(), items.is_valid(), notes.is_valid()]
            new_crew = crew_form.wants_new_crew
            if new_crew:
                valid.append(new_crew_form.is_valid())
            if all(valid) and "save" in request.POST:
                response = _save(
                    model_admin,
                    request,
                    crew_form=crew_form,
                    new_crew_form=new_crew_form if new_crew else None,
                    parts=parts,
                    items=items,
                    notes=notes,
                )
                if response is not None:
                    return response
            if not all(valid) or "save" in request.POST:
                status = 400
            if not new_crew:
                # Not used: its fields show as typed, without errors about a form nobody filled in.
                _crew, new_crew_form = _unbound_crew_forms(request.POST, admin_site)
    else:
        start = timezone.localdate() + timedelta(days=1)
        end = start + timedelta(days=settings.BOOKING_DEFAULT_DAYS - 1)
        crew_form = DeskCrewForm(admin_site=admin_site)
        new_crew_form = DeskNewCrewForm(prefix="new")
        parts, items, notes = _formsets(initial_parts=[{"start_date": start, "end_date": end}])
        quote = {}
    context = _context(
        model_admin,
        request,
        crew_form=crew_form,
        new_crew_form=new_crew_form,
        parts=parts,
        items=items,
        notes=notes,
        quote=quote,
    )
    context["has_errors"] = status == 400
    return TemplateResponse(request, "admin/bookings/desk_booking.html", context, status=status)


def _save(model_admin, request, *, crew_form, new_crew_form, parts, items, notes) -> HttpResponse | None:
    set_requests, plan_items = _requests_from(parts, items)
    try:
        plan = services.desk_shoot_plan_request(
            crew=None if new_crew_form else crew_form.cleaned_data["crew"],
            new_crew=new_crew_form.new_crew() if new_crew_form else None,
            parts=set_requests,
            items=plan_items,
            by=request.user,
            notes=notes.cleaned_data["notes"],
        )
    except services.BookingError as exc:
        _place_error(exc, crew_form=crew_form, new_crew_form=new_crew_form, parts=parts, items=items)
        return None
    bookings = list(plan.bookings.bookings().select_related("crew").order_by("start_date", "pk"))
    for booking in bookings:
        model_admin.log_addition(request, booking, [{"added": {}}])
    crew = bookings[0].crew
    text = gettext(
        "Requested for %(crew)s: %(refs)s. The studio holds it for %(hours)d hours; confirm it when the "
        "crew is ready. The crew was emailed."
    ) % {
        "crew": crew.name,
        "refs": ", ".join(b.reference for b in bookings),
        "hours": settings.BOOKING_HOLD_HOURS,
    }
    if new_crew_form:
        owner = User.objects.get(crew=crew, crew_role=User.CrewRole.OWNER)
        text += " " + gettext("%(email)s was invited to choose a password.") % {"email": owner.email}
    messages.success(request, text)
    if len(bookings) == 1:
        return redirect("admin:bookings_booking_change", bookings[0].pk)
    return redirect("admin:bookings_shootplan_change", plan.pk)
