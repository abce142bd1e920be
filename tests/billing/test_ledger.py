"""The credit ledger: append-only, idempotent, never below zero, safe under concurrency."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing import services as billing
from billing.models import LedgerEntry
from billing.products import Product


def charge(customer, seconds, key):
    return billing.charge(customer, product=Product.ASR, audio_seconds=seconds, idempotency_key=key)


def test_grant_and_charge_move_the_balance_and_append_entries(customer_with_credits):
    customer = customer_with_credits.customer
    movement = charge(customer, Decimal("12.345"), "chunk-1")
    assert movement.balance == Decimal("87.655")
    assert billing.balance(customer) == Decimal("87.655")
    entry = movement.entry
    assert (entry.kind, entry.amount, entry.balance_after) == (
        "usage",
        Decimal("-12.345"),
        Decimal("87.655"),
    )
    assert entry.product == "asr" and entry.audio_seconds == Decimal("12.345")


def test_repeated_idempotency_key_charges_once(customer_with_credits):
    customer = customer_with_credits.customer
    first = charge(customer, 10, "seg-7")
    again = charge(customer, 10, "seg-7")
    assert not first.replayed and again.replayed
    assert again.entry.pk == first.entry.pk
    assert billing.balance(customer) == Decimal("90")
    assert LedgerEntry.objects.filter(customer=customer, kind="usage").count() == 1


def test_same_idempotency_key_is_independent_per_customer(customer_with_credits, outsider):
    charge(customer_with_credits.customer, 1, "k")
    charge(outsider.customer, 1, "k")
    assert (
        billing.balance(customer_with_credits.customer)
        == billing.balance(outsider.customer)
        == Decimal("99")
    )


def test_debit_below_zero_is_refused_and_moves_nothing(customer_with_credits):
    customer = customer_with_credits.customer
    with pytest.raises(billing.InsufficientCredits):
        charge(customer, Decimal("100.001"), "too-much")
    assert billing.balance(customer) == Decimal("100")
    assert not LedgerEntry.objects.filter(idempotency_key="too-much").exists()


def test_set_balance_writes_one_adjustment(customer_with_credits):
    customer = customer_with_credits.customer
    billing.set_balance(customer, 0, reason="test", idempotency_key="zero")
    assert billing.balance(customer) == 0
    entry = LedgerEntry.objects.get(idempotency_key="zero")
    assert (entry.kind, entry.amount) == ("adjustment", Decimal("-100"))


def test_ledger_entries_cannot_be_changed_or_deleted(customer_with_credits):
    entry = LedgerEntry.objects.filter(customer=customer_with_credits.customer).first()
    entry.amount = Decimal("1000000")
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_authorize_refuses_a_zero_balance(customer_without_credits):
    customer = customer_without_credits.customer
    customer.refresh_from_db()
    with pytest.raises(billing.InsufficientCredits):
        billing.authorize(customer, Product.ANALYTICS)


def _in_threads(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_debits_never_overspend(customer_with_credits):
    """100 credits, 50 debits of 3 at once: exactly 33 succeed, the balance ends at 1."""
    customer = customer_with_credits.customer
    results = _in_threads(50, lambda i: charge(customer, 3, f"debit-{i}"))
    succeeded = [r for r in results if isinstance(r, billing.Movement)]
    refused = [r for r in results if isinstance(r, billing.InsufficientCredits)]
    assert len(succeeded) == 33 and len(refused) == 17, results
    assert billing.balance(customer) == Decimal("1")
    assert LedgerEntry.objects.filter(customer=customer, kind="usage").count() == 33
    assert sorted(e.balance_after for e in LedgerEntry.objects.filter(kind="usage")) == [
        Decimal(1 + 3 * n) for n in range(33)
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_idempotency_key_charge_once(customer_with_credits):
    customer = customer_with_credits.customer
    results = _in_threads(20, lambda i: charge(customer, 5, "the-same-chunk"))
    assert all(isinstance(r, billing.Movement) for r in results), results
    assert sum(not r.replayed for r in results) == 1
    assert billing.balance(customer) == Decimal("95")
