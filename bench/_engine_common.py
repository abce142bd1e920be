"""Shared helpers for the engine benchmarks (not a benchmark itself)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The tests' PCM16 conversion, re-exported: benches and tests send the same bytes for
# the same audio (bench already reads the tests' fixtures).
from tests.support.audio import pcm16  # noqa: E402, F401

FIXTURES = ROOT / "tests" / "fixtures" / "audio"
WER_DIR = FIXTURES / "wer"
SHARED = Path("/work/shared/audio")

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def wer_set() -> list[tuple[Path, str]]:
    return [(p, p.with_suffix(".txt").read_text().strip()) for p in sorted(WER_DIR.glob("*.ogg"))]


def normalize(text: str) -> list[str]:
    words: list[str] = []
    for raw in re.sub(r"[^\w' ]+", " ", text.lower()).split():
        if raw.isdigit():  # "472" vs "four seven two": spell digits out
            words.extend(_DIGITS[int(c)] for c in raw)
        else:
            words.append(raw.strip("'"))
    return [w for w in words if w]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[-1]


def wer(pairs: list[tuple[str, str]]) -> float:
    errors = sum(edit_distance(normalize(r), normalize(h)) for r, h in pairs)
    return 100.0 * errors / max(1, sum(len(normalize(r)) for r, _ in pairs))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def conversation_audio() -> np.ndarray:
    """The WER recordings back to back (16 kHz mono): ~45 s of speech with pauses."""
    from sessions_app.engine import decode_file

    return np.concatenate([decode_file(p).mono() for p, _ in wer_set()])
