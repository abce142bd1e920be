"""A stand-in chat-completions server on loopback, speaking the OpenAI streaming
protocol (server-sent `data:` lines up to `[DONE]`): the LLM is a third-party service,
the one place a test double is right. Each request is answered by a script the test
sets; the requests are kept for the test to read."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Script = Callable[["Exchange"], Awaitable[None]]


@dataclass
class Exchange:
    """One request on the stand-in server and the means to answer it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    path: str
    headers: dict[str, str]
    body: dict

    async def start_stream(self) -> None:
        self.writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        await self.writer.drain()

    async def send(self, text: str) -> None:
        data = text.encode()
        self.writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await self.writer.drain()

    async def send_delta(self, content: str, finish_reason: str | None = None) -> None:
        chunk = {
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}]
        }
        await self.send(f"data: {json.dumps(chunk)}\n\n")

    async def end_stream(self, done: bool = True) -> None:
        if done:
            await self.send("data: [DONE]\n\n")
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    async def answer(self, status: int, body: bytes) -> None:
        self.writer.write(
            f"HTTP/1.1 {status} Oops\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await self.writer.drain()

    async def until_client_leaves(self) -> None:
        while await self.reader.read(1024):
            pass


@dataclass
class StandIn:
    """A chat-completions server on 127.0.0.1: each request is answered by `script`."""

    script: Script | None = None
    requests: list[Exchange] = field(default_factory=list)
    connections: int = 0
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                request_line, *lines = head.decode().split("\r\n")
                headers = dict(
                    (k.strip().lower(), v.strip()) for k, v in (x.split(":", 1) for x in lines if x)
                )
                body = json.loads(await reader.readexactly(int(headers["content-length"])))
                exchange = Exchange(reader, writer, request_line.split()[1], headers, body)
                self.requests.append(exchange)
                assert self.script is not None
                await self.script(exchange)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.disconnected.set()
            writer.close()


def streams(*deltas: str, done: bool = True, finish_reason: str | None = None) -> Script:
    async def script(exchange: Exchange) -> None:
        await exchange.start_stream()
        await exchange.send(": keep-alive comment\n\n")
        await exchange.send('data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n')
        for delta in deltas:
            await exchange.send_delta(delta)
        if finish_reason:
            await exchange.send_delta("", finish_reason)
        await exchange.end_stream(done)

    return script


def bound_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, for `serving(sock)`: its port is known
    before the event loop runs (to put in a config, say)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving(sock: socket.socket | None = None) -> AsyncIterator[StandIn]:
    """A StandIn listening on `sock`, else on a free port of 127.0.0.1, for the block's
    duration."""
    stand_in = StandIn()
    if sock is None:
        server = await asyncio.start_server(stand_in.handle, "127.0.0.1", 0)
    else:
        server = await asyncio.start_server(stand_in.handle, sock=sock)
    stand_in.port = server.sockets[0].getsockname()[1]
    try:
        yield stand_in
    finally:
        server.close()
