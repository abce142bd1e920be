"""What a customer can be billed for, and at what rate."""

from decimal import Decimal
from enum import StrEnum


class Product(StrEnum):
    ANALYTICS = "analytics"
    ASR = "asr"
    VOICE = "voice"


# Credits per second of processed audio. The credit is defined as one second of
# audio at the base rate, so every product costs 1 today; a product that costs
# more (say, voice with synthesis) changes its rate here, not the unit.
CREDITS_PER_AUDIO_SECOND: dict[Product, Decimal] = {
    Product.ANALYTICS: Decimal("1"),
    Product.ASR: Decimal("1"),
    Product.VOICE: Decimal("1"),
}
