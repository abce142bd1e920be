"""Fixtures for the Illocution-compatible analytics surface, over real HTTP."""

import pytest

from tests.support import audio


@pytest.fixture
def silence_wav(tmp_path) -> bytes:
    """Two seconds of digital silence, written with numpy and wave."""
    path = tmp_path / "silence.wav"
    path.write_bytes(audio.silence(2.0))
    return path.read_bytes()


@pytest.fixture(scope="session")
def jfk_identical_stereo() -> bytes:
    """JFK on both channels of a WAV: a mono recording stored as stereo."""
    speech = audio.decoded("jfk.ogg")
    return audio.wav_bytes([speech, speech.copy()])
