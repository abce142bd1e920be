"""The empathic voice interface (NextEVI-compatible) on /ws/voice/{connection_id}.

The person's audio goes into a streaming conversation (recognition, the agents'
emotion reading, the event log); each final is their turn, answered by the dialogue
package's `Call` (responder, speech, barge-in). This module only translates: client
messages in (surfaces.voice.protocol), the conversation's steps and the call's output
out, in the hybrid message shape the vendor's clients read. A call is billed by the
connected second (product voice), in small idempotent increments.
"""

import asyncio
import contextlib
import json
import logging
import time
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from accounts.access import Access
from accounts.websocket import scope_query
from billing import services as billing
from billing.products import CREDITS_PER_AUDIO_SECOND, Product
from billing.services import InsufficientCredits
from sessions_app.dialogue.call import Call
from sessions_app.dialogue.responders import Emotion, ResponderError, make_responder
from sessions_app.dialogue.speech import Synthesizer, VoiceNotAvailable
from sessions_app.engine import StreamingOptions, StreamingTranscriber, TranscribeOptions
from sessions_app.failures import Classified, classify
from sessions_app.models import Session
from sessions_app.pipeline.streaming_conversation import (
    Final,
    Produced,
    Step,
    StreamingConversation,
)
from sessions_app.services import events, sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.services.metering import Meter
from sessions_app.surfaces.voice import protocol
from sessions_app.surfaces.websocket import Refusal, StreamingConsumer

BILLING_SECONDS = 5.0  # how often connected time is charged
INVALID_CONFIG_CLOSE = 4000  # terminal: the config's voice settings are unusable


class _VoiceLog:
    """What a call keeps of the person's side: their turns and how they sounded."""

    def partial(self, event) -> Produced:
        return []

    def final(self, final: Final) -> Produced:
        u = final.utterance
        return [("user_turn", {"text": u.text, "t_start": u.t_start, "t_end": u.t_end})]

    def analysis(self, final: Final) -> Produced:
        return [("user_emotion", final.update.analysis.emotion_event())] if final.update else []


def _distribution(final: Final) -> dict[str, float]:
    if final.update is None:
        return {}
    return {k: float(v) for k, v in final.update.analysis.emotion.get("emotions", {}).items()}


