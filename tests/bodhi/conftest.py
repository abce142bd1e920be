"""Fixtures for the Bodhi-compatible surface (the client is tests.support.bodhi)."""

import pytest

from tests.support import FIXTURES
from tests.support.audio import pcm16


@pytest.fixture(scope="session")
def jfk_8k_pcm() -> bytes:
    """The same speech at 8 kHz with no trailing silence (telephony clients)."""
    from sessions_app.engine import decode_file

    samples = decode_file(FIXTURES / "jfk.ogg").mono()
    return pcm16(samples[::2])
