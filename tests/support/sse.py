"""A small Server-Sent Events reader, as the Illocution cookbook's clients read streams.

Follows the WHATWG event-stream rules that matter to these tests: `field: value`
lines (one optional space after the colon is dropped), `data` lines joined with
newlines, comment lines starting with ':' (kept, so tests can see heartbeats),
and an event dispatched on each blank line, never one without data.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    # The id sent in this event's own block, or None when the block had no `id:` line.
    id: str | None
    # The stream's last event id when this event was dispatched (what a browser reports).
    last_event_id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class SSEParser:
    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self.retry: int | None = None
        self.comments: list[str] = []
        self._reset()

    def _reset(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """One line without its terminator; returns the event a blank line completes."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
                self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        # Any other field is ignored, as the specification says.
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._reset()
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._id,
            last_event_id=self.last_event_id,
        )
        self._reset()
        return event

    def events(self, lines: Iterable[str]) -> Iterator[ServerSentEvent]:
        for line in lines:
            event = self.feed(line.rstrip("\r\n"))
            if event is not None:
                yield event
        # A stream that ends without a final blank line drops its incomplete event.


@dataclass
class Stream:
    status_code: int
    headers: httpx.Headers
    events: list[ServerSentEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    # The whole body, when the server answered with something other than an event stream.
    body: bytes = b""

    @property
    def types(self) -> list[str]:
        return [e.event for e in self.events]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e.json() for e in self.events if e.event == name]


def post_stream(http: httpx.Client, path: str, *, timeout: float = 90, **request) -> Stream:
    """POST and read the response as an event stream until the server closes it."""
    headers = {"Accept": "text/event-stream", **request.pop("headers", {})}
    with http.stream("POST", path, headers=headers, timeout=timeout, **request) as response:
        result = Stream(status_code=response.status_code, headers=response.headers)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            result.body = response.read()
            return result
        parser = SSEParser()
        result.events = list(parser.events(response.iter_lines()))
        result.comments = parser.comments
    return result
