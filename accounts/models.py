"""Tenancy: a customer owns projects, a project owns configs, API keys belong to a customer."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts import ids


class Customer(models.Model):
    # A UUID because Bodhi clients refuse an x-customer-id that is not one.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="customers")
    # Enterprise plans negotiate their own concurrency; null means "the plan's".
    concurrent_sessions_override = models.PositiveIntegerField(null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer",
        help_text="The login that may use the self-service dashboard.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # DRF's IsAuthenticated asks this of request.user, which is a Customer here.
    is_authenticated = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def concurrent_sessions_limit(self) -> int | None:
        if self.concurrent_sessions_override is not None:
            return self.concurrent_sessions_override
        return self.plan.concurrent_sessions


class Project(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.project_id, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


def default_analytics() -> dict:
    return {
        "emotion": True,
        "cognitive": True,
        "moments": True,
        "transitions": True,
        "summary": True,
        "segmentation": True,
    }


class Config(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.config_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="configs")
    name = models.CharField(max_length=200, default="default")
    # Used when a request names no config.
    is_default = models.BooleanField(default=False)
    asr_model = models.CharField(max_length=200, default="tiny.en")
    language = models.CharField(max_length=16, default="en")
    sample_rate = models.PositiveIntegerField(default=16000)
    endpoint_silence_ms = models.PositiveIntegerField(default=500)
    partial_results = models.BooleanField(default=True)
    analytics = models.JSONField(default=default_analytics, blank=True)
    voice = models.JSONField(default=dict, blank=True, help_text="Voice-interface settings.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(is_default=True),
                name="one_default_config_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self) -> "ApiKeyQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """An `oak_` key. Only a hash is stored; the secret is shown once, at creation."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    # The key's first characters, indexed, to find the row without scanning hashes.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    projects = models.ManyToManyField(
        Project,
        blank=True,
        related_name="api_keys",
        help_text="Leave empty to allow every project of the customer.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
