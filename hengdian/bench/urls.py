"""The app's URLs plus the floor: a view that does nothing, behind all of our middleware.

Its throughput is what Django, our middleware and gunicorn cost per request on this
machine; each page's ratio to it is the page's own cost, comparable across machines.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"floor", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("", include("hengdian.urls")),
]
