"""The studio's admin site: staff only, with a verified second factor, and nothing reachable by id alone.

``hengdian.apps.StudioAdminConfig`` makes this the default site, so every
``@admin.register`` (ours, auth's, django-otp's, axes') lands here.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext


def staff_needs_second_factor(user) -> bool:
    """A staff account that has given its password but not yet a code from its device."""
    return user.is_authenticated and user.is_active and user.is_staff and not user.is_verified()


def name_inputs(formfield: forms.Field, *, in_table: bool, language: str | None = None) -> None:
    """Give inputs a name that screen readers announce where Django's admin draws no <label> for
    them: the date and the time half of a date-and-time field, and every cell of a tabular
    inline (its column headings are not labels)."""
    widget = formfield.widget
    while isinstance(widget, RelatedFieldWidgetWrapper):
        widget = widget.widget
    label = capfirst(formfield.label or "")
    if isinstance(widget, forms.SplitDateTimeWidget):
        date, time = widget.widgets
        date.attrs.setdefault("aria-label", gettext("%(field)s (date)") % {"field": label})
        time.attrs.setdefault("aria-label", gettext("%(field)s (time)") % {"field": label})
    elif in_table and not isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
        if language:
            # A catalogue text's column per language (modeltranslation, labelled "Venue [es]") gets
            # a copy of the untranslated field's widget, name and all: name it after its column.
            widget.attrs["aria-label"] = label
        else:
            widget.attrs.setdefault("aria-label", label)


class NamedInputsMixin:
    """For ModelAdmins and inlines: every input the form draws has a name (``name_inputs``)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            name_inputs(
                formfield,
                in_table=isinstance(self, admin.TabularInline),
                language=getattr(db_field, "language", None),
            )
        return formfield


class StudioAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        # A password alone never opens the admin: the session must also have
        # been verified with the account's authenticator (django-otp).
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if staff_needs_second_factor(request.user):
            target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
            return redirect(f"{reverse('two_factor')}?{urlencode({REDIRECT_FIELD_NAME: target})}")
        return super().login(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        urls = super().get_urls()
        # Django's "view on site" redirect needs nothing but is_staff and follows
        # any object's get_absolute_url(), whatever the model. Ours checks that
        # the model's admin offers the link and that the user may view the model.
        return [
            path(
                "r/<path:content_type_id>/<path:object_id>/", self.admin_view(self.view_on_site), name=u.name
            )
            if getattr(u, "name", None) == "view_on_site"
            else u
            for u in urls
        ]

    def view_on_site(self, request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
        if not content_type_id.isdigit():
            raise Http404
        content_type = ContentType.objects.filter(pk=int(content_type_id)).first()
        model = content_type.model_class() if content_type else None
        model_admin = self._registry.get(model)
        if (
            model_admin is None
            or not model_admin.view_on_site
            or not model_admin.has_view_permission(request)
        ):
            raise Http404
        return shortcut(request, content_type_id, object_id)
