from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Crew, Equipment, StudioSet, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
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


class MemberInline(admin.TabularInline):
    model = User
    fields = ["email", "first_name", "crew_role", "is_active", "last_login"]
    readonly_fields = ["email", "first_name", "last_login"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Crew)
class CrewAdmin(admin.ModelAdmin):
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


@admin.register(StudioSet)
class StudioSetAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "daily_rate", "changeover_days", "vertical_ready", "is_active"]
    list_filter = ["category", "vertical_ready", "is_active"]
    search_fields = ["name", "description", "features"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Equipment)
class EquipmentAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "daily_rate", "stock", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
