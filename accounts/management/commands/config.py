from django.core.management.base import BaseCommand, CommandError

from accounts.models import Config


class Command(BaseCommand):
    help = "Manage configs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        delete = sub.add_parser("delete", help="delete a config; requests naming it then get 404")
        delete.add_argument("config_id")

    def handle(self, *args, action, config_id, **options):
        deleted, _ = Config.objects.filter(public_id=config_id).delete()
        if not deleted:
            raise CommandError(f"no config with id {config_id!r}")
        self.stdout.write(f"deleted {config_id}")
