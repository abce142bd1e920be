"""The NextEVI voice wire format: client messages in, server messages out, and how an
error or the end of a call is said.

See ../shared/reference/nextevi.md (§13, what the real clients do, corrects §1-§9).
Pure functions and dataclasses, no I/O: the consumer owns the socket and the clock of
the conversation.

Client messages come in two shapes, flat (the React SDK and the LiveKit plugin) and
wrapped in `data` (the docs); both are read. Server messages go out in the hybrid
shape of the reference's §2.3: `type`, `timestamp` (seconds), `message_id`, the fields
at the top level (where the SDK reads them) and the same fields under `data` (where
the docs put them). Text frames only: the LiveKit client's receive loop dies on a
binary frame.
"""

import base64
import binascii
import json
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kernel.errors import FAILURES, AccessDenied, Denial, voice_of
from sessions_app.engine import Word

if TYPE_CHECKING:
    from sessions_app.failures import Classified

# -- the audio contract -----------------------------------------------------------------
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000
DEFAULT_SAMPLE_RATE = 24000
ENCODINGS = frozenset({"linear16", "pcm"})  # both name 16-bit little-endian PCM
CHANNELS = (1, 2)
# What the server speaks: headerless PCM16 LE mono at 24 kHz (the SDK's AudioWorklet rate).
TTS_SAMPLE_RATE = 24000
TTS_FORMAT = {
    "audio_format": "pcm_24khz_16bit_mono",
    "encoding": "linear16",
    "sample_rate": TTS_SAMPLE_RATE,
    "channels": 1,
}
MAX_AUDIO_BYTES = 1024 * 1024  # seed 003: "Maximum chunk size: 1 MB"
# A text frame longer than the base64 of the largest chunk plus room for the envelope is
# refused before it is parsed: audio_input is the only message that can be large.
MAX_TEXT_CHARS = 4 * math.ceil(MAX_AUDIO_BYTES / 3) + 64 * 1024

# -- turn detection and idle defaults (the issue's) ---------------------------------------
# The engine's endpointing range (StreamingOptions clamps trailing_silence to it).
MIN_SILENCE, MAX_SILENCE = 0.2, 2.0
DEFAULT_SILENCE = 0.6
# Speech shorter than 0.2 s is a click or a cough; longer than 3 s the reply has gone on
# talking over the user.
MIN_INTERRUPT, MAX_INTERRUPT = 0.2, 3.0
DEFAULT_INTERRUPT = 0.5
DEFAULT_IDLE_WARNING, DEFAULT_IDLE_HANGUP = 30.0, 60.0
# The final warning comes this long before the hang-up (less when the gap is short).
FINAL_WARNING_LEAD = 10.0

# -- ending a call ---------------------------------------------------------------------
NORMAL_CLOSE = 1000  # the SDK shows "disconnected" and does not reconnect
SESSION_EXPIRED_CLOSE = 4008  # terminal, 4000 + 408 like the matrix's 4001/4003/4004/4029
# Pause between an ending message and the close, so a client reading its buffer still
# gets the message (the LiveKit client stops reading as soon as the socket closes).
CLOSE_DELAY = 0.1
MAX_REASON_BYTES = 123  # RFC 6455: a close frame's payload is at most 125 bytes
IDLE_HANGUP_TEXT = "Ending the call due to inactivity."
IDLE_HANGUP_REASON = "Call ended after a period of inactivity"

