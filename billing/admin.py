"""Operator console: plans and the credit ledger (read-only: credits move through actions)."""

from django.contrib import admin

from billing.models import LedgerEntry, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "concurrent_sessions",
        "max_session_minutes",
        "requests_per_minute",
    )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Append-only. Grant credits from the customer list's "Grant credits" action."""

    list_display = (
        "created_at",
        "customer",
        "kind",
        "amount",
        "balance_after",
        "product",
        "session_ref",
        "reason",
    )
    list_filter = ("kind", "product")
    search_fields = ("customer__name", "session_ref", "idempotency_key", "reason")
    list_select_related = ("customer",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
