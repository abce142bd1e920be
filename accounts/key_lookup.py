"""The API-key lookup behind every request, as one SQL statement built once.

Each request resolves its key with the key, its customer, the plan and the balance
in one query. Built by the ORM on every call, compiling that query cost several
times what running it did, on the hottest path there is (a live session uploads ten
chunks a second). So the statement is built once per database vendor from the
models' own tables and columns, and its row is turned back into model instances the
way the ORM does it: the same columns, the same value converters, `Model.from_db`.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from accounts.models import ApiKey, Customer
from billing.models import CreditAccount, Plan

# What the resolver and the authorizer read, per model (ORM field names).
_READ: tuple[tuple[type[Model], str, tuple[str, ...]], ...] = (
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


@dataclass(frozen=True)
class _Part:
    model: type[Model]
    attnames: list[str]  # in the model's field order, as Model.from_db wants them
    columns: list[Any]  # the ORM's column expressions, which the converters are given
    converters: list[list[Any]]


def _column(alias: str, model: type[Model], name: str) -> str:
    return f"{alias}.{connection.ops.quote_name(model._meta.get_field(name).column)}"


@cache
def _statement(vendor: str) -> tuple[str, tuple[_Part, ...]]:
    quote = connection.ops.quote_name
    columns, parts = [], []
    for model, alias, names in _READ:
        fields = [f for f in model._meta.concrete_fields if f.name in names]
        cols = [f.get_col(alias) for f in fields]
        parts.append(
            _Part(
                model=model,
                attnames=[f.attname for f in fields],
                columns=cols,
                converters=[
                    connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                    for col in cols
                ],
            )
        )
        columns += [f"{alias}.{quote(f.column)}" for f in fields]
    through = ApiKey.projects.through._meta
    restricted = (
        f"EXISTS (SELECT 1 FROM {quote(through.db_table)} r "
        f"WHERE r.{quote(through.get_field('apikey').column)} = {_column('k', ApiKey, 'id')})"
    )
    sql = (
        f"SELECT {', '.join(columns)}, {restricted} "
        f"FROM {quote(ApiKey._meta.db_table)} k "
        f"JOIN {quote(Customer._meta.db_table)} c "
        f"ON {_column('c', Customer, 'id')} = {_column('k', ApiKey, 'customer')} "
        f"JOIN {quote(Plan._meta.db_table)} p "
        f"ON {_column('p', Plan, 'id')} = {_column('c', Customer, 'plan')} "
        f"LEFT JOIN {quote(CreditAccount._meta.db_table)} a "
        f"ON {_column('a', CreditAccount, 'customer')} = {_column('c', Customer, 'id')} "
        f"WHERE {_column('k', ApiKey, 'prefix')} = %s"
    )
    return sql, tuple(parts)


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
        values = []
        raw = row[at : at + len(part.attnames)]
        for value, col, converters in zip(raw, part.columns, part.converters, strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            values.append(value)
        at += len(part.attnames)
        instances.append(part.model.from_db(connection.alias, part.attnames, values))
    key, customer, plan, account = instances
    customer.plan = plan
    if account.pk is not None:
        customer.credit_account = account
    key.customer = customer
    key.restricted = bool(row[at])
    return key
