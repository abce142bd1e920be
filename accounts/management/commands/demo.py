from decimal import Decimal

from django.core.management.base import BaseCommand

from accounts import services
from accounts.models import Customer

DEMO_NAME = "Demo customer"
DEMO_CREDITS = Decimal("3600")


class Command(BaseCommand):
    help = "Provision the demo customer on first run and print its API key (used by `make run`)."

    def handle(self, *args, **options):
        existing = Customer.objects.filter(name=DEMO_NAME).first()
        if existing:
            self.stdout.write(
                f"Demo customer exists: {existing.public_id}. Its key was shown on first run; "
                f"mint another with: .venv/bin/python manage.py apikey create {existing.public_id}"
            )
            return
        made = services.provision_customer(DEMO_NAME, plan_code="pro", credits=DEMO_CREDITS)
        self.stdout.write(
            self.style.SUCCESS("Demo customer provisioned with 3600 credits (one hour of audio).")
            + f"\n  customer_id: {made.customer.public_id}"
            + f"\n  project_id:  {made.project.public_id}"
            + f"\n  config_id:   {made.config.public_id}"
            + f"\n  API key:     {made.secret}   (shown once)"
        )