# -- in-band error codes ---------------------------------------------------------------
INVALID_MESSAGE_FORMAT = "INVALID_MESSAGE_FORMAT"
UNSUPPORTED_MESSAGE_TYPE = "UNSUPPORTED_MESSAGE_TYPE"
AUDIO_PROCESSING_FAILED = "AUDIO_PROCESSING_FAILED"
AUDIO_FORMAT_UNSUPPORTED = "AUDIO_FORMAT_UNSUPPORTED"
AUDIO_CHUNK_TOO_LARGE = "AUDIO_CHUNK_TOO_LARGE"
SESSION_EXPIRED = "SESSION_EXPIRED"
# Seed 003's numbers above 4999 cannot be close codes; they travel as `code` beside
# `error_code`, and the close uses a code daphne can send (kernel/errors.py, docs/errors.md).
NUMERIC_CODES: dict[str, int] = {
    "INTERNAL_ERROR": 5000,
    AUDIO_PROCESSING_FAILED: 5001,
    AUDIO_FORMAT_UNSUPPORTED: 5002,
    AUDIO_CHUNK_TOO_LARGE: 5003,
    SESSION_EXPIRED: 5004,
    "SESSION_LIMIT_EXCEEDED": 5005,
    "SERVICE_UNAVAILABLE": 5503,
}