class VoiceConsumer(StreamingConsumer):
    product = Product.VOICE
    log = logging.getLogger("parlance.voice")
    channel_layer_alias = None  # nothing reaches a call through the channel layer

    async def connect(self) -> None:
        self.connection_id = self.scope["url_route"]["kwargs"]["connection_id"]
        self.settings = protocol.CallSettings()
        self.conversation: StreamingConversation | None = None
        self.call: Call | None = None
        self.session: Session | None = None
        self.partial_text = ""
        self._ticker: asyncio.Task | None = None
        await super().connect()
        if not self.accepted:
            return
        config = self.access.config
        voice = config.voice or {}
        try:
            synthesizer = Synthesizer(voice.get("voice"))
            responder = make_responder(voice, settings.VOICE_LLM)
        except (VoiceNotAvailable, ResponderError) as exc:
            await self._end(
                protocol.ErrorReply(
                    protocol.error("INVALID_CONFIG", f"Voice settings: {exc}"),
                    INVALID_CONFIG_CLOSE,
                    "The voice configuration is not usable",
                )
            )
            return
        self.session = await database_sync_to_async(sessions.open_session)(
            self.access, Session.Kind.VOICE, metadata={"connection_id": self.connection_id}
        )
        self.meter = Meter(self.session, Product.VOICE)
        self.max_minutes = await database_sync_to_async(
            lambda: self.access.customer.plan.max_session_minutes
        )()
        self.connected_at = time.monotonic()
        self.call = Call(
            responder,
            synthesizer,
            self,
            system_prompt=str(voice.get("system_prompt") or ""),
            interrupt_threshold=self.settings.interrupt_threshold,
        )
        await self._send(
            protocol.connection_metadata(
                self.connection_id,
                project_id=self.access.project.public_id,
                config_id=config.public_id,
            )
        )
        self._ticker = asyncio.create_task(self._bill_and_watch_length())
        if greeting := str(voice.get("greeting") or "").strip():
            await self._send(protocol.system_message(greeting, "initial"))
            self.call.greet(greeting)

    async def admit(self) -> Access:
        protocol.required_config_id(scope_query(self.scope))
        return await super().admit()

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        self.ending = True
        if self._ticker:
            self._ticker.cancel()
        if self.call is not None:
            await self.call.close()
        if self.session is not None and not self.session.ended_at:
            # Out of credits as the caller hangs up: billed up to the balance, and the
            # session must still be closed and its transcript kept.
            with contextlib.suppress(InsufficientCredits):
                await self._charge_connected()
            await self._close_session(Session.Status.COMPLETED)

    # -- client messages ------------------------------------------------------------------
    def is_activity(self, text: str | None, data: bytes | None) -> bool:
        # The SDK streams its microphone continuously, silence included: audio frames
        # are not activity, speech is (see _on_step).
        return data is None

    async def received(self, text: str | None, data: bytes | None) -> None:
        if self.call is None:
            return
        try:
            if data is not None:
                await self._audio(protocol.pcm_frame(data))
                return
            message = protocol.parse_client_message(text or "")
        except protocol.VoiceError as exc:
            await self._send(protocol.error_of(exc))  # the call goes on
            return
        if isinstance(message, protocol.SessionSettings):
            await self._apply(message)
        elif isinstance(message, protocol.AudioInput):
            await self._audio(message.pcm, message.chunk_id)
        elif isinstance(message, protocol.TextInput):
            await self.call.typed(message.text)
        elif isinstance(message, protocol.Interrupt):
            await self.call.interrupt()
        # KeepAlive: receiving it was the point (the idle schedule started over).

    async def _apply(self, update: protocol.SessionSettings) -> None:
        try:
            changed = self.settings.updated(update)
            if self.conversation is not None and (
                changed.sample_rate != self.settings.sample_rate
                or changed.channels != self.settings.channels
            ):
                raise protocol.VoiceError(
                    protocol.AUDIO_FORMAT_UNSUPPORTED,
                    "The audio format cannot change once audio has started",
                    {"field": "audio"},
                )
        except protocol.VoiceError as exc:
            await self._send(protocol.error_of(exc))
            return
        self.settings = changed
        self.call.guard.threshold = changed.interrupt_threshold
        if self.conversation is not None:
            self.conversation.transcriber.set_trailing_silence(changed.silence_threshold)
        self.restart_idle_watch()

    async def _audio(self, pcm: bytes, chunk_id: str | None = None) -> None:
        mono = protocol.to_mono(pcm, self.settings.channels, chunk_id)
        if self.settings.half_duplex and self.call.speaking:
            return  # half duplex: the agent is not listening while it speaks
        if self.conversation is None:
            self.conversation = await self._open_conversation()
        await self._on_step(await self.conversation.feed(mono))

    async def _open_conversation(self) -> StreamingConversation:
        config = self.access.config
        options = StreamingOptions(
            sample_rate=self.settings.sample_rate,
            trailing_silence=self.settings.silence_threshold,
            transcribe=TranscribeOptions(model=config.asr_model, language=config.language),
        )
        transcriber = await asyncio.to_thread(StreamingTranscriber, options)
        return StreamingConversation(
            self.session,
            transcriber,
            product=Product.VOICE,
            formatter=_VoiceLog(),
            analyse=self.settings.emotion_detection,
            speech_starts=True,
            bill_audio=False,  # a call is billed by connected time
        )

    # -- what the conversation heard --------------------------------------------------------
    async def _on_step(self, step: Step) -> None:
        finals = {f.event.segment: f for f in step.finals}
        audio_time = self.conversation.processed_audio
        for event in step.events:
            if event.kind == "speech_start":
                self.note_activity()
                self.partial_text = ""
                self.call.speech_started(event.start)
            elif event.is_partial:
                self.partial_text = event.text
                await self._send(
                    protocol.interim_transcription(
                        event.text, confidence=event.confidence, session_id=self._session_id
                    )
                )
                await self.call.heard(audio_time=audio_time, text=event.text)
            elif event.segment in finals:
                await self._on_final(finals[event.segment], audio_time)
        if self.call.guard.judging:  # sustained speech over the reply, words or none yet
            await self.call.heard(audio_time=audio_time, text=self.partial_text)

    async def _on_final(self, final: Final, audio_time: float) -> None:
        event = final.event
        self.note_activity()
        self.partial_text = ""
        await self._send(
            protocol.final_transcription(
                event.text,
                confidence=event.confidence,
                words=event.words,
                session_id=self._session_id,
                processing_time=event.request_time,
            )
        )
        distribution = _distribution(final)
        if self.settings.emotion_detection and distribution:
            await self._send(protocol.emotion_update(distribution))
        await self._send(
            protocol.turn_complete(
                event.text,
                confidence=event.confidence,
                reasons=["silence"],
                processing_time=event.request_time,
            )
        )
        await self.call.final(
            event.text, Emotion.from_distribution(distribution), audio_time=audio_time
        )

    # -- what the call says (dialogue.call.CallOutput) ----------------------------------------
    async def reply_text(self, content: str, *, generation_id: str, index: int, final: bool):
        await self._send(
            protocol.llm_response_chunk(
                content, generation_id=generation_id, chunk_index=index, is_final=final
            )
        )
        if final and content:
            await self._log([("assistant_turn", {"text": content, "generation_id": generation_id})])

    async def reply_audio(self, pcm: bytes, *, chunk_id: str, is_last: bool) -> None:
        await self._send(protocol.tts_chunk(pcm, chunk_id=chunk_id, is_last=is_last))
        # Counted, never stored (the event log's STREAMED policy).
        await sync_to_async(events.emit_many, thread_sensitive=False)(
            self.session, [("tts_chunk", {"chunk_id": chunk_id, "bytes": len(pcm)})]
        )
        if is_last:
            self.note_activity()  # the agent spoke: the person's silence starts now

    async def interrupted(self) -> None:
        await self._send(protocol.tts_interruption())
        await self._send(protocol.user_interruption())
        heard = self.call.history[-1] if self.call.history else None
        await self._log([("assistant_interrupted", {"heard": getattr(heard, "text", "")})])

    async def reply_failed(self, message: str) -> None:
        await self._send(protocol.error("LLM_ERROR", f"The language model failed: {message}"))

    # -- the StreamingConsumer hooks ----------------------------------------------------------
    def render_refusal(self, refused: Classified) -> Refusal:
        reply = protocol.failure_reply(refused)
        return Refusal(
            None, reply.message, reply.close_code or 4000, reply.reason, protocol.CLOSE_DELAY
        )

    def ends_stream(self, failure: Classified) -> bool:
        return protocol.failure_reply(failure).close_code is not None

    async def render_failure(self, failure: Classified) -> None:
        reply = protocol.failure_reply(failure)
        if reply.close_code is None:
            await self._send(reply.message)  # the call goes on
            return
        await self._end(reply, latched=True)

    def idle_schedule(self) -> tuple[float, ...]:
        return self.settings.idle_schedule()

    async def on_idle(self, step: int, idle_for: float) -> None:
        await self._send(self.settings.idle_message(step))
        if step == len(self.settings.idle_schedule()) - 1 and self.start_ending():
            await self._hang_up(protocol.NORMAL_CLOSE, protocol.IDLE_HANGUP_REASON)

    # -- billing, length, the end ---------------------------------------------------------------
    async def _bill_and_watch_length(self) -> None:
        limit = self.max_minutes * 60
        while not self.ending:
            await asyncio.sleep(BILLING_SECONDS)
            try:
                await self._charge_connected()
            except InsufficientCredits as exc:
                await self._end(
                    protocol.failure_reply(classify(exc, self.log, "[%s]", self.connection_id))
                )
                return
            if time.monotonic() - self.connected_at >= limit:
                await self._end(protocol.session_expired(self.max_minutes))
                return

    async def _charge_connected(self) -> None:
        """Bill the connected time so far. When the balance cannot pay all of it, bill the
        seconds it still covers (the balance goes to zero, never below), then raise
        InsufficientCredits: the call used that time, so the credits it had pay for it."""
        seconds = time.monotonic() - self.connected_at
        settle = database_sync_to_async(events.settle)
        try:
            await settle(self.session, self.meter, seconds, "conn", [])
        except InsufficientCredits:
            covered = await database_sync_to_async(self._covered_seconds)()
            # Another call of the customer's may spend the rest first: then nothing more.
            with contextlib.suppress(InsufficientCredits):
                await settle(self.session, self.meter, min(Decimal(seconds), covered), "conn", [])
            raise

    def _covered_seconds(self) -> Decimal:
        """How far into the call the balance pays: what was billed plus what it buys."""
        left = billing.balance(self.access.customer)
        return self.meter.billed + left / CREDITS_PER_AUDIO_SECOND[Product.VOICE]

    async def _end(self, reply: protocol.ErrorReply, *, latched: bool = False) -> None:
        """Say why the call ends, then close CLOSE_DELAY later with the reason phrase."""
        if not latched and not self.start_ending():
            return
        await self._send(reply.message)
        await self._log([("error", reply.message.get("data", {}))])
        await asyncio.sleep(protocol.CLOSE_DELAY)
        await self._hang_up(reply.close_code, reply.reason, status=Session.Status.FAILED)

    async def _hang_up(self, code: int, reason: str, status: str = Session.Status.COMPLETED):
        if self._ticker and self._ticker is not asyncio.current_task():
            self._ticker.cancel()
        if self.call is not None:
            await self.call.close()
        if self.session is not None:
            await self._close_session(status)
        await self.close(code=code, reason=reason)

    async def _close_session(self, status: str) -> None:
        history = [
            {"role": "user" if type(t).__name__ == "UserTurn" else "assistant", **_turn(t)}
            for t in (self.call.history if self.call else [])
        ]
        await sync_to_async(ArtifactStore(self.session.conversation_id).write_json)(
            "transcript.json", history
        )
        await database_sync_to_async(sessions.end_session)(self.session, status)

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def _session_id(self) -> str:
        return self.session.conversation_id if self.session else self.connection_id

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))

    async def _log(self, produced: Produced) -> None:
        if self.session is not None:
            await database_sync_to_async(events.emit_many)(self.session, produced)


def _turn(turn) -> dict[str, Any]:
    out: dict[str, Any] = {"text": turn.text}
    if hasattr(turn, "interrupted"):
        out["interrupted"] = turn.interrupted
    if getattr(turn, "emotion", None) is not None:
        out["emotion"] = {
            "dominant": turn.emotion.dominant,
            "top": [{"label": s.label, "score": s.score} for s in turn.emotion.top],
        }
    return out
