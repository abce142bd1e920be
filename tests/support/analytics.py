"""Requests to the Illocution-compatible analytics surface, as its clients make them."""

import httpx


def api(customer) -> dict[str, str]:
    return {"X-API-Key": customer.secret}


def upload(name: str, content: bytes, mime: str = "application/octet-stream") -> dict:
    return {"file": (name, content, mime)}


def analyze(http: httpx.Client, customer, name: str, content: bytes, **request) -> httpx.Response:
    """POST /analyze with `content` as the multipart `file`."""
    return http.post(
        "/analyze",
        headers={**api(customer), **request.pop("headers", {})},
        files=upload(name, content),
        timeout=90,
        **request,
    )
