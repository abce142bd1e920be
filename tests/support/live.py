"""A live-capture client written from the Illocution cookbook: start, a thread reading
SSE, sequential chunk uploads, control, read to done."""

import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.support.sse import ServerSentEvent, SSEParser


@dataclass
class Reader:
    """Reads a live session's events in a background thread, like the cookbook's runner."""

    url: str
    headers: dict[str, str]
    events: list[ServerSentEvent] = field(default_factory=list)
    status_code: int | None = None
    body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)
    stop_after: int | None = None

    def start(self) -> "Reader":
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            with httpx.stream(
                "GET",
                self.url,
                headers={"Accept": "text/event-stream", **self.headers},
                timeout=120,
            ) as r:
                self.status_code = r.status_code
                if r.status_code != 200:
                    self.body = r.read()
                    return
                for event in SSEParser().events(r.iter_lines()):
                    self.events.append(event)
                    if event.event in ("done", "error"):
                        return
                    if self.stop_after is not None and len(self.events) >= self.stop_after:
                        return  # disconnect mid-stream
        finally:
            self.done.set()

    def wait(self, timeout: float = 90) -> "Reader":
        assert self.done.wait(timeout), f"stream did not end; got {[e.event for e in self.events]}"
        return self

    def wait_for(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.event == name for e in self.events):
            assert time.monotonic() < deadline, (
                f"no {name} event; got {[e.event for e in self.events]}"
            )
            time.sleep(0.05)

    @property
    def types(self) -> list[str]:
        return [e.event for e in self.events]

    def of(self, name: str) -> list[dict]:
        return [e.json() for e in self.events if e.event == name]


def key_headers(customer) -> dict[str, str]:
    return {"X-API-Key": customer.secret}


# Sessions a test started, with the base URL and key that control them.
STARTED: list[tuple[str, str, dict]] = []


def start_session(http, customer, **body) -> dict:
    response = http.post(
        "/analyze/live/start", headers=key_headers(customer), json={"filename": "call.wav", **body}
    )
    assert response.status_code == 200, response.text
    STARTED.append((str(http.base_url), customer.secret, response.json()))
    return response.json()


def upload(http, customer, session: dict, seq: int, data: bytes) -> httpx.Response:
    return http.post(
        session["chunk_endpoint"],
        headers=key_headers(customer),
        data={"chunk_seq": str(seq)},
        files={"chunk": (f"chunk{seq}.bin", data, "application/octet-stream")},
    )


def upload_all(
    http, customer, session: dict, data: bytes, size: int = 32000, pace: float = 0.0
) -> None:
    for seq, offset in enumerate(range(0, len(data), size)):
        response = upload(http, customer, session, seq, data[offset : offset + size])
        assert response.status_code == 200, response.text
        assert response.json()["next_chunk_seq"] == seq + 1
        time.sleep(pace)


def control(http, customer, session: dict, action: str, **extra) -> httpx.Response:
    return http.post(
        session["control_endpoint"], headers=key_headers(customer), json={"action": action, **extra}
    )
