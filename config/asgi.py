"""ASGI entry point: HTTP through Django, WebSockets through Channels.

No Origin check on WebSockets (Channels' AllowedHostsOriginValidator): they are
authenticated by API key or JWT, never by cookies, so a cross-site page cannot
ride on a user's session; customers' own web apps connect from their own origins,
and telephony and server clients send no Origin at all.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before consumers (and their models) are imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.websocket import CredentialMiddleware  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.upload_limits import UploadSizeLimit  # noqa: E402
from sessions_app.warmup import warm_up  # noqa: E402

warm_up()

application = ProtocolTypeRouter(
    {
        "http": UploadSizeLimit(django_asgi_app),
        "websocket": CredentialMiddleware(URLRouter(websocket_urlpatterns)),
    }
)
