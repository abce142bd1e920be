"""Plans and credits.

The unit is the **credit**: one credit pays for one second of audio processed at
the base rate (see billing.rates). Balances and ledger amounts are Decimals with
millisecond precision, so short chunks are billed exactly.
"""

from decimal import Decimal

from django.db import models

CREDIT_DECIMALS = 3
CREDIT_QUANTUM = Decimal("0.001")


def credit_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=16, decimal_places=CREDIT_DECIMALS, **kwargs)


class Plan(models.Model):
    """Limits per plan. Rows are seeded by a migration and tuned in the console."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    # Null means "negotiated per customer" (enterprise): see Customer.concurrent_sessions_override.
    concurrent_sessions = models.PositiveIntegerField(null=True, blank=True)
    max_session_minutes = models.PositiveIntegerField(default=60)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CreditAccount(models.Model):
    """The running balance. Only billing.services writes it, under a row lock."""

    customer = models.OneToOneField(
        "accounts.Customer",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="credit_account",
    )
    balance = credit_field(default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.customer}: {self.balance} credits"


class LedgerEntry(models.Model):
    """One movement of credits. Append-only: never updated, never deleted."""

    class Kind(models.TextChoices):
        GRANT = "grant"
        USAGE = "usage"
        REFUND = "refund"
        ADJUSTMENT = "adjustment"

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="ledger"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Signed: credits added are positive, usage is negative.
    amount = credit_field()
    balance_after = credit_field()
    idempotency_key = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    product = models.CharField(max_length=32, blank=True)
    # The session's public id, not a foreign key: retention may delete sessions,
    # the ledger must outlive them.
    session_ref = models.CharField(max_length=64, blank=True, db_index=True)
    audio_seconds = credit_field(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"], name="ledger_idempotency_per_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.customer_id})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger entries are append-only")
