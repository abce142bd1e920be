from django.contrib import admin
from django.urls import path

from accounts.views import AccessCheckView, TokenView
from config import health
from sessions_app.surfaces.analytics import batch, capture
from sessions_app.surfaces.analytics.metrics import metrics
from sessions_app.surfaces.bodhi.rest import transcribe_file
from sessions_app.surfaces.voice.playground import playground

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("v1/auth/token", TokenView.as_view(), name="auth-token"),
    path("v1/access", AccessCheckView.as_view(), name="access-check"),
    path("analyze", batch.analyze, name="analyze"),
    path("analyze/stream", batch.analyze_stream, name="analyze-stream"),
    path("analyze/segment", batch.segment, name="analyze-segment"),
    path("analyze/live/start", capture.start, name="live-start"),
    path("analyze/live/<str:session_id>/chunk", capture.chunk, name="live-chunk"),
    path("analyze/live/<str:session_id>/events", capture.events_stream, name="live-events"),
    path("analyze/live/<str:session_id>/control", capture.control, name="live-control"),
    path("metrics", metrics, name="metrics"),
    path("api/transcribe", transcribe_file, name="bodhi-transcribe"),
    path("voice/playground/", playground, name="voice-playground"),
    path("admin/", admin.site.urls),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
