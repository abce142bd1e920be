"""Live capture: /analyze/live/start, /{id}/chunk, /{id}/events (SSE), /{id}/control."""

import asyncio
import json
import time

from channels.db import database_sync_to_async
from django.http import JsonResponse

from billing.products import Product
from kernel.errors import AccessDenied
from sessions_app.models import LiveCapture, Session
from sessions_app.pipeline import capture_placement
from sessions_app.services import captures, events
from sessions_app.services.leases import Lease
from sessions_app.surfaces.analytics import sse
from sessions_app.surfaces.analytics.responses import denied, detail, endpoint
from sessions_app.surfaces.http import authorize_request, tenant_sync

CONSUMER_LEASE_SECONDS = 15
WAKE_SECONDS = 1.0
ONE_CONSUMER = "Only one SSE consumer may be attached to a live session at a time"
TERMINAL = {"done", "error"}


class EmptyChunk(Exception):
    pass


def _iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _capture(request, session_id: str) -> LiveCapture:
    def find() -> LiveCapture:
        return captures.find(tenant_sync(request), session_id)

    return await database_sync_to_async(find)()


def _json_body(request) -> dict:
    if not request.body:
        return {}
    body = json.loads(request.body)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


@endpoint("POST", live=True)
async def start(request):
    try:
        access = await authorize_request(request, Product.ANALYTICS)
        body = _json_body(request)
    except AccessDenied as exc:
        return denied(exc)
    except ValueError as exc:
        return detail(400, f"JSON parse error - {exc}")
    try:
        ttl = int(body.get("ttl_seconds") or captures.DEFAULT_TTL)
    except (TypeError, ValueError):
        return detail(400, "ttl_seconds must be an integer")
    if not captures.MIN_TTL <= ttl <= captures.MAX_TTL:
        return detail(400, f"ttl_seconds must be between {captures.MIN_TTL} and {captures.MAX_TTL}")
    suffix = str(body.get("suffix") or "").strip()
    if not suffix and body.get("filename") and "." in str(body["filename"]):
        suffix = "." + str(body["filename"]).rsplit(".", 1)[-1]
    suffix = (suffix if suffix.startswith(".") else f".{suffix}") if suffix else ".mp4"
    capture = await database_sync_to_async(captures.start)(
        access, goal=str(body.get("goal") or ""), suffix=suffix.lower()[:16], ttl_seconds=ttl
    )
    base = f"/analyze/live/{capture.public_id}"
    return JsonResponse(
        {
            "session_id": capture.public_id,
            "conversation_id": capture.session.conversation_id,
            "chunk_endpoint": f"{base}/chunk",
            "events_endpoint": f"{base}/events",
            "control_endpoint": f"{base}/control",
            "next_chunk_seq": 0,
            "expires_at": _iso(capture.expires_at),
            "status": Session.Status.WAITING_MEDIA,
        }
    )


@endpoint("POST", live=True)
async def chunk(request, session_id: str):
    try:
        seq = int(request.POST.get("chunk_seq", ""))
    except ValueError:
        return detail(400, "chunk_seq must be an integer")
    upload = request.FILES.get("chunk")
    data = upload.read() if upload is not None else request.POST.get("chunk", "").encode()

    def receive() -> captures.ChunkReceipt:
        # One trip to the database thread: authorize, then find, sequence and store.
        customer = tenant_sync(request, Product.ANALYTICS)
        if not data:
            captures.find(customer, session_id)  # an unknown session is 404 before this 400
            raise EmptyChunk()
        return captures.accept_chunk(customer, session_id, seq, data)

    try:
        receipt = await database_sync_to_async(receive)()
    except EmptyChunk:
        return detail(400, "Empty chunk: send the audio bytes as multipart field 'chunk'")
    except AccessDenied as exc:
        return denied(exc)
    except captures.LiveConflict as exc:
        return detail(409, str(exc))
    if not receipt.duplicate:
        await capture_placement.chunk_arrived(session_id)
    return JsonResponse(
        {"received_bytes": receipt.received_bytes, "next_chunk_seq": receipt.next_chunk_seq}
    )


@endpoint("POST", live=True)
async def control(request, session_id: str):
    try:
        customer = await database_sync_to_async(tenant_sync)(request)
        await database_sync_to_async(captures.find)(customer, session_id)  # 404 before any 400
        body = _json_body(request)
        action = body.get("action")
        if action not in ("finalize", "cancel", "keepalive"):
            return detail(400, "action must be one of finalize, cancel, keepalive")
        capture = await database_sync_to_async(captures.control)(
            customer, session_id, action, str(body.get("reason") or "")
        )
    except AccessDenied as exc:
        return denied(exc)
    except ValueError as exc:
        return detail(400, f"JSON parse error - {exc}")
    except captures.LiveConflict as exc:
        return detail(409, str(exc))
    if action != "keepalive":
        await capture_placement.control_received(session_id)
    status = {"finalize": "finalizing", "cancel": "cancelled"}.get(action, capture.session.status)
    details = {
        "finalize": "Ingest stopped; final analysis follows on the events stream",
        "cancel": "Session cancelled",
        "keepalive": "Session extended",
    }
    return JsonResponse(
        {"status": status, "detail": details[action], "expires_at": _iso(capture.expires_at)}
    )


def _last_event_id(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


def _status(capture: LiveCapture) -> str:
    capture.session.refresh_from_db(fields=["status"])
    return capture.session.status


@endpoint(live=True)
async def events_stream(request, session_id: str):
    try:
        capture = await _capture(request, session_id)
    except AccessDenied as exc:
        return denied(exc)
    lease = Lease(f"live-sse:{session_id}", CONSUMER_LEASE_SECONDS)
    if not await asyncio.to_thread(lease.acquire):
        return detail(409, ONE_CONSUMER)
    seen = _last_event_id(request)

    async def frames():
        nonlocal seen
        try:
            async with capture_placement.new_events(session_id) as bell:
                await capture_placement.consumer_waiting(session_id)
                upkeep_due = time.monotonic() + WAKE_SECONDS
                while True:
                    batch = await database_sync_to_async(events.events_after)(capture.session, seen)
                    for event in batch:
                        seen = event.seq
                        if event.type in TERMINAL:
                            # The stream ends with this event: free the slot before sending it.
                            await asyncio.to_thread(lease.release)
                            yield sse.frame(event)
                            return
                        yield sse.frame(event)
                    if batch:
                        continue
                    if time.monotonic() >= upkeep_due:
                        upkeep_due = time.monotonic() + WAKE_SECONDS
                        if await database_sync_to_async(_status)(capture) not in captures.ENDED:
                            await capture_placement.consumer_waiting(session_id)
                        await asyncio.to_thread(lease.renew)
                    await bell.wait(WAKE_SECONDS)
        finally:
            # A client that went away cancels this generator; the slot must still be
            # freed, so the clean-up runs shielded from a second cancellation.
            await asyncio.shield(asyncio.to_thread(lease.release))

    return sse.event_stream(frames())
