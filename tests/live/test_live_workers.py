"""LIVE_WORKERS: servers ingest and stream, `manage.py live_worker` processes analyse.

The end-to-end tests need Redis (work and wake-ups cross processes there), so they
run in CI's PostgreSQL + Redis pass.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from sessions_app.pipeline.capture_placement import WORK_CHANNEL, ensure_running, running_here
from sessions_app.services.shared_cache import shared_cache
from tests.support import ROOT
from tests.support.live import Reader, control, key_headers, start_session, upload
from tests.support.servers import AsgiServer, server_env

CHUNK = 32000  # one second of 16 kHz PCM16
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="live workers take their work from Redis"
)


def test_a_worker_refuses_to_start_unless_servers_hand_it_work():
    with override_settings(LIVE_WORKERS=False), pytest.raises(CommandError, match="LIVE_WORKERS"):
        call_command("live_worker")


def test_live_workers_without_redis_stop_start_up_with_a_clear_message():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(LIVE_WORKERS="true", SECRET_KEY="x", JWT_SIGNING_KEY="x" * 40)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "LIVE_WORKERS=true needs REDIS_URL" in result.stderr


@override_settings(LIVE_WORKERS=True)
async def test_with_live_workers_a_server_hands_the_session_over_instead_of_processing_it():
    from channels.layers import get_channel_layer

    await ensure_running("live_handover")
    message = await get_channel_layer().receive(WORK_CHANNEL)
    assert message == {"type": "live.process", "session_id": "live_handover"}
    assert running_here() == []


class Worker:
    def __init__(self, log_path, *options: str):
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "live_worker", *options],
            start_new_session=True,  # as a service manager starts it
            cwd=ROOT,
            env=server_env(LIVE_WORKERS="true"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while "live worker ready" not in log_path.read_text(errors="replace"):
            assert self.process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the worker did not get ready"
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
        self._log.close()


@pytest.fixture
def workers(transactional_db, tmp_path):
    started: list = []

    def start(kind: str, name: str, *options: str):
        if kind == "server":
            started.append(AsgiServer(server_env(LIVE_WORKERS="true"), tmp_path / f"{name}.log"))
        else:
            started.append(Worker(tmp_path / f"{name}.log", *options))
        return started[-1]

    yield start
    for process in reversed(started):
        process.stop()


def _owner(session: dict) -> str:
    return shared_cache().get(f"lease:live-owner:{session['session_id']}") or ""


def _wait_for_owner(session: dict, worker: Worker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _owner(session).startswith(f"{worker.process.pid}-"):
        assert time.monotonic() < deadline, f"worker did not take it: {_owner(session)!r}"
        time.sleep(0.1)


@needs_redis
def test_a_worker_processes_what_the_server_ingests_and_another_takes_over_when_it_dies(
    workers, customer_with_credits, jfk_wav
):
    import httpx

    c = customer_with_credits
    server = workers("server", "daphne")
    first = workers("worker", "worker1")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        session = start_session(http, c)
        reader = Reader(server.url + session["events_endpoint"], key_headers(c)).start()
        reader.wait_for("status")
        seq = 0
        for seq in range(5):
            assert (
                upload(http, c, session, seq, jfk_wav[seq * CHUNK : (seq + 1) * CHUNK]).status_code
                == 200
            )
        _wait_for_owner(session, first, timeout=30)

        first.stop(signal.SIGKILL)
        # Idle priority only yields the CPU to other work; on a quiet machine it is as fast.
        second = workers("worker", "worker2", "--idle")
        assert os.sched_getscheduler(second.process.pid) == os.SCHED_IDLE
        autogroup = Path(f"/proc/{second.process.pid}/autogroup")
        assert not autogroup.exists() or autogroup.read_text().strip().endswith("nice 19")
        seq += 1
        while seq * CHUNK < len(jfk_wav):
            response = upload(http, c, session, seq, jfk_wav[seq * CHUNK : (seq + 1) * CHUNK])
            assert response.status_code == 200, response.text
            seq += 1
        # The dead worker's lease runs out; the second one's scan takes the session over.
        _wait_for_owner(session, second, timeout=40)
        assert control(http, c, session, "finalize").status_code == 200
        reader.wait(timeout=120)
    assert reader.types[-1] == "done", reader.types
    deadline = time.monotonic() + 10  # the lease is released just after the done event
    while _owner(session) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _owner(session) == "", "the worker let go of the session when it ended"
    finals = reader.of("final_transcript")
    ids = [f["utterance_id"] for f in finals]
    assert ids == [f"{session['conversation_id']}_utt_{i:04d}" for i in range(len(ids))]
    text = " ".join(f["text"] for f in finals).lower().replace(",", "")
    assert "fellow americans" in text and "ask what you can do for your country" in text
