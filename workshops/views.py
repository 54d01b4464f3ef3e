import io
from collections.abc import Callable
from functools import partial, wraps

import segno
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bookings import pagecache
from bookings.forms import CatalogueSearchForm
from bookings.notifications import studio_bank_facts
from bookings.selectors import catalogue_search

from . import fees, selectors, services
from .calendars import enrolment_to_ics
from .certificates import certificate_pdf
from .forms import PASSPORT_FIELDS, EnrolmentEditForm, EnrolmentForm
from .models import LETTER_DELETED, Certificate, Enrolment, Session, Workshop, normalize_checkin_code
from .ratelimit import rate_limit_hit


def _published_sessions():
    """Sessions whose workshop is published, the only ones the site shows."""
    return Session.objects.filter(workshop__is_published=True).select_related("workshop")


SESSION_SEARCH_FIELDS = [
    "workshop__title",
    "workshop__summary",
    "workshop__description",
    "workshop__topics",
    "venue",
]


# Sessions on a page of the workshop list: the list is bounded however many are planned.
SESSIONS_PER_PAGE = 20


def session_list(request: HttpRequest) -> HttpResponse:
    search = CatalogueSearchForm(request.GET)

    def fill() -> dict:
        # Only when the cached list is missing (templates/workshops/session_list.html).
        sessions = selectors.upcoming_sessions()
        if not search.is_valid():
            sessions = sessions.none()
        elif search.cleaned_data["q"]:
            sessions = catalogue_search(sessions, search.cleaned_data["q"], SESSION_SEARCH_FIELDS)
        return {"page": Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))}

    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workshops/session_list.html",
        {"search": search, "query": query.urlencode(), "pagecache_fill": fill},
    )


def workshop_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workshop = get_object_or_404(Workshop, slug=slug, is_published=True)
    sessions = selectors.sessions_with_places(
        workshop.sessions.exclude(status=Session.Status.CANCELLED).filter(starts_at__gte=timezone.now())
    ).order_by("starts_at")
    return render(request, "workshops/workshop_detail.html", {"workshop": workshop, "sessions": sessions})