class VoiceError(Exception):
    """A client message that cannot be used: told as an `error`; the call goes on."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})


# -- client messages -------------------------------------------------------------------
@dataclass(frozen=True)
class SessionSettings:
    """A `session_settings` message: only what the client sent (None: not sent)."""

    sample_rate: int | None = None
    channels: int | None = None
    encoding: str | None = None
    silence_threshold: float | None = None  # seconds, clamped
    interrupt_threshold: float | None = None  # seconds, clamped
    idle_enabled: bool | None = None
    idle_warning_timeout: float | None = None
    idle_hangup_timeout: float | None = None
    emotion_detection: bool | None = None
    half_duplex: bool | None = None


@dataclass(frozen=True)
class AudioInput:
    pcm: bytes  # PCM16 LE at the negotiated rate and channels; even length
    chunk_id: str | None = None


@dataclass(frozen=True)
class KeepAlive:
    """Refreshes the idle timers; nothing is sent back."""


@dataclass(frozen=True)
class TextInput:
    text: str  # a typed user turn


@dataclass(frozen=True)
class Interrupt:
    """Stop the current reply."""


ClientMessage = SessionSettings | AudioInput | KeepAlive | TextInput | Interrupt


@dataclass(frozen=True)
class CallSettings:
    """The settings a call runs with: defaults (or the config's), then every
    `session_settings` applied in turn (`updated`); the field names are SessionSettings'."""

    sample_rate: int = DEFAULT_SAMPLE_RATE
    channels: int = 1
    encoding: str = "linear16"
    silence_threshold: float = DEFAULT_SILENCE
    interrupt_threshold: float = DEFAULT_INTERRUPT
    idle_enabled: bool = True
    idle_warning_timeout: float = DEFAULT_IDLE_WARNING
    idle_hangup_timeout: float = DEFAULT_IDLE_HANGUP
    emotion_detection: bool = True
    half_duplex: bool = False

    def updated(self, update: SessionSettings) -> "CallSettings":
        """These settings with what `update` sent; a mid-session update keeps the rest."""
        sent = {f.name: v for f in fields(update) if (v := getattr(update, f.name)) is not None}
        result = replace(self, **sent)
        if result.idle_hangup_timeout <= result.idle_warning_timeout:
            raise VoiceError(
                INVALID_MESSAGE_FORMAT,
                f"idle_timeout.hangup_timeout ({result.idle_hangup_timeout:g} s) must be longer"
                f" than warning_timeout ({result.idle_warning_timeout:g} s)",
                {"field": "idle_timeout"},
            )
        return result

    def idle_schedule(self) -> tuple[float, ...]:
        """Seconds of silence from the client at which to warn, warn finally and hang up
        (StreamingConsumer.idle_schedule); empty when idle hang-up is disabled."""
        if not self.idle_enabled:
            return ()
        warning, hangup = self.idle_warning_timeout, self.idle_hangup_timeout
        return (warning, hangup - min(FINAL_WARNING_LEAD, (hangup - warning) / 2), hangup)

    def idle_message(self, step: int) -> dict[str, Any]:
        """What to send at `idle_schedule()[step]`: the two warnings, then the hang-up
        notice (after which the call closes with NORMAL_CLOSE and IDLE_HANGUP_REASON)."""
        schedule = self.idle_schedule()
        if step == len(schedule) - 1:
            return system_message(IDLE_HANGUP_TEXT, "hangup")
        kind = "warning" if step == 0 else "final_warning"
        return idle_warning(kind, schedule[-1] - schedule[step])


def _invalid(message: str, field: str, code: str = INVALID_MESSAGE_FORMAT) -> VoiceError:
    return VoiceError(code, message, {"field": field})


def _section(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _invalid(f"{name} must be an object", name)
    return value


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _number(value: Any, field: str, code: str = INVALID_MESSAGE_FORMAT) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise _invalid(f"{field} must be a number, got {value!r}", field, code) from None
    if not math.isfinite(number):
        raise _invalid(f"{field} must be a finite number", field, code)
    return number


def _whole(value: Any, field: str, allowed: Callable[[int], bool], rule: str) -> int | None:
    number = _number(value, field, AUDIO_FORMAT_UNSUPPORTED)
    if number is None:
        return None
    if not number.is_integer() or not allowed(int(number)):
        raise _invalid(f"{field} must be {rule}, got {value!r}", field, AUDIO_FORMAT_UNSUPPORTED)
    return int(number)


def _clamped(value: Any, field: str, low: float, high: float) -> float | None:
    number = _number(value, field)
    return None if number is None else min(high, max(low, number))


def _positive(value: Any, field: str) -> float | None:
    number = _number(value, field)
    if number is not None and number <= 0:
        raise _invalid(f"{field} must be a positive number of seconds, got {value!r}", field)
    return number


_FLAGS = {word: True for word in ("true", "1", "yes", "on")} | {
    word: False for word in ("false", "0", "no", "off")
}


def _flag(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAGS:
        return _FLAGS[value.strip().lower()]
    raise _invalid(f"{field} must be true or false, got {value!r}", field)


def _encoding(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in ENCODINGS:
        raise _invalid(
            f"encoding must be linear16 (16-bit PCM), got {value!r}",
            "encoding",
            AUDIO_FORMAT_UNSUPPORTED,
        )
    return value.strip().lower()


def _session_settings(body: Mapping[str, Any]) -> SessionSettings:
    # The docs nest the audio format under `audio`; the SDK sends it at the top level.
    audio, turn = _section(body, "audio"), _section(body, "turn_detection")
    idle = _section(body, "idle_timeout")
    emotion = body.get("emotion_detection")
    if isinstance(emotion, Mapping):
        emotion = emotion.get("enabled")
    return SessionSettings(
        sample_rate=_whole(
            _first(audio.get("sample_rate"), body.get("sample_rate")),
            "sample_rate",
            lambda rate: MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE,
            f"between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz",
        ),
        channels=_whole(
            _first(audio.get("channels"), body.get("channels")),
            "channels",
            lambda channels: channels in CHANNELS,
            "1 (mono) or 2 (stereo)",
        ),
        encoding=_encoding(_first(audio.get("encoding"), body.get("encoding"))),
        silence_threshold=_clamped(
            turn.get("silence_threshold"),
            "turn_detection.silence_threshold",
            MIN_SILENCE,
            MAX_SILENCE,
        ),
        interrupt_threshold=_clamped(
            turn.get("interrupt_threshold"),
            "turn_detection.interrupt_threshold",
            MIN_INTERRUPT,
            MAX_INTERRUPT,
        ),
        idle_enabled=_flag(idle.get("enabled"), "idle_timeout.enabled"),
        idle_warning_timeout=_positive(idle.get("warning_timeout"), "idle_timeout.warning_timeout"),
        idle_hangup_timeout=_positive(idle.get("hangup_timeout"), "idle_timeout.hangup_timeout"),
        emotion_detection=_flag(emotion, "emotion_detection.enabled"),
        half_duplex=_flag(body.get("half_duplex"), "half_duplex"),
    )


def _chunk_details(chunk_id: str | None, **details: Any) -> dict[str, Any]:
    return ({"chunk_id": chunk_id} if chunk_id is not None else {}) | details


def pcm_frame(data: bytes, chunk_id: str | None = None) -> bytes:
    """Check one chunk of client audio: a binary frame, or a decoded `audio_input`."""
    if len(data) > MAX_AUDIO_BYTES:
        raise VoiceError(
            AUDIO_CHUNK_TOO_LARGE,
            f"Audio chunk of {len(data)} bytes exceeds the limit of {MAX_AUDIO_BYTES} bytes (1 MB)",
            _chunk_details(chunk_id, size=len(data), limit=MAX_AUDIO_BYTES),
        )
    reason = (
        "empty audio chunk"
        if not data
        else "odd number of bytes: PCM16 samples are 2 bytes each"
        if len(data) % 2
        else None
    )
    if reason:
        raise VoiceError(
            AUDIO_PROCESSING_FAILED,
            "Failed to process audio chunk",
            _chunk_details(chunk_id, reason=reason),
        )
    return data


def to_mono(pcm: bytes, channels: int, chunk_id: str | None = None) -> bytes:
    """Interleaved PCM16 of `channels` channels as mono PCM16 (the channels averaged)."""
    if channels == 1:
        return pcm
    if len(pcm) % (2 * channels):
        raise VoiceError(
            AUDIO_PROCESSING_FAILED,
            "Failed to process audio chunk",
            _chunk_details(chunk_id, reason=f"chunk does not hold whole {channels}-channel frames"),
        )
    frames = np.frombuffer(pcm, dtype="<i2").reshape(-1, channels).astype(np.int32)
    return (frames.sum(axis=1) // channels).astype("<i2").tobytes()


def _audio_input(body: Mapping[str, Any]) -> AudioInput:
    chunk_id = None if body.get("chunk_id") is None else str(body["chunk_id"])
    audio = body.get("audio")
    if not isinstance(audio, str):
        raise VoiceError(
            INVALID_MESSAGE_FORMAT,
            "audio_input needs `audio`: base64-encoded PCM16",
            _chunk_details(chunk_id, field="audio"),
        )
    try:
        pcm = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise VoiceError(
            AUDIO_PROCESSING_FAILED,
            "Failed to process audio chunk",
            _chunk_details(chunk_id, reason="audio is not valid base64"),
        ) from None
    return AudioInput(pcm_frame(pcm, chunk_id), chunk_id)


def _text_input(body: Mapping[str, Any]) -> TextInput:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _invalid("text_input needs a non-empty `text`", "text")
    return TextInput(text.strip())


_PARSERS: dict[str, Callable[[Mapping[str, Any]], ClientMessage]] = {
    "session_settings": _session_settings,
    "audio_input": _audio_input,
    "keep_alive": lambda body: KeepAlive(),
    "text_input": _text_input,
    "interrupt": lambda body: Interrupt(),
}


def parse_client_message(text: str) -> ClientMessage:
    """One text frame as a typed message, or VoiceError (the call goes on).

    The fields are read from `data` when it is an object (the docs' envelope), else
    from the top level (the SDK's flat shape). Null is absent; unknown keys are ignored.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise VoiceError(
            AUDIO_CHUNK_TOO_LARGE,
            f"Message of {len(text)} characters exceeds the 1 MB audio chunk limit",
            {"size": len(text), "limit": MAX_TEXT_CHARS},
        )
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VoiceError(INVALID_MESSAGE_FORMAT, f"Message is not valid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise VoiceError(INVALID_MESSAGE_FORMAT, "A message must be a JSON object with a type")
    kind = message.get("type")
    if not isinstance(kind, str) or not kind:
        raise _invalid("A message must have a string `type`", "type")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise VoiceError(
            UNSUPPORTED_MESSAGE_TYPE,
            f"Unsupported message type {kind!r}",
            {"type": kind, "supported": sorted(_PARSERS)},
        )
    body = message["data"] if isinstance(message.get("data"), dict) else message
    return parser({k: v for k, v in body.items() if v is not None})


# -- the connection --------------------------------------------------------------------
def required_config_id(query: Mapping[str, str]) -> str:
    """`config_id` from the connection's query (decoded form-style by
    accounts.websocket.scope_query: the SDK sends `authorization=Bearer+<jwt>`)."""
    config_id = (query.get("config_id") or "").strip()
    if not config_id:
        raise AccessDenied(Denial.CONFIG_NOT_FOUND, "config_id is required")
    return config_id


# -- server messages -------------------------------------------------------------------
def _message(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The hybrid shape: the payload at the top level (the SDK) and under `data` (the docs)."""
    return {
        "type": kind,
        "timestamp": round(time.time(), 3),
        "message_id": str(uuid.uuid4()),
        **payload,
        "data": dict(payload),
    }


def _r(value: float) -> float:
    return round(float(value), 3)


def connection_metadata(connection_id: str, *, project_id: str, config_id: str) -> dict[str, Any]:
    return _message(
        "connection_metadata",
        {
            "connection_id": connection_id,
            "status": "connected",
            "config": dict(TTS_FORMAT),
            "project_id": project_id,
            "config_id": config_id,
        },
    )


def _transcription(
    transcript: str,
    *,
    is_final: bool,
    is_speech_final: bool,
    confidence: float,
    words: Sequence[Word],
    session_id: str,
    processing_time: float,
    event_type: str,
) -> dict[str, Any]:
    return _message(
        "transcription",
        {
            "transcript": transcript,
            "is_final": is_final,
            "is_speech_final": is_speech_final,
            "confidence": _r(confidence),
            "words": [
                {
                    "word": w.word,
                    "start": _r(w.start),
                    "end": _r(w.end),
                    "confidence": _r(w.confidence),
                }
                for w in words
            ],
            "session_id": session_id,
            "processing_time": _r(processing_time),
            "metadata": {"event_type": event_type},
        },
    )


def interim_transcription(
    transcript: str, *, confidence: float, session_id: str, processing_time: float = 0.0
) -> dict[str, Any]:
    """The words heard so far in the open utterance: cumulative (the SDK replaces its
    live bubble with each interim)."""
    return _transcription(
        transcript,
        is_final=False,
        is_speech_final=False,
        confidence=confidence,
        words=(),
        session_id=session_id,
        processing_time=processing_time,
        event_type="normal",
    )


def final_transcription(
    transcript: str,
    *,
    confidence: float,
    words: Sequence[Word],
    session_id: str,
    processing_time: float,
    speech_final: bool = True,
) -> dict[str, Any]:
    """An utterance's final text. `speech_final` False: cut inside a monologue, the
    speaker has not stopped (Deepgram's is_final without speech_final)."""
    return _transcription(
        transcript,
        is_final=True,
        is_speech_final=speech_final,
        confidence=confidence,
        words=words,
        session_id=session_id,
        processing_time=processing_time,
        event_type="utterance_end" if speech_final else "normal",
    )


def emotion_update(distribution: Mapping[str, float], *, top: int = 3) -> dict[str, Any]:
    """An utterance's emotion distribution (labels as the agents name them, 0-1), sent
    after its final transcript so the SDK attaches it to that message. `top_emotions`
    for the SDK (`percentage`, and `confidence` for 1.1.6), `emotions` for the LiveKit
    client: all labels, strongest first."""
    ranked = [
        {"emotion": label, "percentage": round(100 * float(p), 1), "confidence": _r(p)}
        for label, p in sorted(distribution.items(), key=lambda item: -item[1])
    ]
    return _message("emotion_update", {"top_emotions": ranked[:top], "emotions": ranked})


def turn_complete(
    transcript: str, *, confidence: float, reasons: Sequence[str], processing_time: float
) -> dict[str, Any]:
    return _message(
        "turn_complete",
        {
            "turn_result": {
                "is_complete": True,
                "confidence": _r(confidence),
                "reasons": list(reasons),
                "processing_time": _r(processing_time),
            },
            "transcript": transcript,
        },
    )


def llm_response_chunk(
    content: str, *, generation_id: str, chunk_index: int, is_final: bool
) -> dict[str, Any]:
    """`content` is the reply so far, not a delta: the SDK shows only the last non-final
    chunk's content (reference §13.7)."""
    return _message(
        "llm_response_chunk",
        {
            "content": content,
            "is_final": is_final,
            "generation_id": generation_id,
            "chunk_index": chunk_index,
        },
    )


def tts_chunk(pcm: bytes, *, chunk_id: str, is_last: bool) -> dict[str, Any]:
    """Headerless PCM16 LE mono at TTS_SAMPLE_RATE: the SDK decodes the base64 straight
    into an Int16Array, so the length must be even."""
    if len(pcm) % 2:
        raise ValueError(f"TTS audio must be whole PCM16 samples, got {len(pcm)} bytes")
    return _message(
        "tts_chunk",
        {
            "content": base64.b64encode(pcm).decode("ascii"),
            "chunk_id": chunk_id,
            "is_last": is_last,
        },
    )


def tts_interruption() -> dict[str, Any]:
    """Stop playing: the user barged in (the SDK and the LiveKit client)."""
    return _message("tts_interruption", {"content": ""})


def user_interruption() -> dict[str, Any]:
    """The same, in the name the LiveKit client (and Hume) also listen for."""
    return _message("user_interruption", {"content": ""})


IDLE_WARNING_TYPES = ("warning", "final_warning")
SYSTEM_MESSAGE_TYPES = ("initial", "warning", "hangup")


def idle_warning(warning_type: str, time_remaining: float) -> dict[str, Any]:
    if warning_type not in IDLE_WARNING_TYPES:
        raise ValueError(f"warning_type must be one of {IDLE_WARNING_TYPES}, got {warning_type!r}")
    return _message(
        "idle_warning", {"warning_type": warning_type, "time_remaining": _r(time_remaining)}
    )


def system_message(content: str, message_type: str) -> dict[str, Any]:
    """`initial`: the config's greeting; `hangup`: before an idle hang-up."""
    if message_type not in SYSTEM_MESSAGE_TYPES:
        raise ValueError(
            f"message_type must be one of {SYSTEM_MESSAGE_TYPES}, got {message_type!r}"
        )
    return _message("system_message", {"content": content, "message_type": message_type})


def error(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`error_code` and `error_message` (the SDK), `error` (the LiveKit client), the
    seed's number as `code` where it has one above 4999, and `details`."""
    payload: dict[str, Any] = {"error_code": code, "error_message": message, "error": message}
    if code in NUMERIC_CODES:
        payload["code"] = NUMERIC_CODES[code]
    payload["details"] = dict(details or {})
    return _message("error", payload)


def error_of(exc: VoiceError) -> dict[str, Any]:
    return error(exc.code, exc.message, exc.details)


# -- how a call ends -------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorReply:
    """An error message and, unless `close_code` is None (the call goes on), the close
    that follows it CLOSE_DELAY later with the reason phrase `reason`."""

    message: dict[str, Any]
    close_code: int | None
    reason: str = ""


def failure_reply(failure: "Classified") -> ErrorReply:
    """A refusal at the door or a failure during a call, as its row of kernel.errors says.

    `details.reason` is the close reason phrase (the billing reason when credits run out
    mid-call), or for a call that goes on, the exception's own words.
    """
    said = FAILURES[failure.row].voice
    if said is None:
        # Only the DENIED row defers to the MATRIX, and its failures carry their row.
        assert failure.denied is not None
        said = voice_of(failure.denied)
    message = said.message.format(detail=failure.detail)
    details = {"reason": said.reason or failure.detail}
    return ErrorReply(error(said.code, message, details), said.close, said.reason)


def session_expired(max_minutes: int) -> ErrorReply:
    """The plan's maximum call length was reached: terminal, the SDK does not reconnect."""
    reason = "Session expired: the maximum conversation length was reached"
    message = f"Session expired: calls last at most {max_minutes} minutes"
    return ErrorReply(
        error(SESSION_EXPIRED, message, {"reason": reason}), SESSION_EXPIRED_CLOSE, reason
    )
