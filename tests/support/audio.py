"""Audio for the tests: the shipped fixtures, what they say, and PCM/WAV made on the fly."""

import io
import re
import wave

import numpy as np

from tests.support import FIXTURES

RATE = 16000

LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."
JFK_LINE = "ask not what your country can do for you"
JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


def pcm16(samples: np.ndarray) -> bytes:
    """Little-endian 16-bit PCM from float samples in [-1, 1] (clipped), as clients send it."""
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_bytes(channels: list[np.ndarray], rate: int = RATE) -> bytes:
    """16-bit PCM WAV from one float array in [-1, 1] per channel."""
    samples = np.stack(channels, axis=1) if len(channels) > 1 else channels[0]
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16(samples))
    return out.getvalue()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def silence(seconds: float = 2.0) -> bytes:
    return wav_bytes([np.zeros(int(seconds * RATE), np.float32)])


def decoded(name: str) -> np.ndarray:
    """A fixture as 16 kHz mono float32."""
    from sessions_app.engine import decode_file

    return decode_file(FIXTURES / name).mono()


def padded(name: str, seconds: float) -> bytes:
    """A fixture's speech followed by silence, `seconds` long in all."""
    speech = decoded(name)
    return wav_bytes([np.concatenate([speech, np.zeros(int(seconds * RATE) - len(speech))])])


def normalised(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def words_of(text: str) -> list[str]:
    """The words of a transcript, lower case, with only letters, digits and apostrophes."""
    return ["".join(c for c in w.lower() if c.isalnum() or c == "'") for w in text.split()]
