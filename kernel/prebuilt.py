"""Hot-path queries as SQL built once, read back into model instances the ORM's way.

Every request authenticates, and most authorize a default config. Built by the ORM
on every call, compiling those queries cost several times what running them did. So
their statements are built once per database vendor from the models' own tables and
columns, and each row is turned back into instances as the ORM does it: the same
columns, the same value converters, `Model.from_db`.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model


@dataclass(frozen=True)
class Columns:
    """Some of a model's columns in a statement, under a table alias."""

    model: type[Model]
    sql: str  # "alias.col, alias.col, ..." for the SELECT list
    attnames: list[str]  # in the model's field order, as Model.from_db wants them
    columns: list[Any]  # the ORM's column expressions, which the converters are given
    converters: list[list[Any]]

    @classmethod
    def of(cls, model: type[Model], alias: str, names: tuple[str, ...] = ()) -> "Columns":
        """`names` (ORM field names) of `model`, or all its concrete fields."""
        quote = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not names or f.name in names]
        cols = [f.get_col(alias) for f in fields]
        return cls(
            model=model,
            sql=", ".join(f"{alias}.{quote(f.column)}" for f in fields),
            attnames=[f.attname for f in fields],
            columns=cols,
            converters=[
                connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                for col in cols
            ],
        )

    def read(self, row: tuple, at: int = 0) -> tuple[Model, int]:
        """The instance in `row` from position `at`, and the position after it."""
        values = []
        raw = row[at : at + len(self.attnames)]
        for value, col, converters in zip(raw, self.columns, self.converters, strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            values.append(value)
        instance = self.model.from_db(connection.alias, self.attnames, values)
        return instance, at + len(self.attnames)


def column(alias: str, model: type[Model], name: str) -> str:
    """`alias.column` of the ORM field `name`; the bare column when `alias` is empty."""
    quoted = connection.ops.quote_name(model._meta.get_field(name).column)
    return f"{alias}.{quoted}" if alias else quoted
