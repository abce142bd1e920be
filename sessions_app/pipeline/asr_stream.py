"""A live recognition stream bound to a session: engine, event log and metering joined.

Surfaces feed it audio and render the events it returns in their own format. Each
final is charged before it is released (a final the balance cannot pay for is not
delivered: the stream ends with InsufficientCredits) and persisted before it is sent.
"""

import asyncio
from decimal import Decimal
from typing import Any

from channels.db import database_sync_to_async

from accounts.access import Access
from billing.products import Product
from billing.services import InsufficientCredits
from sessions_app.engine import Event, StreamingOptions, StreamingTranscriber
from sessions_app.models import Session
from sessions_app.services import sessions
from sessions_app.services.metering import Meter


class AsrStream:
    def __init__(self, session: Session, transcriber: StreamingTranscriber, product: Product):
        self.session = session
        self.transcriber = transcriber
        self.meter = Meter(session, product)
        self.segments_finalized = 0

    @classmethod
    async def open(
        cls,
        access: Access,
        *,
        kind: str,
        product: Product,
        options: StreamingOptions,
        metadata: dict[str, Any],
    ) -> "AsrStream":
        # Builds the transcriber first: an unknown model fails before a session exists.
        # The model loads once per process, off the event loop.
        transcriber = await asyncio.to_thread(StreamingTranscriber, options)
        session = await database_sync_to_async(sessions.open_session)(
            access, kind, metadata=metadata
        )
        return cls(session, transcriber, product)

    @property
    def processed_audio(self) -> float:
        return self.transcriber.processed_audio

    async def feed(self, pcm: bytes) -> list[Event]:
        return await self._settle(await self.transcriber.feed(pcm), marker="seg")

    async def finish(self) -> list[Event]:
        events = await self._settle(await self.transcriber.finish(), marker="seg")
        await database_sync_to_async(self.meter.charge_until)(self.processed_audio, marker="end")
        return events

    def poll(self) -> list[Event]:
        """Partials that became ready since the last feed (no finals: those come from feed)."""
        return [e for e in self.transcriber.poll() if not e.is_final]

    async def _settle(self, events: list[Event], *, marker: str) -> list[Event]:
        if not any(e.is_final for e in events):
            return events
        return await database_sync_to_async(self._settle_finals)(events, marker)

    def _settle_finals(self, events: list[Event], marker: str) -> list[Event]:
        settled: list[Event] = []
        for event in events:
            if event.is_final:
                try:
                    self.meter.charge_until(self.processed_audio, marker=f"{marker}{event.segment}")
                except InsufficientCredits as exhausted:
                    # What was paid for is still delivered before the stream ends.
                    exhausted.deliverable = settled
                    raise
                sessions.append_event(self.session, "final", event.to_dict())
                self.segments_finalized += 1
            settled.append(event)
        return settled

    async def close(self, status: str) -> None:
        self.transcriber.close()
        await database_sync_to_async(sessions.end_session)(self.session, status)

    async def record_error(self, payload: dict[str, Any]) -> None:
        await database_sync_to_async(sessions.append_event)(self.session, "error", payload)

    @property
    def billed_seconds(self) -> Decimal:
        return self.meter.billed
