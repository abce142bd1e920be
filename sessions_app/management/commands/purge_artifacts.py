from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import Session, SessionEvent
from sessions_app.services.artifacts import ArtifactStore


class Command(BaseCommand):
    help = (
        "Delete the artifacts (media, events, analyses) of sessions older than the retention "
        "period. Session rows stay, for usage history; the credit ledger is never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.ARTIFACT_RETENTION_DAYS)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days: int, dry_run: bool, **options):
        cutoff = timezone.now() - timedelta(days=days)
        old = Session.objects.filter(
            Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, updated_at__lt=cutoff),
            artifacts_purged_at__isnull=True,
        )
        count = 0
        for session in old.iterator():
            count += 1
            if dry_run:
                continue
            ArtifactStore(session.conversation_id).remove()
            SessionEvent.objects.filter(session=session).delete()
            Session.objects.filter(pk=session.pk).update(artifacts_purged_at=timezone.now())
        verb = "would purge" if dry_run else "purged"
        self.stdout.write(f"{verb} artifacts of {count} session(s) older than {days} day(s)")
