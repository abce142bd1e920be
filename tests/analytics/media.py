"""Audio for the analytics tests: the shipped fixtures and WAVs made on the fly."""

import io
import re
import wave
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audio"
RATE = 16000

LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."
JFK_LINE = "ask not what your country can do for you"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def wav_bytes(channels: list[np.ndarray], rate: int = RATE) -> bytes:
    """16-bit PCM WAV from one float array in [-1, 1] per channel."""
    samples = np.stack(channels, axis=1) if len(channels) > 1 else channels[0]
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


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
