"""Charging a session for the audio it has processed, as it goes.

The surface reports how far into the audio processing has got; the meter charges
the stretch since the last charge. The idempotency key names the position, so a
retried report is never billed twice, and a refused charge moves nothing: when
credits run out the session ends, and nothing beyond what was covered is billed.
"""

from decimal import ROUND_HALF_UP, Decimal

from billing import services as billing
from billing.models import CREDIT_QUANTUM
from billing.products import Product
from sessions_app.models import Session


def _seconds(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CREDIT_QUANTUM, rounding=ROUND_HALF_UP)


class Meter:
    def __init__(self, session: Session, product: Product):
        self.session = session
        self.product = product
        self.billed = session.billed_seconds

    def charge_until(self, processed_seconds: float | Decimal, *, marker: str) -> None:
        """Bill audio up to `processed_seconds`. Raises billing.InsufficientCredits."""
        upto = _seconds(processed_seconds)
        delta = upto - self.billed
        if delta <= 0:
            return
        billing.charge(
            self.session.customer,
            product=self.product,
            audio_seconds=delta,
            idempotency_key=f"session:{self.session.pk}:{marker}:{upto}",
            session_ref=str(self.session.pk),
        )
        self.billed = upto
        Session.objects.filter(pk=self.session.pk).update(billed_seconds=upto, audio_seconds=upto)
