"""Users and crews in the admin: staff change names, language and access, never passwords or roles unless superuser."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from hengdian.admin import NamedInputsMixin

from ..models import (
    Crew,
    User,
)
from .base import BoundedDateHierarchyMixin

# Fields that grant or reveal access: only a superuser sees or changes them.
ACCESS_FIELDS = ("password", "is_staff", "is_superuser", "groups", "user_permissions")


class CrewMemberAdminForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "language", "is_active"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People who log in. Staff accounts and everything that grants access are the superuser's.

    Staff with the user permissions (the booking desk) see crew members only,
    and may correct names and language or switch an account off; they cannot
    change an address, a crew, a password or a permission, which would let
    them take over or escalate an account.
    """

    ordering = ["email"]
    list_per_page = 50
    show_full_result_count = False  # no count of every account on each filtered page
    list_display = ["email", "first_name", "crew", "crew_role", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "crew_role", "language"]
    search_fields = ["email", "first_name", "last_name", "crew__name"]
    list_select_related = ["crew"]
    autocomplete_fields = ["crew"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "language")}),
        (_("Crew"), {"fields": ("crew", "crew_role")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None and not request.user.is_superuser:
            # Not Django's UserChangeForm, whose password field links to setting a new one.
            kwargs["form"] = CrewMemberAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(is_staff=False, is_superuser=False)
        return queryset

    def get_fieldsets(self, request, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in ACCESS_FIELDS]})
            for name, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["last_login", "date_joined"]
        return ["email", "crew", "crew_role", "last_login", "date_joined"]

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else ["is_active", "crew_role", "language"]

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


class MemberInline(NamedInputsMixin, admin.TabularInline):
    model = User
    fields = ["email", "first_name", "crew_role", "is_active", "last_login"]
    readonly_fields = ["email", "first_name", "last_login"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Crew)
class CrewAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    view_on_site = False  # the crew page is the crew's own, not a public page
    list_display = ["name", "country", "contact_phone", "member_count", "created_at"]
    list_filter = ["country"]
    search_fields = ["name", "contact_phone", "members__email"]
    date_hierarchy = "created_at"
    inlines = [MemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj: Crew) -> int:
        return obj.member_count


# django-axes' lock-out lists have a date drill-down too, with the same overflow.
for _model in (AccessAttempt, AccessFailureLog, AccessLog):
    if admin.site.is_registered(_model):
        _admin_class = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(
            _model, type(_admin_class.__name__, (BoundedDateHierarchyMixin, _admin_class), {})
        )
