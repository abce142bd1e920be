"""A live processor that lost its lease can never log an utterance a second time.

A CPU-starved worker (`live_worker --idle`) can stall past its lease; another process
takes the lease and carries the session to its end. When the first wakes up, its
writes must be refused (fenced), not appended as a second copy of what the other
already logged."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from accounts.access import authorize
from accounts.credentials import Principal
from accounts.models import Customer
from billing.products import Product
from sessions_app.models import SessionEvent
from sessions_app.pipeline.capture_processor import CaptureProcessor
from sessions_app.services import captures, events
from sessions_app.services.leases import Lease

pytestmark = pytest.mark.django_db(transaction=True)
LEASE = 1  # seconds: the first processor's lease runs out while it is stalled


def _stored_capture(provisioned, wav: bytes) -> str:
    customer = Customer.objects.get(pk=provisioned.customer.pk)
    access = authorize(
        Principal(key=provisioned.api_key, customer=customer), product=Product.ANALYTICS
    )
    capture = captures.start(access, goal="", suffix=".wav", ttl_seconds=900)
    for seq, offset in enumerate(range(0, len(wav), 32000)):
        captures.accept_chunk(customer, capture.public_id, seq, wav[offset : offset + 32000])
    captures.control(customer, capture.public_id, "finalize", "")
    return capture.public_id


def _logged(public_id: str, kind: str) -> list[dict]:
    return list(
        SessionEvent.objects.filter(session__live__public_id=public_id, type=kind)
        .order_by("seq")
        .values_list("payload", flat=True)
    )


async def test_a_processor_paused_past_its_lease_never_logs_an_utterance_twice(
    customer_with_credits, jfk_wav, settings, tmp_path, monkeypatch
):
    settings.DATA_DIR = tmp_path
    public_id = await sync_to_async(_stored_capture)(customer_with_credits, jfk_wav)

    stalled, resume = threading.Event(), threading.Event()
    settle = events.settle

    def first_final_stalls(*args, **kwargs):
        if not stalled.is_set():  # the first processor, at its first final
            stalled.set()
            assert resume.wait(60)
        return settle(*args, **kwargs)

    monkeypatch.setattr(events, "settle", first_final_stalls)

    first_lease = Lease(f"live-owner:{public_id}", LEASE)
    assert first_lease.acquire()
    first = asyncio.create_task(CaptureProcessor(public_id, first_lease).run())
    assert await asyncio.to_thread(stalled.wait, 60)

    second_lease = Lease(f"live-owner:{public_id}", LEASE)
    for _ in range(100):  # the stalled holder cannot renew: its lease runs out
        if await asyncio.to_thread(second_lease.acquire):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the stalled processor's lease never ran out")
    await asyncio.wait_for(CaptureProcessor(public_id, second_lease).run(), 120)
    taken_over = await sync_to_async(_logged)(public_id, "final_transcript")
    assert taken_over and (await sync_to_async(_logged)(public_id, "done"))

    resume.set()  # the first processor wakes up, its lease long gone
    await asyncio.wait_for(first, 60)

    finals = await sync_to_async(_logged)(public_id, "final_transcript")
    ids = [f["utterance_id"] for f in finals]
    assert ids == [f["utterance_id"] for f in taken_over], "an utterance was logged twice"
    assert len(await sync_to_async(_logged)(public_id, "done")) == 1
    assert await asyncio.to_thread(second_lease.taken) is False  # released at the end
