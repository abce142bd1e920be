"""The voice playground: a page that talks to /ws/voice/{connection_id} as NextEVI's
browser SDK does (JWT in the query, session settings at once, 2048-sample PCM16 frames
from a 24 kHz AudioContext, TTS through an AudioWorklet), until the dashboard has one.

The page is static apart from the fields it may be given in its query string
(``token``, ``config_id``, ``project_id``); everything else happens in the browser
(sessions_app/static/voice/). It never asks for an API key: a browser holds only a
short-lived JWT from ``POST /v1/auth/token``.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

# The page holds a bearer token, so: nothing but its own scripts may run (no inline
# script, no third-party origin), it may connect only to its own origin ('self' covers
# ws: and wss: on the same host in CSP 3), and it cannot be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
FIELDS = ("token", "config_id", "project_id")


@require_safe
def playground(request: HttpRequest) -> HttpResponse:
    response = render(
        request, "voice/playground.html", {name: request.GET.get(name, "") for name in FIELDS}
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # A token given in the query must not be kept by a cache or leak in a Referer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
