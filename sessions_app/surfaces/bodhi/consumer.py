"""Bodhi-compatible streaming recognition over WebSocket, on "/" and /v1/asr/stream.

config -> PCM16 frames -> {"eof": 1}; partial/complete messages back, then a last
message with eos true, then the server closes. Errors are {"error", "message",
"code", "timestamp"} followed by a close with code 4000 + status (1011 for 500,
1013 for 503, where a retry may help).
"""

import json
import logging

from django.conf import settings

from billing.products import Product
from billing.services import InsufficientCredits
from sessions_app.engine import Event, StreamingOptions, TranscribeOptions
from sessions_app.failures import Classified
from sessions_app.models import Session
from sessions_app.pipeline.asr_stream import AsrStream
from sessions_app.surfaces.bodhi import protocol
from sessions_app.surfaces.bodhi.numbers import spoken_numbers_to_digits
from sessions_app.surfaces.websocket import Refusal, StreamingConsumer

RETRYABLE_CLOSE = {500: 1011, 503: 1013}


def close_code(status: int) -> int:
    return RETRYABLE_CLOSE.get(status, 4000 + status)


class BodhiStreamConsumer(StreamingConsumer):
    product = Product.ASR
    log = logging.getLogger("parlance.bodhi")
    # Nothing is sent to a stream through the channel layer: do not hold a Redis
    # blocking read open for every connection.
    channel_layer_alias = None

    async def connect(self) -> None:
        self.stream: AsrStream | None = None
        self.config: protocol.StreamConfig | None = None
        await super().connect()

    @property
    def call_id(self) -> str:
        return self.stream_id

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.stream is not None and not self.stream.session.ended_at:
            await self.stream.close(Session.Status.CANCELLED)

    async def received(self, text: str | None, data: bytes | None) -> None:
        try:
            if data is not None:
                await self._audio(data)
            else:
                await self._text(text or "")
        except protocol.BodhiError as error:
            if self.start_ending():
                await self._error(error.code, error.message, error.error)
        except InsufficientCredits as exhausted:
            # What was paid for is delivered before the stream ends.
            await self._send_events(exhausted.deliverable)
            raise

    def render_refusal(self, refused: Classified) -> Refusal:
        said = refused.bodhi_request
        body = protocol.error_body(said.status, said.message, said.error)
        return Refusal(said.status, body, close_code(said.status))

    async def render_failure(self, failure: Classified) -> None:
        said = failure.bodhi_stream
        await self._error(said.status, said.message, said.error)

    def idle_schedule(self) -> tuple[float, ...]:
        return (settings.BODHI_IDLE_TIMEOUT_SECONDS,)

    async def on_idle(self, step: int, idle_for: float) -> None:
        if self.start_ending():
            await self._error(408, f"No message received for {idle_for:g} s", "Idle timeout")

    async def _text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            raise protocol.BodhiError(400, "Malformed JSON in text message") from None
        if isinstance(message, dict) and "config" in message:
            if self.stream is not None:
                raise protocol.BodhiError(400, "A config was already received on this connection")
            await self._configure(protocol.parse_stream_config(message))
        elif protocol.is_eof(message):
            if self.stream is None:
                raise protocol.BodhiError(400, 'eof received before {"config": {...}}')
            await self._finish()
        elif self.stream is None:
            raise protocol.BodhiError(400, 'The first message must be {"config": {...}}')
        # Other text messages after the config are ignored: newer clients add kinds.

    async def _configure(self, config: protocol.StreamConfig) -> None:
        stored = self.access.config
        silence = config.endpoint_silence or min(
            protocol.MAX_ENDPOINT_SILENCE,
            max(protocol.MIN_ENDPOINT_SILENCE, stored.endpoint_silence_ms / 1000),
        )
        options = StreamingOptions(
            sample_rate=config.sample_rate,
            trailing_silence=silence,
            partials=not config.exclude_partial,
            transcribe=TranscribeOptions(model=config.model, hotwords=config.hotwords),
        )
        self.language = protocol.stream_language(config.model, stored.language)
        self.stream = await AsrStream.open(
            self.access,
            kind=Session.Kind.ASR_STREAM,
            product=Product.ASR,
            options=options,
            metadata={
                "call_id": self.call_id,
                "transaction_id": config.transaction_id,
                "model": config.model,
                "sample_rate": config.sample_rate,
            },
        )
        self.config = config

    async def _audio(self, data: bytes) -> None:
        if self.stream is None:
            raise protocol.BodhiError(400, 'Audio received before {"config": {...}}')
        await self._send_events(await self.stream.feed(data))

    async def _finish(self) -> None:
        await self._send_events(await self.stream.finish())
        if not self.start_ending():
            return
        await self.stream.close(Session.Status.COMPLETED)
        eos = protocol.end_of_stream_message(
            self.call_id,
            self.stream.segments_finalized,
            self.stream.processed_audio,
            partials=not self.config.exclude_partial,
        )
        await self.send(text_data=json.dumps(eos))
        await self.close(code=1000)

    async def _send_events(self, events: list[Event]) -> None:
        for event in events:
            text = event.text
            if self.config.parse_number:
                text = spoken_numbers_to_digits(text, self.language)
            aux = None
            if self.config.aux:
                processed = self.stream.processed_audio
                aux = {
                    "request_time": round(event.request_time, 3),
                    "eot_wait_time": round(max(0.0, processed - event.end), 3)
                    if event.is_final
                    else 0.0,
                    "processed_audio_duration": round(processed, 3),
                }
            message = protocol.transcript_message(
                self.call_id,
                event,
                text,
                language_code=self.language if self.config.at_start_lid else None,
                aux_info=aux,
            )
            await self.send(text_data=json.dumps(message))

    async def _error(self, status: int, message: str, error: str | None = None) -> None:
        """The last message of a failed stream; the caller holds the ending latch."""
        body = protocol.error_body(status, message, error)
        self.log.info("[%s] error %s: %s", self.call_id, status, message)
        if self.stream is not None:
            await self.stream.record_error(body)
            await self.stream.close(Session.Status.FAILED)
        await self.send(text_data=json.dumps(body))
        await self.close(code=close_code(status))
