"""Bodhi-compatible streaming recognition over WebSocket, on "/" and /v1/asr/stream.

config -> PCM16 frames -> {"eof": 1}; partial/complete messages back, then a last
message with eos true, then the server closes. Errors are {"error", "message",
"code", "timestamp"} followed by a close with code 4000 + status (1011 for 500,
1013 for 503, where a retry may help).
"""

import asyncio
import json
import logging
import time
import uuid

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from billing.products import Product
from billing.services import InsufficientCredits
from kernel.errors import AccessDenied
from sessions_app.engine import (
    AudioFormatError,
    EngineOverloaded,
    Event,
    ModelNotAvailable,
    StreamingOptions,
    TranscribeOptions,
    get_scheduler,
)
from sessions_app.models import Session
from sessions_app.pipeline.asr_stream import AsrStream
from sessions_app.surfaces.bodhi import protocol
from sessions_app.surfaces.bodhi.numbers import spoken_numbers_to_digits
from sessions_app.surfaces.websocket import authorize_scope, refuse

log = logging.getLogger("parlance.bodhi")

RETRYABLE_CLOSE = {500: 1011, 503: 1013}


def close_code(status: int) -> int:
    return RETRYABLE_CLOSE.get(status, 4000 + status)


class BodhiStreamConsumer(AsyncWebsocketConsumer):
    # Nothing is sent to a stream through the channel layer: do not hold a Redis
    # blocking read open for every connection.
    channel_layer_alias = None

    async def connect(self) -> None:
        self.call_id = str(uuid.uuid4())
        self.stream: AsrStream | None = None
        self.config: protocol.StreamConfig | None = None
        self.ending = False
        self.watchdog: asyncio.Task | None = None
        try:
            self.access = await authorize_scope(self.scope, Product.ASR)
            get_scheduler().ensure_capacity()
        except AccessDenied as denied:
            status = denied.rendering.bodhi_code
            await refuse(
                self,
                status=status,
                body=protocol.error_body(status, denied.detail),
                close_code=close_code(status),
            )
            return
        except EngineOverloaded:
            await refuse(
                self,
                status=503,
                body=protocol.error_body(503, "Server overloaded, retry later"),
                close_code=1013,
            )
            return
        await self.accept()
        self.last_message_at = time.monotonic()
        self.watchdog = asyncio.create_task(self._close_when_idle())

    async def disconnect(self, code: int) -> None:
        if self.watchdog:
            self.watchdog.cancel()
        if self.stream is not None and not self.stream.session.ended_at:
            await self.stream.close(Session.Status.CANCELLED)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ending:
            return
        self.last_message_at = time.monotonic()
        try:
            if bytes_data is not None:
                await self._audio(bytes_data)
            else:
                await self._text(text_data or "")
        except protocol.BodhiError as error:
            await self._fail(error.code, error.message, error.error)
        except InsufficientCredits as exhausted:
            await self._send_events(exhausted.deliverable)
            await self._fail(
                402, "Insufficient balance: add credits to continue", "Insufficient balance"
            )
        except AccessDenied as denied:
            await self._fail(denied.rendering.bodhi_code, denied.detail)
        except ModelNotAvailable as error:
            await self._fail(400, str(error))
        except AudioFormatError as error:
            await self._fail(400, f"Unsupported audio: {error}")
        except EngineOverloaded:
            await self._fail(503, "Server overloaded, retry later")
        except Exception:
            log.exception("[%s] stream failed", self.call_id)
            await self._fail(500, "Internal server error")

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
        self.ending = True
        await self.stream.close(Session.Status.COMPLETED)
        await self.send(
            text_data=json.dumps(
                protocol.end_of_stream_message(
                    self.call_id, self.stream.segments_finalized, self.stream.processed_audio
                )
            )
        )
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

    async def _fail(self, status: int, message: str, error: str | None = None) -> None:
        if self.ending:
            return
        self.ending = True
        body = protocol.error_body(status, message, error)
        log.info("[%s] error %s: %s", self.call_id, status, message)
        if self.stream is not None:
            await self.stream.record_error(body)
            await self.stream.close(Session.Status.FAILED)
        await self.send(text_data=json.dumps(body))
        await self.close(code=close_code(status))

    async def _close_when_idle(self) -> None:
        timeout = settings.BODHI_IDLE_TIMEOUT_SECONDS
        while not self.ending:
            remaining = self.last_message_at + timeout - time.monotonic()
            if remaining <= 0:
                await self._fail(408, f"No message received for {timeout:g} s", "Idle timeout")
                return
            await asyncio.sleep(remaining)
