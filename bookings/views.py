import re
from base64 import b32encode
from datetime import date, timedelta
from decimal import Decimal

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db.models import Max, Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import i18n as i18n_views
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice

from . import selectors, services
from .calendars import CONTENT_TYPE as ICS_CONTENT_TYPE
from .calendars import bookings_to_ics
from .context_processors import EMAIL_LANGUAGE_OFFER
from .decision_forms import CrewCancelForm
from .fees import booking_cancellation_fee, fee_policy
from .forms import (
    WHOLE_PLAN,
    AccountForm,
    BookAgainForm,
    BookingChangeForm,
    BookingItemFormSet,
    BookingNotesForm,
    BookingPartFormSet,
    CatalogueSearchForm,
    CrewForm,
    DateRangeForm,
    EmailLanguageForm,
    FapiaoForm,
    MemberAddForm,
    SetFilterForm,
    SignupForm,
    TwoFactorCodeForm,
)
from .invoices import invoice_pdf as render_invoice_pdf
from .models import Booking, Crew, DayRange, Equipment, Invoice, Notification, StudioSet, User
from .services import store

SETS_PER_PAGE = 12
SET_SEARCH_FIELDS = ["name", "description", "location", "features"]
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,200}")
FEED_MAX_AGE_SECONDS = 300  # the crew feed, in calendar apps' own caches


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("bookings:crew")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.crew_signup(
            email=data["email"],
            full_name=data["full_name"],
            company_name=data["company_name"],
            contact_phone=data["contact_phone"],
            country=data["country"],
            language=translation.get_language() or "en",
        )
        # The same answer for a new address and a registered one: only the email tells.
        return redirect("signup_sent")
    return render(request, "registration/signup.html", {"form": form})


@require_GET
def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/signup_sent.html")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's page and form, but the email goes through the outbox (see account_password_reset_request)."""

    def form_valid(self, form):
        services.account_password_reset_request(email=form.cleaned_data["email"])
        return redirect(self.get_success_url())


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page every emailed set-password link opens: new members, new crews and resets.

    Choosing the password logs the person in, since the link has just proved
    they own the address. The backend is named because django-axes' backend,
    first in AUTHENTICATION_BACKENDS, only checks log-in attempts.
    """

    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set, and you are logged in."))
        return response

    def get_success_url(self) -> str:
        return reverse("bookings:list" if self.user.crew_id else "home")


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Shown instead of the log-in form while django-axes has locked the attempt out."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _crew_for_member(request: HttpRequest) -> Crew:
    """The crew of the logged-in user; 404 for users without one (e.g. staff)."""
    if request.user.crew_id is None:
        raise Http404(_("You are not a member of a crew."))
    return request.user.crew


@login_required
def crew_detail(request: HttpRequest) -> HttpResponse:
    crew = _crew_for_member(request)
    form = MemberAddForm() if request.user.is_crew_owner else None
    return _render_crew(request, crew, form)


def _render_crew(request: HttpRequest, crew: Crew, form, status: int = 200) -> HttpResponse:
    # When each member was last invited, for those who have not chosen a password yet.
    members = crew.members.annotate(
        invited_at=Max(
            "account_notifications__created_at",
            filter=Q(account_notifications__kind=Notification.Kind.ACCOUNT_INVITATION),
        )
    ).order_by("-crew_role", "first_name", "email")
    feed_url = request.build_absolute_uri(
        reverse("bookings:feed", args=[crew.calendar_token])
        + "?"
        + urlencode({"lang": request.user.language})
    )
    return render(
        request,
        "bookings/crew_detail.html",
        {"crew": crew, "members": members, "form": form, "feed_url": feed_url},
        status=status,
    )


@login_required
@require_POST
def crew_member_add(request: HttpRequest) -> HttpResponse:
    crew = _crew_for_member(request)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"]
        try:
            services.crew_member_add(
                crew=crew, email=email, full_name=form.cleaned_data["full_name"], by=request.user
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            # The same words whether or not the address has an account: the email tells the address.
            messages.success(
                request,
                _(
                    "We have emailed %(email)s. If the address is new here, it is now a member of your crew "
                    "and the email has a link to choose a password; if it already has an account, the "
                    "email tells them so."
                )
                % {"email": email},
            )
            return redirect("bookings:crew")
    return _render_crew(request, crew, form, status=400)


@login_required
@require_POST
def crew_member_invite_again(request: HttpRequest, pk: int) -> HttpResponse:
    crew = _crew_for_owner(request, _("Only the crew's owner can send invitations."))
    member = get_object_or_404(crew.members, pk=pk)
    try:
        services.crew_member_invitation_resend(member=member, by=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The invitation was sent to %s again, with a new link.") % member.email)
    return redirect("bookings:crew")


def _crew_for_owner(request: HttpRequest, refusal: str) -> Crew:
    """The crew of its owner; to its other members the owner's pages do not exist."""
    crew = _crew_for_member(request)
    if not request.user.is_crew_owner:
        raise Http404(refusal)
    return crew


