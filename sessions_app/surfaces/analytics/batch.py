"""POST /analyze, /analyze/stream (and ?stream=true), /analyze/segment."""

import asyncio
import json
import logging
from pathlib import Path

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import JsonResponse

from billing import services as billing
from billing.products import Product
from kernel.errors import AccessDenied
from sessions_app import agents
from sessions_app.engine import AudioFormatError, get_scheduler, probe
from sessions_app.failures import REFUSALS, refusal_of
from sessions_app.models import Session
from sessions_app.pipeline.analysis_run import AnalysisError, AnalysisRun, failure_of
from sessions_app.services import sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.surfaces.analytics import sse
from sessions_app.surfaces.analytics.responses import denied, detail, endpoint
from sessions_app.surfaces.http import authorize_request

log = logging.getLogger("parlance.analysis")


def file_too_large() -> str:
    return f"File too large: the limit is {settings.MAX_FILE_SIZE_MB} MB (FILE_TOO_LARGE)"


def _suffix(name: str) -> str:
    suffix = Path(name or "").suffix.lower()
    return suffix if suffix and len(suffix) <= 8 and suffix[1:].isalnum() else ".bin"


@database_sync_to_async
def _start(access, upload, kind: str) -> tuple[Session, Path]:
    session = sessions.open_session(access, kind, metadata={"filename": upload.name})
    path = ArtifactStore(session.conversation_id).save_upload(upload.file, _suffix(upload.name))
    return session, path


async def _prepare(request, kind: str) -> AnalysisRun:
    """Everything that can be refused with an HTTP status, before any analysis starts."""
    config_id = request.GET.get("config_id") or request.POST.get("config_id")
    access = await authorize_request(request, Product.ANALYTICS, config_id=config_id)
    upload = request.FILES.get("file")
    if upload is None:
        raise AnalysisError(
            "INVALID_FILE", "Missing file: send the media as multipart field 'file'", 400
        )
    if upload.size == 0:
        raise AnalysisError("INVALID_FILE", "Invalid file format: the file is empty", 400)
    if upload.size > settings.MAX_FILE_SIZE_MB * 1024 * 1024:
        raise AnalysisError("FILE_TOO_LARGE", file_too_large(), 400)
    try:
        duration = probe(upload.file).duration or 0.0
    except AudioFormatError as exc:
        raise AnalysisError("INVALID_FILE", f"Invalid file format: {exc}", 400) from None
    billing.ensure_affordable(access.customer, Product.ANALYTICS, duration)
    get_scheduler().ensure_capacity()
    session, path = await _start(access, upload, kind)
    focus = (request.POST.get("context") or request.POST.get("goal") or "").strip()
    return AnalysisRun(session, path, focus=focus)


def _refusal(exc: Exception) -> JsonResponse:
    if isinstance(exc, AnalysisError):
        return detail(exc.status, exc.message)
    return denied(refusal_of(exc))


@endpoint("POST")
async def analyze(request):
    if request.GET.get("stream", "").lower() in ("1", "true", "yes"):
        return await analyze_stream(request)
    try:
        run = await _prepare(request, Session.Kind.ANALYSIS)
    except (AnalysisError, *REFUSALS) as exc:
        return _refusal(exc)
    try:
        async for _ in run.events():
            pass
    except Exception as exc:
        failure = failure_of(exc, run.session.conversation_id)
        await run.fail(failure.code, failure.message)
        return detail(failure.status, failure.message)
    return JsonResponse(run.response)


@endpoint("POST")
async def analyze_stream(request):
    try:
        run = await _prepare(request, Session.Kind.REPLAY)
    except (AnalysisError, *REFUSALS) as exc:
        return _refusal(exc)

    async def frames():
        try:
            async for event in run.events():
                yield sse.frame(event)
        except asyncio.CancelledError:
            # The client went away mid-replay: stop, and say so in the session.
            await asyncio.shield(run.fail("STREAM_FAILURE", "Client disconnected"))
            raise
        except Exception as exc:
            failure = failure_of(exc, run.session.conversation_id)
            try:
                yield sse.frame(await run.fail(failure.code, failure.message))
            except Exception:
                # Even the failure could not be recorded: still tell the client and end.
                log.exception("[%s] could not record the failure", run.session.conversation_id)
                yield sse.unnumbered("error", {"code": failure.code, "message": failure.message})

    return sse.event_stream(frames())


@endpoint("POST")
async def segment(request):
    """Re-segment a conversation from its timeline, without the media."""
    try:
        await authorize_request(request, None)
    except AccessDenied as exc:
        return denied(exc)
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        return detail(400, f"JSON parse error - {exc}")
    if not isinstance(body, dict):
        return detail(400, "Expected a JSON object with a timeline")
    try:
        segmentation = agents.segment(body.get("timeline") or [], str(body.get("context") or ""))
    except agents.EmptyTimelineError:
        return detail(400, "Missing timeline: send a non-empty timeline array")
    except agents.InvalidTimelineError as exc:
        return detail(400, f"Invalid timeline: {exc}")
    return JsonResponse({"segmentation": segmentation})
