"""Helpers the tests share: servers, audio, protocol clients and the SSE reader.

Tests import helpers from here; conftest files hold only fixtures (which may use
these helpers). pytest imports conftest files itself, so importing one from a test
loads it a second time under another name, and a helper living there is easy to
shadow or to miss.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "audio"
