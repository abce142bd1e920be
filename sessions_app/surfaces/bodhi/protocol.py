"""The Bodhi wire format: the config message in, transcript and error messages out.

See ../shared/reference/bodhi.md. Shared by the WebSocket consumer and the REST view.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sessions_app.engine import Event, Hotword, resolve_model

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000
# Bodhi's documented clamp for endpoint_silence_duration.
MIN_ENDPOINT_SILENCE, MAX_ENDPOINT_SILENCE = 0.44, 1.2
DEFAULT_HOTWORD_SCORE = 1.5
_TRUE = {"1", "true", "yes", "on"}


class BodhiError(Exception):
    """A failure the client is told about as {"error", "message", "code", "timestamp"}."""

    def __init__(self, code: int, message: str, error: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.error = error or message


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_body(code: int, message: str, error: str | None = None) -> dict[str, Any]:
    return {"error": error or message, "message": message, "code": code, "timestamp": timestamp()}


def as_bool(value: Any) -> bool:
    """Booleans as clients send them: true, "TRUE", 1, "1"; null is false."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def parse_hotwords(raw: Any) -> list[Hotword]:
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError:
            raise BodhiError(400, "hotwords must be a JSON array of {phrase, score}") from None
    if not isinstance(raw, list):
        raise BodhiError(400, "hotwords must be an array of {phrase, score}")
    hotwords = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("phrase"), str)
            or not item["phrase"].strip()
        ):
            raise BodhiError(400, "each hotword needs a non-empty phrase")
        score = item.get("score")
        try:
            score = DEFAULT_HOTWORD_SCORE if score is None else float(score)
        except (TypeError, ValueError):
            raise BodhiError(400, f"hotword score must be a number, got {score!r}") from None
        hotwords.append(Hotword(phrase=item["phrase"].strip(), score=score))
    return hotwords


def parse_transaction_id(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError):
        raise BodhiError(
            400, "transaction_id must be a UUID" if value else "transaction_id is required"
        ) from None


def parse_model(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BodhiError(400, "model is required")
    return value.strip()


@dataclass(frozen=True)
class StreamConfig:
    sample_rate: int
    transaction_id: str
    model: str
    parse_number: bool = False
    exclude_partial: bool = False
    hotwords: list[Hotword] = field(default_factory=list)
    aux: bool = False
    endpoint_silence: float | None = None
    at_start_lid: bool = False
    transliterate: bool = False


def parse_stream_config(message: Any) -> StreamConfig:
    """Validate the first text frame, {"config": {...}}. Unknown keys are ignored, null is absent."""
    if not isinstance(message, dict) or not isinstance(message.get("config"), dict):
        raise BodhiError(400, 'The first message must be {"config": {...}}')
    raw = {k: v for k, v in message["config"].items() if v is not None}
    try:
        sample_rate = int(raw["sample_rate"])
    except KeyError:
        raise BodhiError(400, "sample_rate is required") from None
    except (TypeError, ValueError):
        raise BodhiError(
            400, f"sample_rate must be an integer, got {raw['sample_rate']!r}"
        ) from None
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise BodhiError(
            400, f"sample_rate must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE}"
        )
    channels = raw.get("channels", 1)
    if channels not in (1, "1"):
        raise BodhiError(400, "Only mono audio (channels: 1) is supported")
    silence = raw.get("endpoint_silence_duration")
    if silence is not None:
        try:
            silence = min(MAX_ENDPOINT_SILENCE, max(MIN_ENDPOINT_SILENCE, float(silence)))
        except (TypeError, ValueError):
            raise BodhiError(400, "endpoint_silence_duration must be a number of seconds") from None
    return StreamConfig(
        sample_rate=sample_rate,
        transaction_id=parse_transaction_id(raw.get("transaction_id")),
        model=parse_model(raw.get("model")),
        parse_number=as_bool(raw.get("parse_number")),
        exclude_partial=as_bool(raw.get("exclude_partial")),
        hotwords=parse_hotwords(raw.get("hotwords")),
        aux=as_bool(raw.get("aux")),
        endpoint_silence=silence,
        at_start_lid=as_bool(raw.get("at_start_lid")),
        transliterate=as_bool(raw.get("transliterate")),
    )


def stream_language(model: str, fallback: str) -> str:
    """The language a model name transcribes: forced by the name, English for an
    English-only model, else the config's."""
    spec = resolve_model(model)
    return spec.language or ("en" if spec.english_only else fallback)


def is_eof(message: Any) -> bool:
    return isinstance(message, dict) and str(message.get("eof")) == "1"


def _r(value: float) -> float:
    return round(float(value), 3)


def transcript_message(
    call_id: str,
    event: Event,
    text: str,
    *,
    language_code: str | None = None,
    aux_info: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A partial or complete message; segment_meta is always there (SDKs index it)."""
    complete = event.is_final
    meta: dict[str, Any] = {
        "tokens": list(event.tokens),
        "timestamps": [_r(t) for t in event.timestamps],
        "start_time": _r(event.start),
        "confidence": _r(event.confidence),
    }
    if complete:
        meta["words"] = [
            {
                "word": w.word,
                "confidence": _r(w.confidence),
                "start_time": _r(w.start),
                "end_time": _r(w.end),
            }
            for w in event.words
        ]
    message: dict[str, Any] = {
        "call_id": call_id,
        "segment_id": event.segment,
        "eos": False,
        "type": "complete" if complete else "partial",
        "text": text,
        "segment_meta": meta,
    }
    if language_code:
        message["language_code"] = language_code
    if aux_info is not None:
        message["aux_info"] = aux_info
    return message


def end_of_stream_message(
    call_id: str, next_segment: int, processed_audio: float, *, partials: bool
) -> dict[str, Any]:
    """The last message: eos true, empty text, no new words.

    A "partial" so that SDKs do not count it as one more (empty) sentence; but a
    stream configured with exclude_partial is promised complete messages only
    (reference: "the server sends no partial messages"), so there it is an empty
    "complete" with zero confidence (clients skip empty texts, Pipecat drops finals
    under 0.5 confidence).
    """
    meta: dict[str, Any] = {
        "tokens": [],
        "timestamps": [],
        "start_time": _r(processed_audio),
        "confidence": 0.0,
    }
    if not partials:
        meta["words"] = []  # as on every complete
    return {
        "call_id": call_id,
        "segment_id": next_segment,
        "eos": True,
        "type": "partial" if partials else "complete",
        "text": "",
        "segment_meta": meta,
    }
