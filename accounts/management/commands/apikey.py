from django.core.management.base import BaseCommand, CommandError

from accounts import keys, services
from accounts.management.commands._lookup import customer as find_customer
from accounts.management.commands._lookup import dumps
from accounts.models import ApiKey, Project


class Command(BaseCommand):
    help = "Create or revoke API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key (shown once)")
        create.add_argument("customer_id")
        create.add_argument(
            "--project", action="append", default=[], help="limit the key to this project"
        )
        create.add_argument("--name", default="")
        create.add_argument("--json", action="store_true")
        revoke = sub.add_parser("revoke", help="revoke a key by its secret or its prefix")
        revoke.add_argument("key_or_prefix")

    def handle(self, *args, action, **options):
        if action == "create":
            self._create(**options)
        else:
            self._revoke(options["key_or_prefix"])

    def _create(self, customer_id, project, name, json, **options):
        customer = find_customer(customer_id)
        projects = list(Project.objects.filter(customer=customer, public_id__in=project))
        if len(projects) != len(set(project)):
            raise CommandError("every --project must be one of this customer's projects")
        key, secret = services.create_api_key(customer, name=name, projects=projects)
        if json:
            self.stdout.write(dumps({"api_key": secret, "prefix": key.prefix}))
        else:
            self.stdout.write(f"api_key: {secret}\nprefix: {key.prefix}")

    def _revoke(self, key_or_prefix: str):
        key = ApiKey.objects.filter(prefix=keys.lookup_prefix(key_or_prefix)).first()
        if key is None or (
            len(key_or_prefix) > keys.LOOKUP_LENGTH
            and not keys.matches(key_or_prefix, key.key_hash)
        ):
            raise CommandError("no such API key")
        services.revoke_api_key(key)
        self.stdout.write(f"revoked {key.prefix}")
