"""Load what every request shares before the server takes traffic.

The Whisper model and the agents' lexicons load once per process; done here, the
first caller does not pay for it inside the event loop. Only the server does this
(config/asgi.py), so management commands stay quick. A model that fails to load is
logged and reported by /readyz rather than keeping the server down.
"""

import logging

log = logging.getLogger("parlance.warmup")


def warm_up() -> None:
    from sessions_app import agents
    from sessions_app.engine import get_model

    try:
        get_model()
    except Exception:
        log.exception("the default Whisper model did not load; /readyz will say so")
    agents.warm_up()