@sensitive_post_parameters(*PASSPORT_FIELDS)
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(selectors.sessions_with_places(_published_sessions()), pk=pk)
    full = session.seats_left == 0
    context = {
        "session": session,
        "workshop": session.workshop,
        "full": full,
        "is_open": session.registration_is_open(),
    }
    if request.method == "POST":
        if rate_limit_hit(request, scope="registration", rate=settings.REGISTRATION_RATE_LIMIT):
            response = render(
                request, "workshops/registration_refused.html", {"rate_limited": True}, status=429
            )
            response["Retry-After"] = str(settings.REGISTRATION_RATE_LIMIT[1])
            return response
        if request.POST.get("website"):
            return render(request, "workshops/registration_refused.html", {"rate_limited": False}, status=400)
    # Only a page that is shown needs it: a registration that goes through redirects.
    # (The template calls it.)
    context["next_position"] = partial(selectors.next_waitlist_position, session) if full else None
    if not context["is_open"]:
        return render(
            request, "workshops/register.html", context, status=409 if request.method == "POST" else 200
        )

    form = EnrolmentForm(
        request.POST or None,
        session=session,
        full=full,
        initial={"language": request.LANGUAGE_CODE},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.enrolment_register(session=session, **form.service_kwargs())
        except services.EnrolmentError as exc:
            form.add_error(exc.field, str(exc))
        else:
            # A new registration and a repeat of an enrolled address get the same answer, so
            # the form cannot tell anyone who is enrolled: the private link goes only by
            # email, to the address (the enrolment's, or "your link again").
            return redirect("workshops:registration_sent", pk=session.pk)
    context["form"] = form
    # The page writes the <form> tag and its CSRF token; a blank form is the same for everyone.
    form.helper.form_tag = False
    if not form.is_bound:
        context["form_html"] = pagecache.blank_form_html(form, full)
    return render(request, "workshops/register.html", context)


@require_GET
def registration_sent(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(_published_sessions(), pk=pk)
    return render(
        request, "workshops/registration_sent.html", {"session": session, "workshop": session.workshop}
    )


def private_page(view: Callable) -> Callable:
    """Pages behind a manage token: never cached, indexed or sent to other sites in a Referer."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
        # the cancel form, which CSRF protection rightly refuses.
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def _enrolment_for_token(token: str) -> Enrolment:
    """The enrolment a private link opens, with ``paid`` and ``refunded`` for its fee."""
    return get_object_or_404(
        selectors.enrolments_with_payments(
            Enrolment.objects.select_related("session__workshop", "certificate")
        ),
        manage_token=token,
    )


def _fee_context(enrolment: Enrolment) -> dict:
    """What the pages say about the fee: where it stands, how to pay, and what cancelling gives back."""
    if not enrolment.fee and not enrolment.paid:
        return {}
    today = timezone.localdate()
    return {
        "payment_state": enrolment.payment_state(
            paid=enrolment.paid, refunded=enrolment.refunded, today=today
        ),
        "refund_owed": enrolment.refund_owed(paid=enrolment.paid, refunded=enrolment.refunded),
        "fee_left": max(enrolment.fee - enrolment.paid + enrolment.refunded, 0),
        "letter_waits_for_payment": settings.WORKSHOP_LETTER_NEEDS_PAYMENT and enrolment.paid_at is None,
        "payments": enrolment.payments.order_by("paid_on", "pk"),
        "bank_facts": studio_bank_facts(),
        "refund_if_cancelled": fees.refund_if_cancelled(
            paid=enrolment.paid - enrolment.refunded, session=enrolment.session, today=today
        ),
        "refund_policy": fees.refund_policy(session=enrolment.session, today=today),
    }


def _current_letter(enrolment: Enrolment):
    if enrolment.status != Enrolment.Status.CONFIRMED:
        return None
    return enrolment.letters.order_by("-issued_at", "-pk").first()


def _can_change(enrolment: Enrolment) -> bool:
    return enrolment.is_active and enrolment.session.ends_at > timezone.now()


def _certificate_of(enrolment: Enrolment) -> Certificate | None:
    try:
        return enrolment.certificate
    except Certificate.DoesNotExist:
        return None


@private_page
@require_GET
def certificate(request: HttpRequest, token: str) -> HttpResponse:
    """The participant's certificate of attendance, from their private link."""
    issued = _certificate_of(_enrolment_for_token(token))
    if issued is None:
        raise Http404(_("No certificate of attendance has been issued for this enrolment."))
    response = HttpResponse(certificate_pdf(issued), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{issued.number}.pdf"'
    return response


@require_GET
def certificate_verify(request: HttpRequest, number: str) -> HttpResponse:
    """Whether a certificate is genuine: what it says, and nothing else about the person."""
    found = (
        Certificate.objects.select_related("enrolment__session__workshop")
        .filter(number=number.strip().upper())
        .first()
    )
    context = {"certificate": found, "number": number, "session": found.enrolment.session if found else None}
    response = render(request, "workshops/certificate_verify.html", context, status=200 if found else 404)
    response["X-Robots-Tag"] = "noindex, nofollow"  # a name is on it: found by its number, not by searching
    return response


def _checkin_qr(enrolment: Enrolment) -> str:
    """The QR code to show at the door, as inline SVG; none for a place that is not confirmed."""
    if enrolment.status != Enrolment.Status.CONFIRMED or not enrolment.checkin_code:
        return ""
    qr = segno.make(enrolment.checkin_code, error="m")
    # No width or height of its own (a viewBox instead), so the page's CSS sizes it for the phone.
    svg = qr.svg_inline(scale=6, omitsize=True, title=_("Check-in QR code"))
    return mark_safe(svg)  # noqa: S308 - segno's own SVG; the code is [A-Z0-9-]


@require_GET
def checkin_qr(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code of a check-in code as a PNG, for the HTML email (mail programs show no SVG).

    The code is not a credential (it only lets the desk check its holder in), and nothing is read
    from the database: a code of the right form is drawn, any other is a 404.
    """
    normalized = normalize_checkin_code(code)
    if normalized != code:
        raise Http404
    buffer = io.BytesIO()
    segno.make(normalized, error="m").save(buffer, kind="png", scale=8, border=2)
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@private_page
@require_GET
def manage(request: HttpRequest, token: str) -> HttpResponse:
    enrolment = _enrolment_for_token(token)
    session = enrolment.session
    can_change = _can_change(enrolment)
    # The newest letter, whatever became of the place: a cancelled page says one was issued.
    issued = enrolment.letters.order_by("-issued_at", "-pk").first() if enrolment.needs_visa_letter else None
    context = {
        "enrolment": enrolment,
        "session": session,
        "workshop": session.workshop,
        "position": selectors.waitlist_position(enrolment),
        "letter": issued
        if enrolment.status == Enrolment.Status.CONFIRMED and issued and issued.pdf
        else None,
        "issued_letter": issued,
        "can_cancel": can_change,
        "can_edit": can_change,
        "checkin_qr": _checkin_qr(enrolment) if can_change else "",
        "certificate": _certificate_of(enrolment),
        **_fee_context(enrolment),
    }
    return render(request, "workshops/manage.html", context)


@sensitive_post_parameters(*PASSPORT_FIELDS)
@private_page
@require_http_methods(["GET", "POST"])
def manage_edit(request: HttpRequest, token: str) -> HttpResponse:
    enrolment = _enrolment_for_token(token)
    if not _can_change(enrolment):
        messages.error(
            request,
            _("This enrolment is cancelled and can no longer be changed.")
            if not enrolment.is_active
            else _("This session has already taken place."),
        )
        return redirect(enrolment)
    letter_issued = enrolment.letters.exists()
    form = EnrolmentEditForm(request.POST or None, instance=enrolment, letter_issued=letter_issued)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.enrolment_update(enrolment=enrolment, **form.service_kwargs())
        except services.EnrolmentError as exc:
            form.add_error(exc.field, str(exc))
        else:
            if not changed:
                messages.info(request, _("Nothing was changed."))
            elif "letter_reissue_requested_at" in changed:
                messages.success(
                    request,
                    _(
                        "Your changes are saved. The visa officer will issue a new letter with your new "
                        "passport details, and we email you when it is ready."
                    ),
                )
            else:
                messages.success(request, _("Your changes are saved."))
            return redirect(enrolment)
    context = {
        "enrolment": enrolment,
        "session": enrolment.session,
        "workshop": enrolment.session.workshop,
        "form": form,
    }
    return render(request, "workshops/manage_edit.html", context, status=400 if form.is_bound else 200)


@private_page
@require_POST
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The participant takes the place offered to them from the waiting list."""
    enrolment = _enrolment_for_token(token)
    try:
        services.enrolment_offer_accept(enrolment=enrolment)
    except services.EnrolmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The place is yours: we have emailed you the details."))
    return redirect(enrolment)


@private_page
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    enrolment = _enrolment_for_token(token)
    if request.method == "POST":
        was_waiting = enrolment.status == Enrolment.Status.WAITLISTED
        was_offered = enrolment.status == Enrolment.Status.OFFERED
        try:
            services.enrolment_cancel(enrolment=enrolment)
        except services.EnrolmentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("You have left the waiting list.")
                if was_waiting
                else _("You have declined the place; it goes to the next person waiting.")
                if was_offered
                else _("Your enrolment is cancelled."),
            )
        return redirect(enrolment)
    if not enrolment.is_active:
        return redirect(enrolment)
    context = {"enrolment": enrolment, "session": enrolment.session, **_fee_context(enrolment)}
    return render(request, "workshops/cancel.html", context)


@private_page
@require_GET
def calendar(request: HttpRequest, token: str) -> HttpResponse:
    enrolment = _enrolment_for_token(token)
    if not enrolment.is_active:
        raise Http404(_("This enrolment is cancelled."))
    # The workshop's title and venue in the participant's language, as in their emails.
    with translation.override(enrolment.language):
        ics = enrolment_to_ics(enrolment)
    response = HttpResponse(ics, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="workshop.ics"'
    return response


@private_page
@require_GET
def letter(request: HttpRequest, token: str) -> FileResponse:
    current = _current_letter(_enrolment_for_token(token))
    if current is None:
        raise Http404(_("No invitation letter has been issued yet."))
    if not current.pdf:
        raise Http404(LETTER_DELETED)
    return FileResponse(
        current.pdf.open("rb"),
        as_attachment=True,
        filename=f"{current.number}.pdf",
        content_type="application/pdf",
    )
