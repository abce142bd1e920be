"""Debian's Chromium, headless, as the page tests drive it (never a downloaded browser)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Root in a sandboxed machine, no GPU, and a closed network: without the
# background-networking flags Chromium keeps trying hosts it cannot reach.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