@login_required
@require_http_methods(["GET", "POST"])
def crew_edit(request: HttpRequest) -> HttpResponse:
    crew = _crew_for_owner(request, _("Only the crew's owner can change the company details."))
    form = CrewForm(request.POST or None, instance=Crew.objects.get(pk=crew.pk))
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.crew_update(crew=crew, by=request.user, **form.cleaned_data)
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            if changed:
                messages.success(request, _("The company details are saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("bookings:crew")
    status = 400 if form.is_bound else 200
    return render(request, "bookings/crew_edit.html", {"crew": crew, "form": form}, status=status)


def _crew_member_action(request: HttpRequest, pk: int, *, action: str) -> HttpResponse:
    """Remove a member, or make them the owner: a confirmation page, then the POST that does it."""
    crew = _crew_for_owner(request, _("Only the crew's owner can change who is in the crew."))
    member = get_object_or_404(crew.members.exclude(pk=request.user.pk), pk=pk)
    if request.method == "GET":
        return render(
            request, "bookings/crew_member_confirm.html", {"crew": crew, "member": member, "action": action}
        )
    try:
        if action == "remove":
            services.crew_member_remove(crew=crew, member=member, by=request.user)
        else:
            services.crew_owner_transfer(crew=crew, member=member, by=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return redirect("bookings:crew")
    name = member.get_full_name() or member.email
    if action == "remove":
        messages.success(
            request,
            _("%(name)s is no longer a member of your crew. The bookings they made stay with the crew.")
            % {"name": name},
        )
    else:
        messages.success(
            request,
            _("%(name)s is now the owner of your crew, and you are a member.") % {"name": name},
        )
    return redirect("bookings:crew")


@login_required
@require_http_methods(["GET", "POST"])
def crew_member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _crew_member_action(request, pk, action="remove")


@login_required
@require_http_methods(["GET", "POST"])
def crew_member_make_owner(request: HttpRequest, pk: int) -> HttpResponse:
    return _crew_member_action(request, pk, action="make_owner")


# --- A person's own account ---------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = AccountForm(request.POST or None, instance=User.objects.get(pk=user.pk))
    if request.method == "POST" and form.is_valid():
        changed = services.account_update(user=user, **form.cleaned_data)
        if changed:
            messages.success(request, _("Your details are saved."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect("account")
    status = 400 if form.is_bound else 200
    return render(request, "registration/account.html", {"form": form}, status=status)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_POST
def account_email_language(request: HttpRequest) -> HttpResponse:
    """One click from the offer shown after switching the site's language."""
    user = request.user
    form = EmailLanguageForm(request.POST)
    if form.is_valid():
        language = form.cleaned_data["language"]
        services.account_update(
            user=user,
            first_name=user.first_name,
            last_name=user.last_name,
            phone=user.phone,
            language=language,
        )
        messages.success(
            request,
            _("We will write to you in %(language)s from now on.")
            % {"language": translation.get_language_info(language)["name_translated"]},
        )
    return redirect(_safe_next(request, reverse("account")))


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; a signed-in person whose emails go out in another language is
    offered, on the next page, to receive them in the new one too."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language")
    if (
        request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and language != request.user.language
    ):
        request.session[EMAIL_LANGUAGE_OFFER] = language
    else:
        request.session.pop(EMAIL_LANGUAGE_OFFER, None)
    return response


def set_list(request: HttpRequest) -> HttpResponse:
    form = SetFilterForm(request.GET or None)
    valid = form.is_bound and form.is_valid()
    data = form.cleaned_data if valid else {}
    days = form.days if valid else None

    def fill() -> dict:
        # Only when the cached list is missing (templates/bookings/set_list.html).
        sets = StudioSet.objects.filter(is_active=True).prefetch_related("photos").order_by("name")
        if data.get("q"):
            sets = selectors.catalogue_search(sets, data["q"], SET_SEARCH_FIELDS)
        if data.get("category"):
            sets = sets.filter(category=data["category"])
        if data.get("vertical_ready"):
            sets = sets.filter(vertical_ready=True)
        if data.get("max_rate") is not None:
            sets = sets.filter(daily_rate__lte=data["max_rate"])
        if days:
            sets = sets.exclude(pk__in=selectors.busy_set_ids(days))
        return {"page": Paginator(sets, SETS_PER_PAGE).get_page(request.GET.get("page"))}

    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "bookings/set_list.html",
        {"form": form, "days": days, "query": query.urlencode(), "pagecache_fill": fill},
    )


# How far the set calendar pages back and forward: bookings end at most
# BOOKING_MAX_DAYS_AHEAD away, and history older than this is the admin's business.
CALENDAR_MONTHS_BACK = 24
CALENDAR_MONTHS_AHEAD = 24
MONTH_PATTERN = re.compile(r"([0-9]+)-([0-9]{1,2})")


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _month(value: str | None, today: date, looking_at: date | None = None) -> date:
    """The month asked for as ``YYYY-MM``; without one, the month of the day the crew is
    looking at (or this month), and a 404 for a month asked for outside the calendar's
    range (e.g. 9999-12, whose next month cannot exist)."""
    this_month = today.replace(day=1)
    first_shown = _add_months(this_month, -CALENDAR_MONTHS_BACK)
    last_shown = _add_months(this_month, CALENDAR_MONTHS_AHEAD)
    match = MONTH_PATTERN.fullmatch(value or "")
    if match is None or not 1 <= int(match[2]) <= 12:
        if looking_at is not None and first_shown <= looking_at.replace(day=1) <= last_shown:
            return looking_at.replace(day=1)
        return this_month
    if len(match[1]) > 4:
        raise Http404(_("The calendar does not go that far."))
    year, month = int(match[1]), int(match[2])
    if not (first_shown.year, first_shown.month) <= (year, month) <= (last_shown.year, last_shown.month):
        raise Http404(_("The calendar does not go that far."))
    return date(year, month, 1)


def _iso_day(value: str | None) -> date | None:
    """A day written ``yyyy-mm-dd`` (as date inputs send it in every language), else None."""
    if value and ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _choice_error(days: DayRange, states: dict[date, str], *, last_picked: bool) -> str | None:
    """Why the set cannot be booked for the days a crew picked on its calendar, or None.
    A first day alone (``last_picked`` false) is checked as a one-day range."""
    if all(states[day] == "free" for day in days.dates()):
        return None
    if not last_picked:
        return _("%(date)s is not free. Choose a free day.") % {"date": date_format(days.start)}
    return _(
        "The set is not free on every day of this range (%(start)s – %(end)s). Choose free days only."
    ) % {"start": date_format(days.start), "end": date_format(days.end)}


def set_detail(request: HttpRequest, slug: str) -> HttpResponse:
    studio_set = get_object_or_404(StudioSet, slug=slug, is_active=True)
    today = timezone.localdate()
    # The days the crew is looking at: a search on the set list, or days picked on this
    # calendar (a first day alone while the last is still to be picked).
    start = _iso_day(request.GET.get("start"))
    end = _iso_day(request.GET.get("end")) if start else None
    first = _month(request.GET.get("month"), today, looking_at=start)
    this_month = today.replace(day=1)
    previous_month = _add_months(first, -1)
    next_month = _add_months(first, 1)
    if previous_month < _add_months(this_month, -CALENDAR_MONTHS_BACK):
        previous_month = None
    if next_month > _add_months(this_month, CALENDAR_MONTHS_AHEAD):
        next_month = None

    def fill() -> dict:
        # The calendar: only when the cached one is missing (templates/bookings/set_detail.html).
        prefetch_related_objects([studio_set], "photos")
        grid = selectors.month_grid(first)
        chosen, error, window = None, None, grid
        if start:
            chosen = DayRange(start, end or start)
            try:
                services.booking_validate_days(days=chosen, today=today)
            except services.BookingError as exc:
                chosen, error = None, str(exc)
            else:  # at most BOOKING_MAX_DAYS, so one read covers the grid and the choice
                window = DayRange(min(grid.start, chosen.start), max(grid.end, chosen.end))
        states = selectors.set_day_states(studio_set, window, today)
        if chosen:
            error = _choice_error(chosen, states, last_picked=end is not None)
            chosen = None if error else chosen
        weeks = selectors.set_month_calendar(studio_set, first, today, states)
        if chosen:
            for week in weeks:
                for cell in week:
                    cell.selected = chosen.start <= cell.day <= chosen.end
        return {
            "weeks": weeks,
            "pick_from": start if chosen and end is None else None,
            "chosen": chosen if chosen and end else None,
            "choice_error": error,
            # 2024-01-01 was a Monday; the calendar starts weeks on Monday, as in China.
            "weekday_names": [date_format(date(2024, 1, 1) + timedelta(days=i), "D") for i in range(7)],
        }

    kept = {"start": f"{start:%Y-%m-%d}"} if start else {}
    if start and end:
        kept["end"] = f"{end:%Y-%m-%d}"
    context = {
        "studio_set": studio_set,
        "month": first,
        "previous_month": previous_month,
        "next_month": next_month,
        # The days chosen so far, carried by the month links.
        "kept_query": urlencode(kept),
        # Anyone may pick days (a visitor is asked to log in by the booking form), except
        # staff and others without a crew, who cannot book.
        "can_pick": not request.user.is_authenticated or request.user.crew_id is not None,
    }
    if request.htmx:
        return render(request, "bookings/_calendar.html", context | fill())
    return render(request, "bookings/set_detail.html", context | {"pagecache_fill": fill})


def equipment_list(request: HttpRequest) -> HttpResponse:
    search = CatalogueSearchForm(request.GET)
    # A search alone is not a request for availability: the dates are checked when given.
    dates_given = "start" in request.GET or "end" in request.GET
    form = DateRangeForm(request.GET if dates_given else None)
    days = None
    if form.is_bound and form.is_valid():
        days = DayRange(form.cleaned_data["start"], form.cleaned_data["end"])

    def fill() -> dict:
        # Only when the cached table is missing (templates/bookings/equipment_list.html).
        equipment = selectors.with_kit_parts(Equipment.objects.filter(is_active=True)).order_by(
            "category", "name"
        )
        if search.is_valid() and search.cleaned_data["q"]:
            equipment = selectors.catalogue_search(
                equipment, search.cleaned_data["q"], ["name", "description"]
            )
        elif not search.is_valid():
            equipment = equipment.none()
        equipment = list(equipment)
        if days:
            usage = selectors.equipment_days(equipment, days)
            for item in equipment:
                item.free_units = usage[item.pk].tightest(days)
        return {"equipment": equipment}

    return render(
        request,
        "bookings/equipment_list.html",
        {"form": form, "search": search, "days": days, "pagecache_fill": fill},
    )


# --- Booking pages -------------------------------------------------------------


def _crew_bookings(request: HttpRequest):
    return selectors.bookings_for_list(request.user)


def _get_booking(request: HttpRequest, reference: str) -> Booking:
    """A booking the user may see; anyone else's is a 404, not a 403."""
    return get_object_or_404(_crew_bookings(request), reference=reference)


def _formsets(data=None, *, initial_parts=None):
    parts = BookingPartFormSet(data, prefix="parts", initial=initial_parts)
    items = BookingItemFormSet(data, prefix="items")
    notes = BookingNotesForm(data)
    return parts, items, notes


def _with_extra_form(data, prefix: str):
    """Unbound formsets that keep what was typed and add one empty form for ``prefix``
    (the "add another" buttons): nothing is validated yet, so no errors show."""
    fields = {"parts": ("studio_set", "start_date", "end_date"), "items": ("equipment", "quantity", "part")}
    initial = {}
    for name, names in fields.items():
        try:
            count = min(int(data.get(f"{name}-TOTAL_FORMS", 0)), 20)
        except ValueError:
            count = 0
        initial[name] = [{f: data.get(f"{name}-{i}-{f}", "") for f in names} for i in range(count)]
        initial[name] = [row for row in initial[name] if any(row.values())]
    parts = BookingPartFormSet(prefix="parts", initial=initial["parts"])
    items = BookingItemFormSet(prefix="items", initial=initial["items"])
    (parts if prefix == "parts" else items).extra = 1
    notes = BookingNotesForm(initial={"notes": data.get("notes", "")})
    return parts, items, notes


def _requests_from(parts, items) -> tuple[list[services.SetRequest], list[services.ItemRequest]]:
    lines = [
        (
            f.cleaned_data["part"],
            services.ItemRequest(f.cleaned_data["equipment"], f.cleaned_data["quantity"]),
        )
        for f in items.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]
    return _set_requests(parts, lines)


def _set_requests(
    parts, lines: list[tuple[str, services.ItemRequest]]
) -> tuple[list[services.SetRequest], list[services.ItemRequest]]:
    """The sets asked for, each with the equipment lines that go with it alone, and the lines
    that go with the whole plan. A line names its set by the set's number on the form."""
    requests = [
        services.SetRequest(
            f.cleaned_data["studio_set"],
            DayRange(f.cleaned_data["start_date"], f.cleaned_data["end_date"]),
            [item for part, item in lines if part == str(number)],
        )
        for number, f in enumerate(parts.forms, 1)
        # A row added with "add another set" and left empty is valid and holds nothing;
        # the formset's minimum makes sure at least one row is filled in.
        if f.cleaned_data
    ]
    return requests, [item for part, item in lines if part == WHOLE_PLAN]


def _lines_without_their_set(parts, items) -> bool:
    """Mark equipment lines that name a set the form does not have; True if there were any."""
    filled = {str(number) for number, f in enumerate(parts.forms, 1) if f.cleaned_data}
    found = False
    for form in items.forms:
        part = form.cleaned_data.get("part") if form.cleaned_data else None
        if part and part != WHOLE_PLAN and part not in filled and not form.cleaned_data.get("DELETE"):
            form.add_error("part", _("There is no set %(number)s in this request.") % {"number": part})
            found = True
    return found


def _quote_requests(parts, items) -> tuple[list[services.SetRequest], list[services.ItemRequest]]:
    """What the form asks for, as far as it can be priced: sets with valid shoot days, and
    equipment even beyond what the studio owns (the error beside the field says so, and
    the price of what was asked for still helps). Nothing when anything else is wrong."""
    if not parts.is_valid():
        return [], []
    if items.is_valid():
        return _requests_from(parts, items)
    if items.non_form_errors():
        return [], []
    lines = []
    for form in items.forms:
        errors = form.errors.as_data()
        if errors and (
            errors.keys() != {"quantity"} or {e.code for e in errors["quantity"]} != {"over_stock"}
        ):
            return [], []
        if form.requested and not form.cleaned_data.get("DELETE"):
            lines.append((form.cleaned_data.get("part", WHOLE_PLAN), services.ItemRequest(*form.requested)))
    return _set_requests(parts, lines)


def _quote(requests: tuple[list[services.SetRequest], list[services.ItemRequest]]) -> dict:
    parts, plan_items = requests
    quotes, total = [], Decimal(0)
    for part in parts:
        lines = selectors.quote_lines(
            part.studio_set, part.days, [(i.equipment, i.quantity) for i in part.items]
        )
        subtotal = sum((line.amount for line in lines), Decimal(0))
        busy = part.studio_set.pk in selectors.busy_set_ids(part.days, [part.studio_set.pk])
        quotes.append({"part": part, "lines": lines, "subtotal": subtotal, "busy": busy})
        total += subtotal
    plan_lines = (
        selectors.plan_quote_lines([p.days for p in parts], [(i.equipment, i.quantity) for i in plan_items])
        if parts
        else []
    )
    total += sum((line.amount for line in plan_lines), Decimal(0))
    return {"quotes": quotes, "plan_lines": plan_lines, "total": total}


def _quote_of(data) -> dict:
    """The quote for form data that is not shown as a bound form (its errors stay hidden)."""
    parts, items, _notes = _formsets(data)
    return _quote(_quote_requests(parts, items))


def _initial_data(initial: dict) -> dict:
    """The form data a crew would post for one pre-filled set row and no equipment."""
    data = {"parts-TOTAL_FORMS": "1", "parts-INITIAL_FORMS": "0", "items-TOTAL_FORMS": "0"}
    data["items-INITIAL_FORMS"] = "0"
    data["parts-0-studio_set"] = initial["studio_set"].slug
    data["parts-0-start_date"] = initial["start_date"].isoformat()
    data["parts-0-end_date"] = initial["end_date"].isoformat()
    return data


@login_required
@require_http_methods(["GET", "POST"])
def booking_new(request: HttpRequest) -> HttpResponse:
    crew = _crew_for_member(request)
    if request.method == "POST":
        for prefix in ("parts", "items"):
            if f"add_{prefix}" in request.POST:
                parts, items, notes = _with_extra_form(request.POST, prefix)
                return _render_booking_form(request, parts, items, notes, quote=_quote_of(request.POST))
        parts, items, notes = _formsets(request.POST)
        if (
            parts.is_valid()
            and items.is_valid()
            and notes.is_valid()
            and not _lines_without_their_set(parts, items)
        ):
            set_requests, plan_items = _requests_from(parts, items)
            try:
                plan = services.shoot_plan_request(
                    crew=crew,
                    parts=set_requests,
                    items=plan_items,
                    by=request.user,
                    notes=notes.cleaned_data["notes"],
                )
            except services.BookingError as exc:
                target = parts.forms[0] if exc.field in {"start_date", "end_date", "studio_set"} else None
                if target is not None and len(parts.forms) == 1:
                    target.add_error(exc.field, str(exc))
                else:
                    messages.error(request, str(exc))
            else:
                bookings = list(plan.bookings.order_by("start_date"))
                single = len(bookings) == 1 and not plan.items.exists()
                references = bookings[0].reference if single else plan.reference
                messages.success(
                    request,
                    _(
                        "Requested: %(refs)s. The studio holds it for %(hours)d hours while the booking desk confirms."
                    )
                    % {"refs": references, "hours": settings.BOOKING_HOLD_HOURS},
                )
                return redirect(bookings[0] if single else plan)
        return _render_booking_form(request, parts, items, notes, status=400)

    start = timezone.localdate() + timedelta(days=1)
    initial = {"start_date": start, "end_date": start + timedelta(days=settings.BOOKING_DEFAULT_DAYS - 1)}
    proposed = DateRangeForm({"start": request.GET.get("start"), "end": request.GET.get("end")})
    if proposed.is_valid():  # dates carried over from the "free from … to …" search
        initial.update(start_date=proposed.cleaned_data["start"], end_date=proposed.cleaned_data["end"])
    slug = request.GET.get("set")
    if slug:
        # Only a well-formed slug can name a set; anything else is not worth a query.
        studio_set = (
            StudioSet.objects.filter(slug=slug, is_active=True).first() if SLUG.fullmatch(slug) else None
        )
        if studio_set is None:
            messages.error(request, _("That set is not open for booking; choose another one."))
        else:
            initial["studio_set"] = studio_set
    parts, items, notes = _formsets(initial_parts=[initial])
    quote = _quote_of(_initial_data(initial)) if "studio_set" in initial else {}
    return _render_booking_form(request, parts, items, notes, quote=quote)


def _render_booking_form(request, parts, items, notes, *, quote: dict | None = None, status: int = 200):
    """The form with its price quote, which is computed on every render: from the bound
    formsets themselves, or (``quote``) from data the unbound ones were filled in from."""
    context = {"parts": parts, "items": items, "notes": notes}
    context.update(quote if quote is not None else _quote(_quote_requests(parts, items)))
    return render(request, "bookings/booking_form.html", context, status=status)


@login_required
@require_POST
def booking_quote(request: HttpRequest) -> HttpResponse:
    """The live price quote (htmx): validates like the form, writes nothing."""
    _crew_for_member(request)
    parts, items, _notes = _formsets(request.POST)
    context = {"parts": parts, "items": items, **_quote(_quote_requests(parts, items))}
    return render(request, "bookings/_quote.html", context)


@login_required
def booking_list(request: HttpRequest) -> HttpResponse:
    def fill() -> dict:
        # Only when the crew's cached list is missing or stale (templates/bookings/booking_list.html):
        # a crew with years of shoots pays for its rows once per change, not on every visit.
        today = timezone.localdate()
        past_page, past = selectors.past_plans_page(request.user, today=today, number=request.GET.get("page"))
        upcoming = []
        # The upcoming plans (as far ahead as bookings go) lead the first page; later pages are the past.
        if past_page.number == 1:
            upcoming = selectors.group_by_plan(
                _crew_bookings(request).filter(end_date__gte=today).order_by("start_date", "reference")
            )
        return {"upcoming": upcoming, "past": past, "past_page": past_page}

    return render(request, "bookings/booking_list.html", {"pagecache_fill": fill})


def _get_plan(request: HttpRequest, reference: str):
    """A shoot plan of the user's crew; anyone else's is a 404, not a 403."""
    return get_object_or_404(selectors.plans_for_user(request.user), reference=reference)


@login_required
@require_safe
def plan_detail(request: HttpRequest, reference: str) -> HttpResponse:
    plan = _get_plan(request, reference)
    return _render_plan(request, plan, BookAgainForm(initial={"start": _again_start(plan)}))


def _again_start(plan) -> date:
    """The first day "Book again" proposes: the plan's own if still ahead, else the next free-ish week."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return max(plan.start_date or tomorrow, tomorrow)


def _render_plan(
    request: HttpRequest,
    plan,
    again_form,
    status: int = 200,
    fapiao_form: tuple[int, FapiaoForm] | None = None,
) -> HttpResponse:
    union = selectors.plan_days([b.days for b in plan.parts])
    # The page shows the whole plan's lines' states (each part's are on its own page).
    plan_lines = store.line_states_for(
        bookings=plan.parts, plan=plan, today=timezone.localdate(), items=[], plan_items=plan.items.all()
    )
    return render(
        request,
        "bookings/plan_detail.html",
        {
            "plan": plan,
            "parts": plan.parts,
            "plan_days": len(union),
            "again_form": again_form,
            "invoices": [
                (
                    invoice,
                    invoice.payment_state(paid=invoice.paid, today=timezone.localdate()),
                    _fapiao_form_for(request, invoice, fapiao_form),
                )
                for invoice in services.invoices_with_paid(
                    plan.invoices.select_related("fapiao_request").order_by("year", "sequence")
                )
            ],
            "plan_line_states": [
                (item, plan_lines[f"planitem-{item.pk}"])
                for item in plan.items.all()
                if f"planitem-{item.pk}" in plan_lines
            ],
        },
        status=status,
    )


def _fapiao_form_for(
    request: HttpRequest, invoice, bound: tuple[int, FapiaoForm] | None
) -> FapiaoForm | None:
    """The form asking for an invoice's fapiao, unless it has been asked for already."""
    if hasattr(invoice, "fapiao_request"):
        return None
    if bound is not None and bound[0] == invoice.pk:
        return bound[1]
    return FapiaoForm(prefix=f"fapiao-{invoice.pk}", initial={"email": request.user.email})


@login_required
@require_POST
def invoice_fapiao(request: HttpRequest, number: str) -> HttpResponse:
    """A crew member asks for the official fapiao of one of the crew's invoices."""
    invoice = get_object_or_404(Invoice.objects.for_user(request.user).select_related("plan"), number=number)
    plan = _get_plan(request, invoice.plan.reference)
    form = FapiaoForm(request.POST, prefix=f"fapiao-{invoice.pk}")
    if form.is_valid():
        try:
            services.fapiao_request(invoice=invoice, by=request.user, **form.cleaned_data)
        except services.PaymentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(
                request,
                _("The fapiao for %(number)s is asked for; finance sends it to %(email)s.")
                % {"number": invoice.number, "email": form.cleaned_data["email"]},
            )
            return redirect(plan)
    return _render_plan(
        request,
        plan,
        BookAgainForm(initial={"start": _again_start(plan)}),
        status=400,
        fapiao_form=(invoice.pk, form),
    )


@login_required
@require_safe
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    """One of the crew's invoices, as a PDF; another crew's is a 404."""
    invoice = get_object_or_404(Invoice.objects.for_user(request.user).select_related("plan"), number=number)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


@login_required
@require_safe
def plan_again(request: HttpRequest, reference: str) -> HttpResponse:
    """The booking form filled in from a plan: its sets, equipment and notes, moved to a new first
    day with every part's offset kept. Nothing is held until the crew sends the form."""
    plan = _get_plan(request, reference)
    form = BookAgainForm(request.GET)
    if not form.is_valid():
        return _render_plan(request, plan, form, status=400)
    shift = form.cleaned_data["start"] - plan.start_date
    parts = plan.parts
    initial_parts = [
        {"studio_set": b.studio_set.slug, "start_date": b.start_date + shift, "end_date": b.end_date + shift}
        for b in parts
    ]
    initial_items = [
        {"equipment": i.equipment.slug, "quantity": i.quantity, "part": str(number)}
        for number, b in enumerate(parts, 1)
        for i in b.items.all()
    ] + [
        {"equipment": i.equipment.slug, "quantity": i.quantity, "part": WHOLE_PLAN} for i in plan.items.all()
    ]
    notes_text = parts[0].notes if parts else ""
    data = {
        "parts-TOTAL_FORMS": str(len(initial_parts)),
        "parts-INITIAL_FORMS": "0",
        "items-TOTAL_FORMS": str(len(initial_items)),
        "items-INITIAL_FORMS": "0",
        "notes": notes_text,
    }
    for prefix, rows in (("parts", initial_parts), ("items", initial_items)):
        for index, row in enumerate(rows):
            for name, value in row.items():
                data[f"{prefix}-{index}-{name}"] = (
                    value.isoformat() if isinstance(value, date) else str(value)
                )
    parts_fs = BookingPartFormSet(prefix="parts", initial=initial_parts)
    items_fs = BookingItemFormSet(prefix="items", initial=initial_items)
    notes = BookingNotesForm(initial={"notes": notes_text})
    messages.info(
        request,
        _("The form is filled in from %(ref)s. Check the days and equipment, then send the request.")
        % {"ref": plan.reference},
    )
    return _render_booking_form(request, parts_fs, items_fs, notes, quote=_quote_of(data))


@login_required
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _get_booking(request, reference)
    today = timezone.localdate()
    pending = (
        booking.changes.filter(status=Booking.Status.CHANGE)
        .select_related("studio_set")
        .prefetch_related("items__equipment")
        .first()
    )
    context = {
        "booking": booking,
        "can_cancel": booking.can_be_cancelled_by(request.user, today),
        "can_change": booking.can_be_changed_by(request.user, today),
        "started": booking.has_started(today),
        "pending_change": pending,
        "last_change": None
        if pending
        else booking.changes.exclude(status=Booking.Status.CHANGE).order_by("-updated_at").first(),
        "timeline": selectors.booking_timeline(booking),
        "equipment_lines": store.equipment_lines_with_states(bookings=[booking], today=today),
    }
    return render(request, "bookings/booking_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def booking_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _get_booking(request, reference)
    fee = booking_cancellation_fee(booking, today=timezone.localdate())
    form = CrewCancelForm(
        request.POST if request.method == "POST" else None, initial={"fee_percent": fee.percent}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.booking_cancel(
                booking=booking,
                by=request.user,
                reason=form.cleaned_data["reason"],
                agreed_fee_percent=form.cleaned_data["fee_percent"],
            )
        except services.BookingError as exc:
            messages.error(request, str(exc))
            if booking.can_be_cancelled_by(request.user, timezone.localdate()):
                return redirect("bookings:cancel", booking.reference)  # shown the fee as it is now
        else:
            messages.success(request, _("Booking %s cancelled. The days are free again.") % booking.reference)
        return redirect(booking)
    context = {
        "booking": booking,
        "fee": fee,
        "form": form,
        "policy": fee_policy(days_before=fee.days_before),
        "can_cancel": booking.can_be_cancelled_by(request.user, timezone.localdate()),
    }
    return render(request, "bookings/booking_cancel.html", context, status=400 if form.errors else 200)


def _change_forms(booking: Booking, data=None):
    if data is None:
        initial = {
            "studio_set": booking.studio_set,
            "start_date": booking.start_date,
            "end_date": booking.end_date,
        }
        part = BookingChangeForm(booking=booking, prefix="part", initial=initial)
        items = BookingItemFormSet(
            prefix="items",
            initial=[{"equipment": i.equipment, "quantity": i.quantity} for i in booking.items.all()],
        )
        return part, items, BookingNotesForm(initial={"notes": booking.notes})
    return (
        BookingChangeForm(data, booking=booking, prefix="part"),
        BookingItemFormSet(data, prefix="items"),
        BookingNotesForm(data),
    )


def _change_request(part, items, notes) -> services.BookingChange:
    data = part.cleaned_data
    lines = [
        services.ItemRequest(f.cleaned_data["equipment"], f.cleaned_data["quantity"])
        for f in items.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]
    return services.BookingChange(
        data["studio_set"], DayRange(data["start_date"], data["end_date"]), lines, notes.cleaned_data["notes"]
    )


@login_required
@require_http_methods(["GET", "POST"])
def booking_change(request: HttpRequest, reference: str) -> HttpResponse:
    """The crew changes a live booking: set, days, equipment, notes; the desk decides if it is confirmed."""
    booking = _get_booking(request, reference)
    if not booking.can_be_changed_by(request.user, timezone.localdate()):
        messages.error(
            request,
            _("%(ref)s can no longer be changed here; call the booking desk.") % {"ref": booking.reference},
        )
        return redirect(booking)
    status = 200
    if request.method == "POST" and "add_items" in request.POST:
        # Keep what was typed, unvalidated, and add an empty equipment line.
        _parts, items, notes = _with_extra_form(request.POST, "items")
        fields = ("studio_set", "start_date", "end_date")
        part = BookingChangeForm(
            booking=booking, prefix="part", initial={f: request.POST.get(f"part-{f}", "") for f in fields}
        )
    elif request.method == "POST":
        part, items, notes = _change_forms(booking, request.POST)
        if part.is_valid() and items.is_valid() and notes.is_valid() and "preview" not in request.POST:
            try:
                result = services.booking_change(
                    booking=booking, change=_change_request(part, items, notes), by=request.user
                )
            except services.BookingError as exc:
                if exc.field in {"start_date", "end_date", "studio_set"}:
                    part.add_error(exc.field, str(exc))
                elif exc.field == "items":
                    items._non_form_errors = items.error_class([str(exc)], renderer=items.renderer)
                else:
                    part.add_error(None, str(exc))
            else:
                if result.is_change:
                    messages.success(
                        request,
                        _(
                            "Change sent. Your booking stays as it is until the booking desk approves it; "
                            "the new days and equipment are held for you meanwhile."
                        ),
                    )
                else:
                    messages.success(request, _("Request %(ref)s changed.") % {"ref": booking.reference})
                return redirect(booking)
        status = 400 if "preview" not in request.POST else 200
    else:
        part, items, notes = _change_forms(booking)
    quote: dict = {}
    if part.is_bound and part.is_valid() and items.is_bound and items.is_valid() and notes.is_valid():
        change = _change_request(part, items, notes)
        lines = selectors.quote_lines(
            change.studio_set, change.days, [(i.equipment, i.quantity) for i in change.items]
        )
        quote = {"lines": lines, "total": sum((line.amount for line in lines), Decimal(0))}
    return render(
        request,
        "bookings/booking_change.html",
        {
            "booking": booking,
            "part": part,
            "items": items,
            "notes": notes,
            "quote": quote,
            "started": booking.has_started(timezone.localdate()),
            "pending_change": booking.changes.filter(status=Booking.Status.CHANGE).first(),
        },
        status=status,
    )


@login_required
@require_POST
def booking_change_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _get_booking(request, reference)
    try:
        services.booking_change_withdraw(booking=booking, by=request.user)
    except services.BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Change withdrawn. Your booking stays as it is."))
    return redirect(booking)


@login_required
def booking_ics(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _get_booking(request, reference)
    # Names of sets and equipment in the member's language for emails, as in the emails themselves.
    with translation.override(request.user.language):
        ics = bookings_to_ics([booking], name=booking.reference)
    response = HttpResponse(ics, content_type=ICS_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{booking.reference}.ics"'
    return response


@require_safe
def crew_calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The crew's private feed for calendar apps: the unguessable token is the key."""
    crew = get_object_or_404(Crew, calendar_token=token)
    bookings = (
        Booking.objects.bookings()
        .filter(crew=crew, end_date__gte=timezone.localdate() - timedelta(days=90))
        .select_related("studio_set")
        .prefetch_related("items__equipment")
    )
    with translation.override(_feed_language(request, crew)):
        body = bookings_to_ics(bookings, name=crew.name, feed=True)
    response = HttpResponse(body, content_type=ICS_CONTENT_TYPE)
    # Calendar apps poll the feed; a few minutes in their own cache spares the database, and
    # "private" keeps the crew's bookings out of any shared cache between here and them.
    patch_cache_control(response, private=True, max_age=FEED_MAX_AGE_SECONDS)
    return response


def _feed_language(request: HttpRequest, crew: Crew) -> str:
    """The language the feed link asks for (each member's link carries theirs), else the owner's."""
    asked = request.GET.get("lang", "")
    if asked in dict(settings.LANGUAGES):
        return asked
    owner = crew.members.filter(crew_role=User.CrewRole.OWNER).order_by("pk").first()
    return owner.language if owner else settings.LANGUAGE_CODE


@login_required
@require_POST
def crew_calendar_reset(request: HttpRequest) -> HttpResponse:
    crew = _crew_for_member(request)
    try:
        services.crew_calendar_reset(crew=crew, by=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
        return _render_crew(request, crew, None, status=403)
    messages.success(request, _("Your calendar link was reset. Subscribe again with the new link."))
    return redirect("bookings:crew")


# --- Staff log-in: the second factor ---------------------------------------------


def _staff_member(request: HttpRequest):
    """Two-factor pages are for staff; to anyone else they do not exist."""
    if not request.user.is_staff:
        raise Http404
    return request.user


def _next_admin_url(request: HttpRequest) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _no_store(response: HttpResponse) -> HttpResponse:
    # These pages show secrets (the authenticator key, backup codes): never cache them.
    add_never_cache_headers(response)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """After the password: a code from the staff member's authenticator (or a backup code)."""
    user = _staff_member(request)
    next_url = _next_admin_url(request)
    if not user_has_device(user):
        return redirect(f"{reverse('two_factor_setup')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
    if user.is_verified():
        return redirect(next_url)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", _("That code is not right, or was already used. Try the newest code."))
        else:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = services.staff_backup_codes_left(user=user)
                messages.warning(
                    request,
                    ngettext(
                        "You used a backup code; %(count)d is left. Set up your authenticator again soon.",
                        "You used a backup code; %(count)d are left. Set up your authenticator again soon.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(next_url)
    status = 400 if form.is_bound else 200
    return _no_store(
        render(request, "registration/two_factor.html", {"form": form, "next": next_url}, status=status)
    )


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app; a staff member who has one must prove it first to replace it."""
    user = _staff_member(request)
    next_url = _next_admin_url(request)
    if user_has_device(user) and not user.is_verified():
        return redirect(f"{reverse('two_factor')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
    device = services.staff_authenticator_pending(user=user)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.staff_authenticator_confirm(
                user=user, device=device, code=form.cleaned_data["code"]
            )
        except services.AccountError as exc:
            form.add_error("code", str(exc))
        else:
            device.refresh_from_db()
            otp_login(request, device)
            return _no_store(
                render(
                    request, "registration/two_factor_backup_codes.html", {"codes": codes, "next": next_url}
                )
            )
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": next_url,
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr_svg": mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, title=_("QR code"))),  # noqa: S308 - our own SVG, no user input in markup
    }
    status = 400 if form.is_bound else 200
    return _no_store(render(request, "registration/two_factor_setup.html", context, status=status))


@login_required
@require_POST
def two_factor_backup_codes(request: HttpRequest) -> HttpResponse:
    """New backup codes, for a verified staff session only."""
    user = _staff_member(request)
    if not user.is_verified():
        return redirect(f"{reverse('two_factor')}?{urlencode({REDIRECT_FIELD_NAME: reverse('admin:index')})}")
    codes = services.staff_backup_codes_replace(user=user)
    return _no_store(
        render(
            request,
            "registration/two_factor_backup_codes.html",
            {"codes": codes, "next": reverse("admin:index")},
        )
    )


class StudioLoginView(LoginView):
    """The log-in page; staff go on to the admin (and its second step), crews to their crew."""

    def get_default_redirect_url(self) -> str:
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_default_redirect_url()
