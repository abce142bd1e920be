from decimal import Decimal

from django.core.management.base import BaseCommand

from accounts import services
from accounts.management.commands._lookup import dumps


class Command(BaseCommand):
    help = "Create a customer with one project, its default config and one API key."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="customer name")
        parser.add_argument("--plan", choices=["free", "pro", "enterprise"], default="free")
        parser.add_argument("--credits", type=Decimal, default=Decimal("0"))
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON")

    def handle(self, *args, customer, plan, credits, json, **options):
        made = services.provision_customer(customer, plan_code=plan, credits=credits)
        result = {
            "customer_id": str(made.customer.public_id),
            "project_id": made.project.public_id,
            "config_id": made.config.public_id,
            "api_key": made.secret,
        }
        if json:
            self.stdout.write(dumps(result))
            return
        for name, value in result.items():
            self.stdout.write(f"{name}: {value}")
        self.stdout.write(self.style.WARNING("The API key is shown only once: store it now."))
