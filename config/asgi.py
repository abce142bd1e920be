"""ASGI entry point: HTTP through Django, WebSockets through Channels.

No Origin check on WebSockets (Channels' AllowedHostsOriginValidator): they are
authenticated by API key or JWT, never by cookies, so a cross-site page cannot
ride on a user's session; customers' own web apps connect from their own origins,
and telephony and server clients send no Origin at all.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before consumers (and their models) are imported.
from config.request_threads import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from daphne.http_protocol import WebRequest  # noqa: E402
from daphne.ws_protocol import WebSocketProtocol  # noqa: E402

from accounts.websocket import CredentialMiddleware  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.upload_limits import UploadSizeLimit  # noqa: E402
from sessions_app.warmup import warm_up  # noqa: E402

warm_up()

# Under daphne, twisted parses every form body into request.args, which daphne never
# reads. That is an email-package parse of each upload (most of a chunk upload's HTTP
# parsing), and a malformed multipart body gets twisted's bare 400 before Django can
# answer in the surface's own format. Twisted sets the switch per request from a
# constructor argument daphne does not pass, so a class property overrides it.
WebRequest._parsePOSTFormSubmission = property(lambda self: False, lambda self, value: None)


# Daphne drops the reason of an application's `websocket.close`, and the NextEVI SDK
# shows the close reason to end users ("Connection closed: <reason>"): pass it on.
_handle_reply = WebSocketProtocol.handle_reply


def _close_with_reason(self, message):
    if (
        message.get("type") == "websocket.close"
        and message.get("reason")
        and self.state != self.STATE_CONNECTING
    ):
        self.sendClose(code=message.get("code") or 1000, reason=message["reason"])
        return
    _handle_reply(self, message)


WebSocketProtocol.handle_reply = _close_with_reason

application = ProtocolTypeRouter(
    {
        "http": UploadSizeLimit(django_asgi_app),
        "websocket": CredentialMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
