"""What the chunk path's hand-built SQL saves over the ORM.

One command: `.venv/bin/python bench/chunk_sql.py [--chunks N] [--rounds R] [--postgres-url URL]`

On SQLite (a scratch file) and on PostgreSQL (`--postgres-url`, a database this may
migrate and write to), each in a process of its own, measures in the same run:
  accept_chunk (sessions_app.services.captures, statements built once) against the same
  semantics through the ORM: select_for_update(of=("self",)) locking the capture's row
  alone, then update() re-checking the session's status;
per chunk, in interleaved rounds of N chunks on fresh captures, both end to end (the
chunk written and fsynced, as served) and for the database alone (the file write
stubbed out), as wall time and as this process's CPU time (what a server process
spends per chunk, under the GIL; a commit's fsync waits but costs no CPU). Prints p50s
and the ratio ORM / hand-built, with its range over the rounds' p50s.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
MODES = ("end to end", "database alone")
VARIANTS = ("hand-built", "ORM")
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def orm_accept_chunk(customer, public_id: str, seq: int, data: bytes):
    """captures.accept_chunk through the ORM, with the same semantics: the capture's row
    locked alone, the status re-checked by the UPDATE, no file left by a refused chunk."""
    from django.db import transaction
    from django.utils import timezone

    from kernel.errors import AccessDenied, Denial
    from sessions_app.models import LiveCapture, Session
    from sessions_app.services import captures

    digest = hashlib.sha256(data).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        capture = (
            LiveCapture.objects.select_for_update(of=("self",))
            .select_related("session")
            .filter(public_id=public_id, session__customer=customer)
            .first()
        )
        if capture is None or captures.is_expired(capture):
            raise AccessDenied(Denial.SESSION_NOT_FOUND)
        session = capture.session
        if session.status not in captures.INGESTING:
            raise captures.LiveConflict("Session already finalized")
        if seq == capture.next_chunk_seq - 1 and digest == capture.last_chunk_sha256:
            return captures.ChunkReceipt(
                capture.received_bytes, capture.next_chunk_seq, duplicate=True
            )
        if seq != capture.next_chunk_seq:
            raise captures.LiveConflict(f"Expected chunk_seq={capture.next_chunk_seq}")
        path = captures.chunk_path(session.conversation_id, seq)
        captures._write_durably(path, data)
        next_seq, received = capture.next_chunk_seq + 1, capture.received_bytes + len(data)
        updated = LiveCapture.objects.filter(
            pk=capture.pk, session__status__in=captures.INGESTING
        ).update(
            next_chunk_seq=next_seq,
            received_bytes=received,
            last_chunk_sha256=digest,
            last_chunk_size=len(data),
            expires_at=now + timedelta(seconds=capture.ttl_seconds),
        )
        if not updated:
            path.unlink(missing_ok=True)
            session.refresh_from_db(fields=["status"])
            if captures.is_expired(capture):
                raise AccessDenied(Denial.SESSION_NOT_FOUND)
            raise captures.LiveConflict("Session already finalized")
        if session.status == Session.Status.WAITING_MEDIA:
            Session.objects.filter(pk=session.pk, status=Session.Status.WAITING_MEDIA).update(
                status=Session.Status.ACTIVE
            )
    return captures.ChunkReceipt(received, next_seq, duplicate=False)


Rounds = list[list[float]]  # seconds per chunk, one list per round


def measure(chunks: int, rounds: int) -> dict[str, dict[str, dict[str, Rounds]]]:
    """In this process's database: {mode: {variant: {clock: rounds}}}."""
    import django

    django.setup()
    from django.core.management import call_command

    from accounts import services
    from accounts.access import authorize
    from accounts.credentials import Principal
    from accounts.models import Customer
    from billing.products import Product
    from sessions_app.services import captures

    call_command("migrate", verbosity=0)
    made = services.provision_customer("Bench chunks", plan_code="pro", credits=100)
    customer = Customer.objects.get(pk=made.customer.pk)
    access = authorize(Principal(key=made.api_key, customer=customer), product=Product.ANALYTICS)
    accept = {"hand-built": captures.accept_chunk, "ORM": orm_accept_chunk}
    data = os.urandom(3200)  # 100 ms of 16 kHz PCM16, as the live clients send it
    stubs = {
        "end to end": contextlib.nullcontext,
        "database alone": lambda: mock.patch.object(captures, "_write_durably", lambda *_: None),
    }
    out = {m: {v: {clock: [] for clock in CLOCKS} for v in VARIANTS} for m in MODES}
    for mode in MODES:
        with stubs[mode]():
            # Interleaved so drift (CPU frequency, other load) hits both alike; the first
            # round warms up (statements prepared, caches filled).
            for round_ in range(rounds + 1):
                for variant in VARIANTS:
                    capture = captures.start(access, goal="", suffix=".wav", ttl_seconds=900)
                    samples: dict[str, list[float]] = {clock: [] for clock in CLOCKS}
                    for seq in range(chunks):
                        wall, cpu = time.perf_counter(), time.thread_time()
                        accept[variant](customer, capture.public_id, seq, data)
                        samples["wall"].append(time.perf_counter() - wall)
                        samples["cpu"].append(time.thread_time() - cpu)
                    if round_:
                        for clock, values in samples.items():
                            out[mode][variant][clock].append(values)
    return out


def run_child(backend: str, database_url: str | None, chunks: int, rounds: int) -> dict:
    data_dir = tempfile.mkdtemp(prefix="parlance-bench-chunks-")
    env = {
        **os.environ,
        "DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-secret",
        "JWT_SIGNING_KEY": "bench-jwt-signing-key-0123456789abcdef",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    try:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                backend,
                "--chunks",
                f"{chunks}",
                "--rounds",
                f"{rounds}",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def p50(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=200, help="chunks per capture and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_CHUNK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parlance_bench"
        ),
        help="a PostgreSQL database this may migrate and write to ('' skips PostgreSQL)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.chunks, args.rounds)))
        return

    backends = {"sqlite": None, "postgresql": args.postgres_url}
    one, five, fifteen = os.getloadavg()
    print(
        f"chunks per round: {args.chunks}, rounds: {args.rounds} (interleaved, after one warm-up "
        f"round); load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"{'backend':11s} {'path':15s} {'clock':5s} {'hand-built p50':>15s} {'ORM p50':>10s} "
        f"{'ORM / hand-built':>17s}  (range over rounds)"
    )
    for backend, url in backends.items():
        if backend == "postgresql" and not url:
            continue
        result = run_child(backend, url, args.chunks, args.rounds)
        for mode in MODES:
            for clock in CLOCKS:
                built, orm = result[mode]["hand-built"][clock], result[mode]["ORM"][clock]
                ratios = [p50(o) / p50(b) for b, o in zip(built, orm, strict=True)]
                whole_built = p50([t for samples in built for t in samples])
                whole_orm = p50([t for samples in orm for t in samples])
                print(
                    f"{backend:11s} {mode:15s} {clock:5s} {whole_built * 1000:12.3f} ms "
                    f"{whole_orm * 1000:7.3f} ms {whole_orm / whole_built:16.2f}x  "
                    f"({min(ratios):.2f}-{max(ratios):.2f}x)"
                )


if __name__ == "__main__":
    main()
