from django.contrib import admin

from sessions_app.models import Session


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Read-only: sessions are created by the API surfaces, never by hand."""

    list_display = (
        "id",
        "kind",
        "status",
        "customer",
        "project",
        "audio_seconds",
        "created_at",
        "ended_at",
    )
    list_filter = ("kind", "status")
    search_fields = ("id", "customer__name")
    list_select_related = ("customer", "project")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
