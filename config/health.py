"""Liveness and readiness probes for load balancers and orchestrators."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

log = logging.getLogger("parlance.health")


async def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_channel_layer() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=2)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("channel layer returned a different message")


def _check_model() -> None:
    from sessions_app.engine import model_ready

    model_ready()


CHECKS = {
    "database": lambda: sync_to_async(_check_database)(),
    "channel_layer": _check_channel_layer,
    "model": lambda: sync_to_async(_check_model)(),
}


async def readyz(request):
    results: dict[str, str] = {}
    failed = []
    for name, check in CHECKS.items():
        try:
            await asyncio.wait_for(check(), timeout=30)
            results[name] = "ok"
        except Exception as exc:
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = f"failed: {exc}"
            failed.append(name)
    if failed:
        return JsonResponse(
            {
                "status": "unavailable",
                "detail": f"Not ready: {', '.join(failed)}",
                "checks": results,
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": results})
