"""Fixtures for the Illocution-compatible analytics surface, over real HTTP."""

import pytest

from tests.analytics import media


def api(customer) -> dict[str, str]:
    return {"X-API-Key": customer.secret}


def upload(name: str, content: bytes, mime: str = "application/octet-stream") -> dict:
    return {"file": (name, content, mime)}


def analyze(http, customer, name: str, content: bytes, **request):
    """POST /analyze with `content` as the multipart `file`."""
    return http.post(
        "/analyze",
        headers={**api(customer), **request.pop("headers", {})},
        files=upload(name, content),
        timeout=90,
        **request,
    )


@pytest.fixture
def silence_wav(tmp_path) -> bytes:
    """Two seconds of digital silence, written with numpy and wave."""
    path = tmp_path / "silence.wav"
    path.write_bytes(media.silence(2.0))
    return path.read_bytes()


@pytest.fixture(scope="session")
def jfk_identical_stereo() -> bytes:
    """JFK on both channels of a WAV: a mono recording stored as stereo."""
    speech = media.decoded("jfk.ogg")
    return media.wav_bytes([speech, speech.copy()])
