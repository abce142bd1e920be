"""Operator console: customers, projects, configs and API keys.

Changes take effect on the very next request: nothing about keys, customers or
configs is cached between requests.
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from accounts import services
from accounts.models import ApiKey, Config, Customer, Project
from billing import services as billing


class GrantCreditsForm(forms.Form):
    credits = forms.DecimalField(min_value=Decimal("0.001"), decimal_places=3, max_digits=16)
    reason = forms.CharField(max_length=500)


class ProjectInline(admin.TabularInline):
    model = Project
    fields = ("public_id", "name", "created_at")
    readonly_fields = ("public_id", "created_at")
    extra = 0
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "plan", "is_active", "balance", "created_at")
    list_filter = ("is_active", "plan")
    search_fields = ("name", "public_id")
    readonly_fields = ("public_id", "balance", "created_at")
    list_select_related = ("plan", "credit_account")
    inlines = [ProjectInline]
    actions = ["activate", "deactivate", "grant_credits"]

    @admin.display(description="Balance (credits)")
    def balance(self, customer: Customer):
        account = getattr(customer, "credit_account", None)
        return account.balance if account else Decimal("0")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            billing.ensure_account(obj)
            services.create_project(obj)

    @admin.action(description="Activate selected customers")
    def activate(self, request, queryset):
        for customer in queryset:
            services.set_active(customer, True)
        self.message_user(request, f"Activated {queryset.count()} customer(s).")

    @admin.action(description="Deactivate selected customers")
    def deactivate(self, request, queryset):
        for customer in queryset:
            services.set_active(customer, False)
        self.message_user(request, f"Deactivated {queryset.count()} customer(s).", messages.WARNING)

    @admin.action(description="Grant credits to selected customers")
    def grant_credits(self, request, queryset):
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            batch = uuid.uuid4()
            for customer in queryset:
                billing.grant(
                    customer,
                    form.cleaned_data["credits"],
                    reason=f"{form.cleaned_data['reason']} (by {request.user})",
                    idempotency_key=f"admin-grant-{batch}-{customer.pk}",
                )
            self.message_user(
                request,
                f"Granted {form.cleaned_data['credits']} credits to {queryset.count()} customer(s).",
            )
            return None
        return TemplateResponse(
            request,
            "admin/accounts/customer/grant_credits.html",
            {
                **self.admin_site.each_context(request),
                "title": "Grant credits",
                "form": form,
                "customers": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class ConfigInline(admin.StackedInline):
    model = Config
    extra = 0
    readonly_fields = ("public_id",)
    show_change_link = True


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "customer", "created_at")
    search_fields = ("name", "public_id", "customer__name")
    list_select_related = ("customer",)
    readonly_fields = ("public_id", "created_at")
    inlines = [ConfigInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and not obj.configs.filter(is_default=True).exists():
            Config.objects.create(project=obj, name="default", is_default=True)


@admin.register(Config)
class ConfigAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "public_id",
        "project",
        "is_default",
        "asr_model",
        "language",
        "updated_at",
    )
    list_filter = ("is_default", "asr_model")
    search_fields = ("name", "public_id", "project__name", "project__public_id")
    list_select_related = ("project",)
    readonly_fields = ("public_id", "created_at", "updated_at")


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("customer", "name", "projects", "expires_at")

    def clean(self):
        cleaned = super().clean()
        customer, projects = cleaned.get("customer"), cleaned.get("projects")
        if customer and projects and any(p.customer_id != customer.pk for p in projects):
            raise forms.ValidationError("A key can only be limited to its own customer's projects.")
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "prefix",
        "name",
        "customer",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "customer__name")
    list_select_related = ("customer",)
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    filter_horizontal = ("projects",)
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = services.create_api_key(
            form.cleaned_data["customer"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )
        # The admin sets the m2m (projects) on `obj` after save_model: hand it the real row.
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = (
            key.pk,
            key.prefix,
            key.key_hash,
            key.created_at,
        )
        obj._state.adding = False
        request._new_api_key_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        # The secret exists only in this response; it is never stored or put in a cookie.
        return TemplateResponse(
            request,
            "admin/accounts/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "title": "API key created",
                "key": obj,
                "secret": request._new_api_key_secret,
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            services.revoke_api_key(key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.WARNING)
