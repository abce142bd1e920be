"""Old artifacts are purged on schedule; quiet event streams carry keepalive comments."""

import asyncio
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from sessions_app.models import Session, SessionEvent
from sessions_app.services import events, sessions
from sessions_app.services.artifacts import ArtifactStore
from sessions_app.surfaces.analytics import sse


def _ended_session(access_of, days_ago: int) -> Session:
    session = sessions.open_session(access_of, Session.Kind.ANALYSIS)
    events.emit(session, "status", {"phase": "completed", "progress": 1.0})
    ArtifactStore(session.conversation_id).write_json("summary.json", {"overview": "x"})
    Session.objects.filter(pk=session.pk).update(ended_at=timezone.now() - timedelta(days=days_ago))
    return session


def test_purge_removes_only_artifacts_older_than_the_retention(customer_with_credits, settings):
    from accounts import credentials
    from accounts.access import authorize

    access = authorize(credentials.resolve(credentials.Credential(customer_with_credits.secret)))
    old, recent = _ended_session(access, 40), _ended_session(access, 2)
    call_command("purge_artifacts", "--days", "30")
    assert not ArtifactStore(old.conversation_id).dir.exists()
    assert not SessionEvent.objects.filter(session=old).exists()
    assert Session.objects.get(pk=old.pk).artifacts_purged_at is not None, "the session row stays"
    assert ArtifactStore(recent.conversation_id).path("summary.json").exists()
    assert SessionEvent.objects.filter(session=recent).exists()


def test_a_quiet_stream_gets_keepalive_comments():
    async def slow():
        await asyncio.sleep(0.35)
        yield "event: done\ndata: {}\n\n"

    async def collect():
        return [frame async for frame in sse.with_heartbeats(slow(), every=0.1)]

    frames = asyncio.run(collect())
    assert frames[0] == sse.OPEN
    assert frames.count(sse.HEARTBEAT) >= 2
    assert frames[-1].startswith("event: done")
    assert sse.HEARTBEAT_SECONDS <= 15
