"""A client that behaves like NextEVI's: the React SDK's framing (session settings at
once, 4096-byte binary PCM frames at real-time pace, flat messages) or the docs'
(envelope, base64 audio_input), reading every server message with when it came."""

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field

import websockets

FRAME_BYTES = 4096  # the SDK's 2048 samples
RATE = 24000


def voice_url(server, connection_id: str = "voice_1724598000000_k3j9x0abc", **query) -> str:
    from urllib.parse import urlencode

    base = server.url.replace("http://", "ws://") + f"/ws/voice/{connection_id}"
    return f"{base}?{urlencode(query)}" if query else base


@dataclass
class Call:
    messages: list[dict] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def of(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m.get("type") == kind]

    def first(self, kind: str) -> float:
        return next(
            t for m, t in zip(self.messages, self.received_at, strict=True) if m["type"] == kind
        )

    @property
    def types(self) -> list[str]:
        return [m.get("type") for m in self.messages]


async def _reader(ws, call: Call) -> None:
    try:
        async for raw in ws:
            assert isinstance(raw, str), "the server sent a binary frame"
            call.messages.append(json.loads(raw))
            call.received_at.append(time.monotonic())
    except websockets.ConnectionClosed:
        pass
    call.close_code = ws.close_code
    call.close_reason = ws.close_reason or ""


async def talk(
    url: str,
    pcm: bytes,
    *,
    settings: dict | None = None,
    envelope: bool = False,
    pace: float = 1.0,
    tail_seconds: float = 8.0,
    until=None,
    during=None,
) -> Call:
    """Connect, send settings at once, stream `pcm` (24 kHz PCM16) then silence for
    `tail_seconds`, and read everything; `until(call)` may end it early, and
    `during(ws, call)` runs beside the stream (to barge in, say)."""
    call = Call()
    async with websockets.connect(url, max_size=None, open_timeout=20) as ws:
        reader = asyncio.create_task(_reader(ws, call))
        body = settings or {"sample_rate": RATE, "channels": 1, "encoding": "linear16"}
        if envelope:
            await ws.send(
                json.dumps(
                    {
                        "type": "session_settings",
                        "timestamp": time.time(),
                        "message_id": "settings-1",
                        "data": {"audio": body},
                    }
                )
            )
        else:
            await ws.send(json.dumps({"type": "session_settings", **body}))
        side = asyncio.create_task(during(ws, call)) if during else None
        audio = pcm + b"\x00\x00" * int(RATE * tail_seconds)
        start = time.monotonic()
        for index, offset in enumerate(range(0, len(audio), FRAME_BYTES)):
            if call.close_code is not None or (until and until(call)):
                break
            frame = audio[offset : offset + FRAME_BYTES]
            if envelope:
                data = {"audio": base64.b64encode(frame).decode(), "chunk_id": f"chunk-{index}"}
                await ws.send(json.dumps({"type": "audio_input", "data": data}))
            else:
                await ws.send(frame)
            delay = start + (offset + len(frame)) / 2 / RATE / pace - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if side:
            await side
        await ws.close()
        await reader
    return call


async def refused(url: str, **connect) -> Call:
    call = Call()
    async with websockets.connect(url, open_timeout=20, **connect) as ws:
        await _reader(ws, call)
    return call
