import uuid
from decimal import Decimal

from django.core.management.base import BaseCommand

from accounts.management.commands._lookup import customer as find_customer
from accounts.management.commands._lookup import dumps
from billing import services as billing


class Command(BaseCommand):
    help = "Show or change a customer's credit balance (1 credit = 1 second of processed audio)."

    def add_arguments(self, parser):
        parser.add_argument("customer_id")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--grant", type=Decimal, metavar="N")
        action.add_argument("--set", type=Decimal, metavar="N", dest="set_to")
        action.add_argument("--show", action="store_true")
        parser.add_argument("--reason", default="operator CLI")
        parser.add_argument("--idempotency-key", help="replaying the same key changes nothing")
        parser.add_argument("--json", action="store_true")

    def handle(
        self, *args, customer_id, grant, set_to, show, reason, idempotency_key, json, **options
    ):
        customer = find_customer(customer_id)
        key = idempotency_key or f"cli-{uuid.uuid4()}"
        if grant is not None:
            billing.grant(customer, grant, reason=reason, idempotency_key=key)
        elif set_to is not None:
            billing.set_balance(customer, set_to, reason=reason, idempotency_key=key)
        balance = billing.balance(customer)
        if json:
            self.stdout.write(
                dumps({"customer_id": str(customer.public_id), "balance": str(balance)})
            )
        else:
            self.stdout.write(f"{customer.name}: {balance} credits")
