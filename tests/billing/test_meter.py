"""Meter: a session charged for the audio it has processed, as it goes."""

from decimal import Decimal

import pytest

from billing import services as billing
from billing.models import LedgerEntry
from billing.products import Product
from sessions_app.models import Session
from sessions_app.services.metering import Meter


@pytest.fixture
def session(customer_with_credits) -> Session:
    """An ASR session of a customer holding 100 credits."""
    tenant = customer_with_credits
    return Session.objects.create(
        kind=Session.Kind.ASR_STREAM,
        customer=tenant.customer,
        project=tenant.project,
        config=tenant.config,
        api_key=tenant.api_key,
    )


def usage(session: Session) -> list[tuple[str, Decimal]]:
    """The session's usage entries, oldest first: (idempotency key, credits moved)."""
    entries = LedgerEntry.objects.filter(
        customer=session.customer, kind=LedgerEntry.Kind.USAGE
    ).order_by("pk")
    return [(e.idempotency_key, e.amount) for e in entries]


def seconds_of(session: Session) -> tuple[Decimal, Decimal]:
    row = Session.objects.get(pk=session.pk)
    return row.billed_seconds, row.audio_seconds


def test_charges_only_the_stretch_since_the_last_charge(session):
    meter = Meter(session, Product.ASR)
    meter.charge_until(2.5, marker="final-0")
    meter.charge_until(6, marker="final-1")
    assert usage(session) == [
        (f"session:{session.pk}:final-0:2.500", Decimal("-2.500")),
        (f"session:{session.pk}:final-1:6.000", Decimal("-3.500")),
    ]
    assert billing.balance(session.customer) == Decimal("94")
    assert meter.billed == Decimal("6")
    assert seconds_of(session) == (Decimal("6"), Decimal("6"))


def test_a_repeated_report_at_the_same_position_charges_nothing(session):
    meter = Meter(session, Product.ASR)
    meter.charge_until(4, marker="final-0")
    meter.charge_until(4, marker="final-1")
    meter.charge_until(Decimal("4.0001"), marker="final-2")  # the same credit quantum
    meter.charge_until(3, marker="final-3")  # behind what is billed: never moves back
    assert usage(session) == [(f"session:{session.pk}:final-0:4.000", Decimal("-4.000"))]
    assert billing.balance(session.customer) == Decimal("96")
    assert seconds_of(session) == (Decimal("4"), Decimal("4"))


def test_a_retried_charge_with_the_same_marker_and_position_is_billed_once(session):
    # Two meters that both saw nothing billed yet (a retried request, a second worker)
    # report the same stretch: the idempotency key makes the second a replay.
    first, retry = Meter(session, Product.ASR), Meter(session, Product.ASR)
    first.charge_until(5, marker="final-0")
    retry.charge_until(5, marker="final-0")
    assert usage(session) == [(f"session:{session.pk}:final-0:5.000", Decimal("-5.000"))]
    assert billing.balance(session.customer) == Decimal("95")
    assert retry.billed == Decimal("5")
    assert seconds_of(session) == (Decimal("5"), Decimal("5"))


def test_a_fresh_meter_after_a_restart_does_not_bill_again(session):
    Meter(session, Product.ASR).charge_until(5, marker="final-0")

    restarted = Meter(Session.objects.get(pk=session.pk), Product.ASR)
    restarted.charge_until(5, marker="final-0")
    assert restarted.billed == Decimal("5")
    restarted.charge_until(7, marker="final-1")
    assert usage(session) == [
        (f"session:{session.pk}:final-0:5.000", Decimal("-5.000")),
        (f"session:{session.pk}:final-1:7.000", Decimal("-2.000")),
    ]
    assert billing.balance(session.customer) == Decimal("93")


def test_a_fresh_meter_after_a_crash_before_the_session_was_updated_does_not_bill_again(
    session,
):
    Meter(session, Product.ASR).charge_until(5, marker="final-0")
    # The process died after the ledger entry committed, before the session's row
    # said so: the restarted meter believes nothing was billed.
    Session.objects.filter(pk=session.pk).update(billed_seconds=0, audio_seconds=0)

    restarted = Meter(Session.objects.get(pk=session.pk), Product.ASR)
    assert restarted.billed == 0
    restarted.charge_until(5, marker="final-0")
    assert usage(session) == [(f"session:{session.pk}:final-0:5.000", Decimal("-5.000"))]
    assert billing.balance(session.customer) == Decimal("95")
    assert seconds_of(session) == (Decimal("5"), Decimal("5"))


def test_a_refused_charge_moves_nothing_and_leaves_billed_where_it_was(session):
    meter = Meter(session, Product.ASR)
    meter.charge_until(10, marker="final-0")
    with pytest.raises(billing.InsufficientCredits):
        meter.charge_until(500, marker="final-1")
    assert meter.billed == Decimal("10")
    assert usage(session) == [(f"session:{session.pk}:final-0:10.000", Decimal("-10.000"))]
    assert billing.balance(session.customer) == Decimal("90")
    assert seconds_of(session) == (Decimal("10"), Decimal("10"))

    # What the balance covers is still charged from where billing stopped.
    meter.charge_until(30, marker="final-2")
    assert usage(session)[-1] == (f"session:{session.pk}:final-2:30.000", Decimal("-20.000"))
    assert seconds_of(session) == (Decimal("30"), Decimal("30"))
