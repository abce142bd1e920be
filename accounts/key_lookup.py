"""The API-key lookup behind every request, as one SQL statement built once (see
kernel.prebuilt): the key, its customer, the plan and the balance in one query."""

from functools import cache

from django.db import connection

from accounts.models import ApiKey, Customer
from billing.models import CreditAccount, Plan
from kernel.prebuilt import Columns, column

# What the resolver and the authorizer read, per model (ORM field names).
_READ: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (
        ApiKey,
        "k",
        ("id", "customer", "prefix", "key_hash", "last_used_at", "expires_at", "revoked_at"),
    ),
    (
        Customer,
        "c",
        ("id", "public_id", "name", "is_active", "concurrent_sessions_override", "plan"),
    ),
    (
        Plan,
        "p",
        ("id", "code", "concurrent_sessions", "max_session_minutes", "requests_per_minute"),
    ),
    (CreditAccount, "a", ("customer", "balance")),
)


@cache
def _statement(vendor: str) -> tuple[str, tuple[Columns, ...]]:
    quote = connection.ops.quote_name
    parts = tuple(Columns.of(model, alias, names) for model, alias, names in _READ)
    through = ApiKey.projects.through
    restricted = (
        f"EXISTS (SELECT 1 FROM {quote(through._meta.db_table)} r "
        f"WHERE {column('r', through, 'apikey')} = {column('k', ApiKey, 'id')})"
    )
    sql = (
        f"SELECT {', '.join(part.sql for part in parts)}, {restricted} "
        f"FROM {quote(ApiKey._meta.db_table)} k "
        f"JOIN {quote(Customer._meta.db_table)} c "
        f"ON {column('c', Customer, 'id')} = {column('k', ApiKey, 'customer')} "
        f"JOIN {quote(Plan._meta.db_table)} p "
        f"ON {column('p', Plan, 'id')} = {column('c', Customer, 'plan')} "
        f"LEFT JOIN {quote(CreditAccount._meta.db_table)} a "
        f"ON {column('a', CreditAccount, 'customer')} = {column('c', Customer, 'id')} "
        f"WHERE {column('k', ApiKey, 'prefix')} = %s"
    )
    return sql, parts


def load_key(prefix: str) -> ApiKey | None:
    """The key with this prefix, its customer, plan and credit account attached, and
    `restricted` (whether it is limited to some projects); None if there is none."""
    sql, parts = _statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    instances, at = [], 0
    for part in parts:
        instance, at = part.read(row, at)
        instances.append(instance)
    key, customer, plan, account = instances
    customer.plan = plan
    if account.pk is not None:
        customer.credit_account = account
    key.customer = customer
    key.restricted = bool(row[at])
    return key
