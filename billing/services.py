"""The billing service: the only code that moves credits.

Every movement is a LedgerEntry with an idempotency key unique per customer. The
balance changes in the same transaction, under a row lock on the CreditAccount,
so concurrent debits serialize and can never overspend. Replaying an idempotency
key returns the first result and moves nothing.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.db import IntegrityError, transaction

from billing.models import CREDIT_QUANTUM, CreditAccount, LedgerEntry
from billing.products import CREDITS_PER_AUDIO_SECOND, Product
from kernel.errors import AccessDenied, Denial


class InsufficientCredits(AccessDenied):
    def __init__(self, detail: str | None = None):
        super().__init__(Denial.INSUFFICIENT_CREDITS, detail)
        # Results already paid for when credits ran out mid-stream, for the surface
        # to deliver before it ends the stream.
        self.deliverable: list = []


@dataclass(frozen=True)
class Movement:
    entry: LedgerEntry
    balance: Decimal
    # True when the idempotency key had been used: nothing moved this time.
    replayed: bool


def _credits(value) -> Decimal:
    return Decimal(value).quantize(CREDIT_QUANTUM)


def balance(customer) -> Decimal:
    account = CreditAccount.objects.filter(customer=customer).only("balance").first()
    return account.balance if account else Decimal("0")


def ensure_account(customer) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(customer=customer)
    return account


def _post(
    customer,
    *,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    allow_negative: bool = False,
    **fields,
) -> Movement:
    amount = _credits(amount)
    ensure_account(customer)
    try:
        with transaction.atomic():
            account = CreditAccount.objects.select_for_update().get(customer=customer)
            previous = LedgerEntry.objects.filter(
                customer=customer, idempotency_key=idempotency_key
            ).first()
            if previous is not None:
                return Movement(entry=previous, balance=account.balance, replayed=True)
            new_balance = account.balance + amount
            if new_balance < 0 and not allow_negative:
                raise InsufficientCredits(
                    f"Insufficient credits: balance {account.balance}, needed {-amount}"
                )
            entry = LedgerEntry.objects.create(
                customer=customer,
                kind=kind,
                amount=amount,
                balance_after=new_balance,
                idempotency_key=idempotency_key,
                **fields,
            )
            account.balance = new_balance
            account.save(update_fields=["balance", "updated_at"])
            return Movement(entry=entry, balance=new_balance, replayed=False)
    except IntegrityError:
        # A twin with the same key committed between our check and insert (only
        # possible if the lock was bypassed); the first one wins.
        entry = LedgerEntry.objects.get(customer=customer, idempotency_key=idempotency_key)
        return Movement(entry=entry, balance=balance(customer), replayed=True)


def grant(customer, credits, *, reason: str, idempotency_key: str) -> Movement:
    if _credits(credits) <= 0:
        raise ValueError("a grant must be positive")
    return _post(
        customer,
        kind=LedgerEntry.Kind.GRANT,
        amount=credits,
        idempotency_key=idempotency_key,
        reason=reason,
    )


def adjust(customer, credits, *, reason: str, idempotency_key: str) -> Movement:
    """An operator's correction, either sign; it may not leave the balance negative."""
    return _post(
        customer,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=credits,
        idempotency_key=idempotency_key,
        reason=reason,
    )


def set_balance(customer, credits, *, reason: str, idempotency_key: str) -> Movement:
    """Bring the balance to `credits` with one adjustment entry."""
    target = _credits(credits)
    if target < 0:
        raise ValueError("a balance cannot be negative")
    with transaction.atomic():
        ensure_account(customer)
        current = CreditAccount.objects.select_for_update().get(customer=customer).balance
        return adjust(customer, target - current, reason=reason, idempotency_key=idempotency_key)


def refund(
    customer, credits, *, reason: str, idempotency_key: str, session_ref: str = ""
) -> Movement:
    if _credits(credits) <= 0:
        raise ValueError("a refund must be positive")
    return _post(
        customer,
        kind=LedgerEntry.Kind.REFUND,
        amount=credits,
        idempotency_key=idempotency_key,
        reason=reason,
        session_ref=session_ref,
    )


def cost(product: Product, audio_seconds) -> Decimal:
    """Credits for this much audio, rounded up to the ledger's precision."""
    seconds = Decimal(str(audio_seconds)).quantize(CREDIT_QUANTUM, ROUND_CEILING)
    return _credits(seconds * CREDITS_PER_AUDIO_SECOND[product])


def ensure_affordable(customer, product: Product, audio_seconds) -> None:
    """Refuse up front work the balance cannot pay for, rather than do it for free.

    Reads the balance loaded with the customer (fresh for each request).
    """
    needed = cost(product, audio_seconds)
    account = getattr(customer, "credit_account", None)
    if account is None or account.balance < needed:
        raise InsufficientCredits(
            f"Insufficient credits: {needed} needed for {audio_seconds:.1f} s of audio"
        )


def authorize(customer, product: Product) -> None:
    """May this customer start (or continue) using `product`? Raises InsufficientCredits."""
    account = getattr(customer, "credit_account", None)
    if account is None or account.balance <= 0:
        raise InsufficientCredits()


def charge(
    customer,
    *,
    product: Product,
    audio_seconds,
    idempotency_key: str,
    session_ref: str = "",
) -> Movement:
    """Bill processed audio. A retry with the same idempotency key is never billed twice.

    Refused with InsufficientCredits, moving nothing, when the balance does not cover it.
    """
    seconds = _credits(audio_seconds)
    if seconds < 0:
        raise ValueError("audio_seconds cannot be negative")
    cost = _credits(seconds * CREDITS_PER_AUDIO_SECOND[product])
    return _post(
        customer,
        kind=LedgerEntry.Kind.USAGE,
        amount=-cost,
        idempotency_key=idempotency_key,
        product=product.value,
        session_ref=session_ref,
        audio_seconds=seconds,
    )
