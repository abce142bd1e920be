"""Bodhi-compatible file transcription: POST /api/transcribe (multipart).

{text, call_id, status} (+ aux_info) on success; {"error", "message", "code",
"timestamp"} with the matching HTTP status otherwise.
"""

import logging
import time
import uuid

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing import services as billing
from billing.products import Product
from sessions_app.engine import (
    NoUtterances,
    TranscribeOptions,
    get_scheduler,
    probe,
    resolve_model,
    transcribe_async,
)
from sessions_app.failures import classify
from sessions_app.models import Session
from sessions_app.services import events, sessions
from sessions_app.services.metering import Meter
from sessions_app.surfaces.bodhi import protocol
from sessions_app.surfaces.bodhi.numbers import spoken_numbers_to_digits
from sessions_app.surfaces.http import authorize_request

log = logging.getLogger("parlance.bodhi")


def _error(code: int, message: str, error: str | None = None) -> JsonResponse:
    return JsonResponse(protocol.error_body(code, message, error), status=code)


def _options(form) -> TranscribeOptions:
    return TranscribeOptions(
        model=protocol.parse_model(form.get("model")),
        hotwords=protocol.parse_hotwords(form.get("hotwords")),
    )


@database_sync_to_async
def _open_session(access, form, call_id: str) -> Session:
    return sessions.open_session(
        access,
        Session.Kind.ASR_BATCH,
        metadata={
            "call_id": call_id,
            "transaction_id": form["transaction_id"],
            "model": form["model"],
        },
    )


@database_sync_to_async
def _settle(session: Session, seconds: float, text: str) -> None:
    transcript = {"text": text, "audio_seconds": round(seconds, 3)}
    events.settle(
        session, Meter(session, Product.ASR), seconds, "file", [("transcript", transcript)]
    )
    sessions.end_session(session, Session.Status.COMPLETED)


@csrf_exempt
async def transcribe_file(request):
    received_at = time.time()
    if request.method != "POST":
        return _error(405, "Use POST with multipart/form-data", "Method not allowed")
    try:
        access = await authorize_request(request, Product.ASR)
        upload = request.FILES.get("audio_file")
        if upload is None or upload.size == 0:
            raise protocol.BodhiError(400, "audio_file is required (multipart/form-data)")
        if upload.size > settings.MAX_FILE_SIZE_MB * 1024 * 1024:
            raise protocol.BodhiError(
                400, f"audio_file exceeds {settings.MAX_FILE_SIZE_MB} MB", "File too large"
            )
        form = {
            "transaction_id": protocol.parse_transaction_id(request.POST.get("transaction_id")),
            "model": request.POST.get("model"),
        }
        options = _options(request.POST)
        resolve_model(options.model)
        duration = probe(upload.file).duration or 0.0
        upload.file.seek(0)
        billing.ensure_affordable(access.customer, Product.ASR, duration)
        get_scheduler().ensure_capacity()
        call_id = str(uuid.uuid4())
        session = await _open_session(access, form, call_id)
        try:
            utterances = await transcribe_async(upload.file, options)
        except NoUtterances:
            utterances = []
        text = " ".join(u.text.strip() for u in utterances if u.text.strip())
        if protocol.as_bool(request.POST.get("parse_number")):
            text = spoken_numbers_to_digits(
                text, protocol.stream_language(options.model, access.config.language)
            )
        seconds = duration or max((u.t_end for u in utterances), default=0.0)
        await _settle(session, seconds, text)
    except protocol.BodhiError as error:
        return _error(error.code, error.message, error.error)
    except Exception as exc:
        said = classify(exc, log, "transcription failed").bodhi_request
        return _error(said.status, said.message, said.error)
    body = {"text": text, "call_id": call_id, "status": "success"}
    if protocol.as_bool(request.POST.get("aux")):
        body["aux_info"] = {
            "request_time": round(time.time() - received_at, 3),
            "received_request_time": received_at,
        }
    return JsonResponse(body)
