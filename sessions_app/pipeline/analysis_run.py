"""Analysing one uploaded recording: the work behind /analyze and /analyze/stream.

`AnalysisRun.events()` is an async generator of persisted SessionEvents in the
documented order (status → per utterance final_transcript, emotion, cognitive,
transition/moment → summary_update → status completed → done); the batch view
drains it and returns `run.response`, the replay view streams it as SSE.
Audio is billed as it is processed: up to each utterance's end, then the rest.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async

from billing.products import Product
from sessions_app.engine import NoUtterances, TranscribeOptions, transcribe_async
from sessions_app.failures import classify
from sessions_app.models import Session, SessionEvent
from sessions_app.pipeline.conversation import ConversationAnalysis
from sessions_app.pipeline.track import DecodedTrack
from sessions_app.services import events, sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.metering import Meter
from sessions_app.surfaces.analytics import event_shapes

log = logging.getLogger("parlance.analysis")


class AnalysisError(Exception):
    """Ends a run with an SSE error code (seed 000's codes) and an HTTP status."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


NO_UTTERANCES = "No utterances detected in uploaded media"


def artifact_paths(store: ArtifactStore, upload: Path) -> dict[str, str]:
    return {
        "artifact_dir": store.relative(),
        "upload_path": store.relative(upload.name),
        "agent_outputs_path": store.relative("agent_outputs.json"),
    }


class AnalysisRun:
    def __init__(self, session: Session, upload: Path, *, focus: str = ""):
        self.session = session
        self.upload = upload
        self.focus = focus
        self.store = ArtifactStore(session.conversation_id).ensure()
        self.meter = Meter(session, Product.ANALYTICS)
        self.response: dict[str, Any] | None = None

    async def _emit(self, name: str, payload: dict[str, Any]) -> SessionEvent:
        return await database_sync_to_async(events.emit)(self.session, name, payload)

    async def _settle(self, seconds: float, marker: str, produced) -> list[SessionEvent]:
        """One trip to the database per utterance: bill what it covers, then log its events."""
        return await database_sync_to_async(events.settle)(
            self.session, self.meter, seconds, marker, produced
        )

    async def events(self) -> AsyncIterator[SessionEvent]:
        conversation_id = self.session.conversation_id
        yield await self._emit("status", {"phase": "starting", "progress": 0.0})
        config = self.session.config
        track = await asyncio.to_thread(
            DecodedTrack.decode, self.upload, self.store.path("audio.f32")
        )
        yield await self._emit("status", {"phase": "processing", "progress": 0.05})
        options = TranscribeOptions(
            model=config.asr_model if config else None, language=config.language if config else None
        )
        try:
            utterances = await transcribe_async(self.upload, options)
        except NoUtterances:
            raise AnalysisError("NO_UTTERANCES", NO_UTTERANCES, 400) from None
        analysis = ConversationAnalysis(conversation_id, focus=self.focus, audio=track.slice)
        for index, utterance in enumerate(utterances):
            utterance_id, update = await asyncio.to_thread(analysis.add, utterance)
            progress = 0.1 + 0.85 * (index + 1) / len(utterances)
            produced = [
                event_shapes.final_transcript(utterance_id, utterance),
                *event_shapes.analysis(update),
                ("status", {"phase": "processing", "progress": round(progress, 3)}),
            ]
            for event in await self._settle(utterance.t_end, f"utt{index}", produced):
                yield event
        result = await asyncio.to_thread(analysis.finish)
        await self._settle(max(track.duration, utterances[-1].t_end), "end", [])
        self.response = {
            **result.to_dict(),
            **artifact_paths(self.store, self.upload),
            "context": self.focus,
        }
        await asyncio.to_thread(self.store.write_result, result, self.response)
        yield await self._emit("summary_update", result.summary)
        yield await self._emit("status", {"phase": "completed", "progress": 1.0})
        await database_sync_to_async(sessions.end_session)(self.session, Session.Status.COMPLETED)
        yield await self._emit("done", {"conversation_id": conversation_id})

    async def fail(self, code: str, message: str) -> SessionEvent:
        """Record the failure as the run's last event and end the session."""
        event = await self._emit("error", {"code": code, "message": message})
        await database_sync_to_async(sessions.end_session)(self.session, Session.Status.FAILED)
        return event


def failure_of(exc: BaseException, conversation_id: str) -> AnalysisError:
    """Map whatever ended a run to its error code and status; log the unexpected ones."""
    if isinstance(exc, AnalysisError):
        return exc
    said = classify(exc, log, "[%s] analysis failed", conversation_id).analytics_run
    return AnalysisError(said.code, said.message, said.status)
