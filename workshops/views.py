from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Session, Workshop


def session_list(request: HttpRequest) -> HttpResponse:
    sessions = Session.objects.upcoming().select_related("workshop")
    return render(request, "workshops/session_list.html", {"sessions": sessions})


def workshop_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workshop = get_object_or_404(Workshop, slug=slug, is_published=True)
    sessions = workshop.sessions.exclude(status=Session.Status.CANCELLED).order_by("starts_at")
    return render(request, "workshops/workshop_detail.html", {"workshop": workshop, "sessions": sessions})
