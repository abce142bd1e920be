"""API clients always get JSON errors: bad JSON, unknown paths, unexpected failures."""

import logging

import pytest
from django.urls import path
from rest_framework.views import APIView

from config.urls import urlpatterns as real_urlpatterns


class Explodes(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("kaboom")


urlpatterns = [*real_urlpatterns, path("explode", Explodes.as_view())]


@pytest.mark.integration
def test_invalid_json_is_400_not_500(http, customer_with_credits):
    response = http.post(
        "/v1/auth/token",
        headers={"X-API-Key": customer_with_credits.secret, "Content-Type": "application/json"},
        content=b'{"project_id": ',
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.integration
def test_unknown_api_path_is_a_json_404(http):
    response = http.get("/no/such/endpoint")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.urls(__name__)
def test_unexpected_exception_is_a_json_500_with_a_logged_request_id(client, caplog):
    with caplog.at_level(logging.ERROR, logger="parlance.errors"):
        response = client.get("/explode", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error (request id req-123)"}
    assert response["X-Request-ID"] == "req-123"
    record = next(r for r in caplog.records if r.name == "parlance.errors")
    assert record.request_id == "req-123" and "kaboom" in record.exc_text


@pytest.mark.integration
def test_healthz_is_alive(http):
    assert http.get("/healthz").json() == {"status": "ok"}


@pytest.mark.integration
def test_readyz_checks_database_channel_layer_and_model(http):
    response = http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok", "model": "ok"}
