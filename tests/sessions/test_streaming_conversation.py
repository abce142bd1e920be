"""The streaming conversation every streaming surface uses: charge, log, analyse, replay.

Real tiny.en inference on JFK's speech; the database through the same thread hops the
surfaces use."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from accounts import services as accounts
from accounts.access import authorize
from accounts.credentials import Principal
from accounts.models import Customer
from billing.models import LedgerEntry
from billing.products import Product
from billing.services import InsufficientCredits
from sessions_app.engine import Event, StreamingOptions, StreamingTranscriber, decode_file
from sessions_app.models import Session, SessionEvent
from sessions_app.pipeline.streaming_conversation import Final, StreamingConversation
from sessions_app.services import sessions

pytestmark = pytest.mark.django_db(transaction=True)
JFK = Path(__file__).resolve().parent.parent / "fixtures" / "audio" / "jfk.ogg"


class Log:
    def partial(self, event: Event):
        return []

    def final(self, final: Final):
        return [
            ("final_transcript", {"utterance_id": final.utterance_id, "text": final.event.text})
        ]

    def analysis(self, final: Final):
        return [("emotion", final.update.analysis.emotion_event())] if final.update else []


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    silence = np.zeros(16000, dtype=np.float32)
    return np.concatenate([decode_file(JFK).mono(), silence])


def _session(credits: str, settings, tmp_path) -> Session:
    settings.DATA_DIR = tmp_path
    provisioned = accounts.provision_customer(
        "Stream Co", plan_code="pro", credits=Decimal(credits)
    )
    customer = Customer.objects.get(pk=provisioned.customer.pk)
    access = authorize(Principal(key=provisioned.api_key, customer=customer), product=None)
    return sessions.open_session(access, Session.Kind.LIVE)


def _conversation(session: Session, **options) -> StreamingConversation:
    return StreamingConversation(
        session,
        StreamingTranscriber(StreamingOptions(partials=False, patient=True)),
        product=Product.ANALYTICS,
        formatter=Log(),
        analyse=True,
        **options,
    )


async def _feed(conversation: StreamingConversation, audio: np.ndarray) -> list[Final]:
    finals: list[Final] = []
    for i in range(0, len(audio), 1600):
        finals += (await conversation.feed_samples(audio[i : i + 1600])).finals
    return finals


def _rows(session: Session) -> list[tuple[str, dict]]:
    return list(
        SessionEvent.objects.filter(session=session).order_by("seq").values_list("type", "payload")
    )


def _usage(session: Session) -> Decimal:
    entries = LedgerEntry.objects.filter(session_ref=str(session.pk), kind="usage")
    return -sum((e.amount for e in entries), Decimal(0))


async def test_each_final_is_charged_then_logged_then_analysed(speech, settings, tmp_path):
    from asgiref.sync import sync_to_async

    session = await sync_to_async(_session)("100", settings, tmp_path)
    conversation = _conversation(session)
    finals = await _feed(conversation, speech)
    outcome = await conversation.finish()
    finals += outcome.finals
    assert finals and all(f.update is not None for f in finals)
    assert [f.utterance_id for f in finals] == [
        f"{session.conversation_id}_utt_{i:04d}" for i in range(len(finals))
    ]
    rows = await sync_to_async(_rows)(session)
    assert [t for t, _ in rows] == ["final_transcript", "emotion"] * len(finals)
    assert "americans" in " ".join(f.event.text for f in finals).lower()
    assert outcome.result is not None and outcome.result.summary
    await sync_to_async(session.refresh_from_db)()
    assert session.billed_seconds == Decimal(str(round(conversation.processed_audio, 3)))
    assert await sync_to_async(_usage)(session) == session.billed_seconds


async def test_a_takeover_replays_persisted_finals_without_billing_or_logging_them_again(
    speech, settings, tmp_path
):
    from asgiref.sync import sync_to_async

    session = await sync_to_async(_session)("100", settings, tmp_path)
    first = _conversation(session)
    delivered = await _feed(first, speech[: (9 * 16000)])  # the holder dies here
    first.close()
    assert delivered
    billed = await sync_to_async(_usage)(session)

    # Another process takes over: it loads the session as the database has it.
    session = await sync_to_async(Session.objects.get)(pk=session.pk)
    second = _conversation(session, replayed_finals=len(delivered))
    again = await _feed(second, speech)
    again += (await second.finish()).finals
    rows = await sync_to_async(_rows)(session)
    ids = [p["utterance_id"] for t, p in rows if t == "final_transcript"]
    assert len(ids) == len(set(ids)) == len(delivered) + len(again)
    assert all(f.event.segment >= len(delivered) for f in again)
    # The replayed stretch was paid for once: only the audio after it is charged again.
    await sync_to_async(session.refresh_from_db)()
    assert await sync_to_async(_usage)(session) == session.billed_seconds >= billed
    assert second.analysis.count == len(delivered) + len(again)  # the agents were rebuilt


async def test_a_final_the_balance_cannot_pay_is_neither_logged_nor_returned(
    speech, settings, tmp_path
):
    from asgiref.sync import sync_to_async

    session = await sync_to_async(_session)("3", settings, tmp_path)
    conversation = _conversation(session)
    returned: list[Event] = []
    with pytest.raises(InsufficientCredits) as refused:
        for i in range(0, len(speech), 1600):
            returned += (await conversation.feed_samples(speech[i : i + 1600])).events
    paid = [e for e in [*returned, *refused.value.deliverable] if e.is_final]
    assert paid, "the first final fits in 3 credits"
    rows = await sync_to_async(_rows)(session)
    assert [p["text"] for t, p in rows if t == "final_transcript"] == [e.text for e in paid]
    await sync_to_async(session.refresh_from_db)()
    assert session.billed_seconds <= Decimal("3")
