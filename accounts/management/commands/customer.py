from django.core.management.base import BaseCommand

from accounts import services
from accounts.management.commands._lookup import customer as find_customer


class Command(BaseCommand):
    help = "Activate or deactivate a customer. Takes effect on the next request."

    def add_arguments(self, parser):
        parser.add_argument("customer_id")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--activate", action="store_true")
        action.add_argument("--deactivate", action="store_true")

    def handle(self, *args, customer_id, activate, deactivate, **options):
        customer = find_customer(customer_id)
        services.set_active(customer, activate)
        self.stdout.write(f"{customer.name}: {'active' if activate else 'inactive'}")
