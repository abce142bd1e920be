"""A Bodhi recognition stream bound to a session: a streaming conversation without agents.

Surfaces feed it audio and render the events it returns in their own format. Each
final is charged before it is released and logged before it is sent (see
streaming_conversation); a final the balance cannot pay for is not delivered: the
stream ends with InsufficientCredits.
"""

import asyncio
from typing import Any

from channels.db import database_sync_to_async

from accounts.access import Access
from billing.products import Product
from sessions_app.engine import Event, StreamingOptions, StreamingTranscriber
from sessions_app.pipeline.streaming_conversation import Final, Produced, StreamingConversation
from sessions_app.services import sessions


class _BodhiLog:
    """What a Bodhi stream keeps: its complete segments (partials are sent, not kept)."""

    def partial(self, event: Event) -> Produced:
        return []

    def final(self, final: Final) -> Produced:
        return [("final", final.event.to_dict())]

    def analysis(self, final: Final) -> Produced:
        return []


class AsrStream:
    def __init__(self, conversation: StreamingConversation):
        self.conversation = conversation
        self.session = conversation.session

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
        return cls(
            StreamingConversation(session, transcriber, product=product, formatter=_BodhiLog())
        )

    @property
    def processed_audio(self) -> float:
        return self.conversation.processed_audio

    @property
    def segments_finalized(self) -> int:
        return self.conversation.segments_finalized

    async def feed(self, pcm: bytes) -> list[Event]:
        return (await self.conversation.feed(pcm)).events

    async def finish(self) -> list[Event]:
        return (await self.conversation.finish()).events

    async def close(self, status: str) -> None:
        self.conversation.close()
        await database_sync_to_async(sessions.end_session)(self.session, status)

    async def record_error(self, payload: dict[str, Any]) -> None:
        await self.conversation.log([("error", payload)])
