"""Running database work on another thread, as a second client would."""

import threading
from collections.abc import Callable

from django.db import connection


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list]:
    """Start `work` on its own thread (and so its own database connection); the list
    receives its result or the exception it raised once the thread ends."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome
