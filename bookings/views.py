from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .forms import MemberAddForm, SignupForm
from .models import Crew, Equipment, StudioSet

SETS_PER_PAGE = 12


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("bookings:crew")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.crew_signup(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                company_name=data["company_name"],
                contact_phone=data["contact_phone"],
                country=data["country"],
                language=translation.get_language() or "en",
            )
        except services.AccountError as exc:
            form.add_error("email", str(exc))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your crew account for %s is ready.") % user.crew.name)
            return redirect("bookings:crew")
    return render(request, "registration/signup.html", {"form": form})


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
    members = crew.members.order_by("-crew_role", "first_name", "email")
    form = MemberAddForm() if request.user.is_crew_owner else None
    return render(request, "bookings/crew_detail.html", {"crew": crew, "members": members, "form": form})


@login_required
@require_POST
def crew_member_add(request: HttpRequest) -> HttpResponse:
    crew = _crew_for_member(request)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            member = services.crew_member_add(
                crew=crew,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                by=request.user,
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("%s was added. They will receive an email to choose a password.") % member.email
            )
            return redirect("bookings:crew")
    members = crew.members.order_by("-crew_role", "first_name", "email")
    return render(
        request, "bookings/crew_detail.html", {"crew": crew, "members": members, "form": form}, status=400
    )


def set_list(request: HttpRequest) -> HttpResponse:
    sets = StudioSet.objects.filter(is_active=True).order_by("name")
    page = Paginator(sets, SETS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "bookings/set_list.html", {"page": page})


def set_detail(request: HttpRequest, slug: str) -> HttpResponse:
    studio_set = get_object_or_404(StudioSet, slug=slug, is_active=True)
    return render(request, "bookings/set_detail.html", {"studio_set": studio_set})


def equipment_list(request: HttpRequest) -> HttpResponse:
    equipment = Equipment.objects.filter(is_active=True).order_by("category", "name")
    return render(request, "bookings/equipment_list.html", {"equipment": equipment})
