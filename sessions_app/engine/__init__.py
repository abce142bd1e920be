"""Parlance speech engine: decoding, endpointing and Whisper ASR, with no web framework.

Nothing here imports Django, Channels or HTTP code; surfaces (Bodhi WS/REST, analytics
API, voice) are thin adapters around this API.

Models::

    from sessions_app.engine import get_model, model_ready, resolve_model, ModelNotAvailable
    spec = resolve_model(config.model)   # raises ModelNotAvailable("model 'x' is not available")
    get_model()                          # load once at startup (shared, thread-safe)
    model_ready()                        # cheap probe for /readyz; never loads

Batch (files of any size, decoded from disk in pieces)::

    from sessions_app.engine import transcribe, transcribe_async, TranscribeOptions, Hotword
    utterances = transcribe("call.mp3", TranscribeOptions(hotwords=[Hotword("ComfyUI")]))
    utterances = await transcribe_async(path)        # on the shared scheduler
    # -> [Utterance(speaker="Speaker_0", t_start, t_end, text, words=(Word...), asr_confidence)]
    # raises NoUtterances (no speech), AudioFormatError (corrupt/unsupported input),
    # ModelNotAvailable, EngineOverloaded (async only, queue full)

Streaming (PCM16LE at 8-48 kHz, any frame size and pace)::

    from sessions_app.engine import StreamingTranscriber, StreamingOptions
    stream = StreamingTranscriber(StreamingOptions(sample_rate=8000, trailing_silence=0.44))
    for event in await stream.feed(pcm_bytes):   # Event(kind="speech_start"|"partial"|"final")
        ...
    await stream.feed_samples(float32_16k)       # decoded audio, no PCM16 round trip
    events = await stream.finish()               # flushes the open utterance
    # speech_start comes from the endpointer at each utterance's start and is never shed
    # (barge-in); partials are best effort; exactly one final per utterance.
    # feed_sync()/feed_samples_sync()/finish_sync() do the same from synchronous code;
    # poll() returns partials that became ready between feeds; close() abandons the stream.

Audio::

    decode_file(path) -> DecodedAudio (channels kept: .mono(), .channel(i), .channels_identical())
    iter_decode(path, chunk_seconds=30) -> Iterator[np.ndarray (channels, n)]  # bounded memory
    PcmStream(rate).push(bytes) -> np.ndarray  # WAV header stripped, incremental resampling

Compute: ``get_scheduler()`` is the process-wide bounded priority queue in front of the
model (ENGINE_WORKERS threads, ENGINE_QUEUE_SIZE queued jobs). Finals beat speech beat
batch beat partials; partials are shed first; when full, new work raises EngineOverloaded.
``get_scheduler().ensure_capacity()`` is the admission check for a new session.
"""

from __future__ import annotations

from .audio import (
    SAMPLE_RATE,
    AudioInfo,
    DecodedAudio,
    channels_identical,
    decode_file,
    iter_decode,
    probe,
)
from .batch import transcribe, transcribe_async
from .errors import AudioFormatError, EngineError, EngineOverloaded, ModelNotAvailable, NoUtterances
from .models import DEFAULT_MODEL, ModelSpec, get_model, model_ready, resolve_model
from .pcm import PcmStream, pcm16_to_float32
from .scheduler import Priority, Scheduler, get_scheduler
from .streaming import StreamingOptions, StreamingTranscriber
from .types import Event, Hotword, TranscribeOptions, Utterance, Word

__all__ = [
    "DEFAULT_MODEL",
    "SAMPLE_RATE",
    "AudioFormatError",
    "AudioInfo",
    "DecodedAudio",
    "EngineError",
    "EngineOverloaded",
    "Event",
    "Hotword",
    "ModelNotAvailable",
    "ModelSpec",
    "NoUtterances",
    "PcmStream",
    "Priority",
    "Scheduler",
    "StreamingOptions",
    "StreamingTranscriber",
    "TranscribeOptions",
    "Utterance",
    "Word",
    "channels_identical",
    "decode_file",
    "get_model",
    "get_scheduler",
    "iter_decode",
    "model_ready",
    "pcm16_to_float32",
    "probe",
    "resolve_model",
    "transcribe",
    "transcribe_async",
]
