from django.contrib import admin

from .models import Session, Workshop


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ["starts_at", "ends_at", "venue", "language", "capacity", "registration_closes_at", "status"]


@admin.register(Workshop)
class WorkshopAdmin(admin.ModelAdmin):
    list_display = ["title", "fee", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["title", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [SessionInline]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["workshop", "starts_at", "language", "capacity", "status"]
    list_filter = ["status", "language", "workshop"]
    list_select_related = ["workshop"]
    date_hierarchy = "starts_at"
