"""WebSocket routes. Each surface adds its consumers here."""

from django.urls import path

from sessions_app.surfaces.bodhi.consumer import BodhiStreamConsumer
from sessions_app.surfaces.voice.consumer import VoiceConsumer

websocket_urlpatterns = [
    # Bodhi clients connect to the bare host.
    path("", BodhiStreamConsumer.as_asgi()),
    path("v1/asr/stream", BodhiStreamConsumer.as_asgi()),
    # NextEVI clients: any non-empty connection id.
    path("ws/voice/<str:connection_id>", VoiceConsumer.as_asgi()),
]
