"""A client that behaves like Bodhi's: headers, config, PCM frames, eof, read to eos."""

import asyncio
import io
import json
import time
import uuid
import wave
from dataclasses import dataclass, field

import websockets


def pcm_of(wav: bytes) -> tuple[bytes, int]:
    with wave.open(io.BytesIO(wav)) as w:
        return w.readframes(w.getnframes()), w.getframerate()


def headers_for(customer) -> dict[str, str]:
    return {"x-api-key": customer.secret, "x-customer-id": str(customer.customer.public_id)}


def config(**overrides) -> str:
    body = {
        "sample_rate": 16000,
        "transaction_id": str(uuid.uuid4()),
        "model": "en-general-v2-8khz",
    }
    body.update(overrides)
    return json.dumps({"config": body})


@dataclass
class Transcript:
    messages: list[dict] = field(default_factory=list)
    close_code: int | None = None
    received_at: list[float] = field(default_factory=list)

    @property
    def completes(self) -> list[dict]:
        return [m for m in self.messages if m.get("type") == "complete"]

    @property
    def text(self) -> str:
        return " ".join(m["text"] for m in self.completes if m["text"])

    @property
    def errors(self) -> list[dict]:
        return [m for m in self.messages if m.get("error")]


def ws_url(server) -> str:
    return server.url.replace("http://", "ws://") + "/"


async def stream(
    url: str,
    headers: dict[str, str],
    frames: list[bytes | str],
    *,
    frame_seconds: float = 0.0,
    pace: float = 1.0,
    eof: bool = True,
    timeout: float = 90,
) -> Transcript:
    """Send the frames (paced like a real-time client when frame_seconds is set), then eof;
    read every message until the server closes, as the SDK and Node clients do."""
    result = Transcript()
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:

        async def sender():
            for frame in frames:
                await ws.send(frame)
                if frame_seconds:
                    await asyncio.sleep(frame_seconds / pace)
            if eof:
                await ws.send(json.dumps({"eof": 1}))

        task = asyncio.create_task(sender())
        try:
            async with asyncio.timeout(timeout):
                async for message in ws:
                    result.messages.append(json.loads(message))
                    result.received_at.append(time.monotonic())
        except websockets.ConnectionClosed:
            pass
        finally:
            task.cancel()
        result.close_code = ws.close_code
    return result


def frames_of(pcm: bytes, size: int) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]
