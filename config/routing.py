"""WebSocket routes. Each surface adds its consumers here."""

websocket_urlpatterns: list = []
