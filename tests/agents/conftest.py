"""Fixtures for the analytics agent tests: pure Python, no Django (run with -p no:django)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import agents_eval  # noqa: E402  (bench/agents_eval.py: the labelled-set loader)

from sessions_app.agents import Utterance, warm_up  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _lexicons_loaded() -> None:
    warm_up()


@pytest.fixture(scope="session")
def labelled() -> dict[str, dict[str, Any]]:
    """Labelled dialogues by id, each utterance carrying an `Utterance` with audio under `utt`."""
    return {d["id"]: d for d in agents_eval.load_labelled_set()}


@pytest.fixture
def make_utt():
    counter = {"n": 0}

    def _make(text: str, speaker: str = "Speaker_0", dur: float | None = None, **kw: Any):
        i = counter["n"]
        counter["n"] += 1
        start = kw.pop("t_start", 3.0 * i)
        d = dur if dur is not None else max(1.0, 0.3 * len(text.split()))
        return Utterance(f"test_utt_{i:04d}", speaker, start, start + d, text, **kw)

    return _make
