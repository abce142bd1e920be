"""Live sessions across server processes: a restart loses nothing, and any process
can take chunks while another serves the events (PostgreSQL + Redis)."""

import os
import signal

import pytest

from tests.support.live import Reader, control, key_headers, start_session, upload
from tests.support.servers import AsgiServer, server_env

pytestmark = pytest.mark.integration

CHUNK = 32000  # one second of 16 kHz PCM16


@pytest.fixture
def spawn(transactional_db, tmp_path):
    servers: list[AsgiServer] = []

    def make(name: str) -> AsgiServer:
        server = AsgiServer(server_env(), tmp_path / f"{name}.log")
        servers.append(server)
        return server

    yield make
    for server in servers:
        if server.process.poll() is None:
            server.stop()


def client(server):
    import httpx

    return httpx.Client(base_url=server.url, timeout=60)


def finals_of(reader: Reader) -> list[dict]:
    return reader.of("final_transcript")


def test_a_server_killed_mid_session_is_continued_by_another(spawn, customer_with_credits, jfk_wav):
    c = customer_with_credits
    first = spawn("first")
    with client(first) as http:
        session = start_session(http, c)
        for seq in range(6):
            assert (
                upload(http, c, session, seq, jfk_wav[seq * CHUNK : (seq + 1) * CHUNK]).status_code
                == 200
            )
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()

    second = spawn("second")
    with client(second) as http:
        reader = Reader(second.url + session["events_endpoint"], key_headers(c)).start()
        seq = 6
        while seq * CHUNK < len(jfk_wav):
            response = upload(http, c, session, seq, jfk_wav[seq * CHUNK : (seq + 1) * CHUNK])
            assert response.status_code == 200, response.text
            assert response.json()["next_chunk_seq"] == seq + 1, "the sequence survived the restart"
            seq += 1
        assert control(http, c, session, "finalize").status_code == 200
        reader.wait(timeout=120)
    assert reader.types[-1] == "done", reader.types
    finals = finals_of(reader)
    ids = [f["utterance_id"] for f in finals]
    assert len(ids) == len(set(ids)), "no utterance is sent twice"
    assert ids == [f"{session['conversation_id']}_utt_{i:04d}" for i in range(len(ids))]
    text = " ".join(f["text"] for f in finals).lower().replace(",", "")
    assert "fellow americans" in text and "ask what you can do for your country" in text
    event_ids = [int(e.id) for e in reader.events]
    assert event_ids == sorted(set(event_ids)), "one persisted log, no duplicate ids"


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="cross-process events need Redis (channels-redis)"
)
def test_chunks_and_events_on_different_processes(spawn, customer_with_credits, jfk_wav):
    c = customer_with_credits
    a, b = spawn("a"), spawn("b")
    with client(a) as http_a, client(b) as http_b:
        session = start_session(http_a, c)
        reader = Reader(b.url + session["events_endpoint"], key_headers(c)).start()
        reader.wait_for("status")
        second = http_a.get(session["events_endpoint"], headers=key_headers(c))
        assert second.status_code == 409, "one consumer per session across every process"
        seq = 0
        while seq * CHUNK < len(jfk_wav):
            http = http_a if seq % 2 == 0 else http_b
            response = upload(http, c, session, seq, jfk_wav[seq * CHUNK : (seq + 1) * CHUNK])
            assert response.status_code == 200, response.text
            seq += 1
        assert control(http_b, c, session, "finalize").status_code == 200
        reader.wait(timeout=120)
    assert reader.types[-1] == "done"
    text = " ".join(f["text"] for f in finals_of(reader)).lower().replace(",", "")
    assert "ask what you can do for your country" in text
