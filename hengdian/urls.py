from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from bookings import views as bookings_views

from . import views

admin.site.site_header = _("Hengdian Studio Booking — staff")
admin.site.site_title = _("Hengdian Studio Booking")
admin.site.index_title = _("Studio administration")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Django's language switch, which also offers to make the new language the email language.
    path("i18n/setlang/", bookings_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("accounts/", include("bookings.account_urls")),
    path("", include("bookings.urls")),
    path("", include("workshops.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
