"""The default config a request without config_id or project_id runs with, as one SQL
statement built once (see kernel.prebuilt): the default config of the customer's
oldest project, among the projects the key may use when it is limited to some."""

from functools import cache

from django.db import connection

from accounts.models import ApiKey, Config, Project
from kernel.prebuilt import Columns, column


@cache
def _statement(vendor: str, restricted: bool) -> tuple[str, Columns, Columns]:
    quote = connection.ops.quote_name
    config, project = Columns.of(Config, "f"), Columns.of(Project, "p")
    sql = (
        f"SELECT {config.sql}, {project.sql} "
        f"FROM {quote(Config._meta.db_table)} f JOIN {quote(Project._meta.db_table)} p "
        f"ON {column('p', Project, 'id')} = {column('f', Config, 'project')} "
        f"WHERE {column('p', Project, 'customer')} = %s AND {column('f', Config, 'is_default')}"
    )
    if restricted:
        through = ApiKey.projects.through
        sql += (
            f" AND EXISTS (SELECT 1 FROM {quote(through._meta.db_table)} r"
            f" WHERE {column('r', through, 'apikey')} = %s"
            f" AND {column('r', through, 'project')} = {column('p', Project, 'id')})"
        )
    sql += f" ORDER BY {column('p', Project, 'created_at')}, {column('p', Project, 'id')} LIMIT 1"
    return sql, config, project


def load_default_config(key: ApiKey, restricted: bool) -> Config | None:
    """The key's default config with its project attached; None if there is none."""
    sql, config_columns, project_columns = _statement(connection.vendor, restricted)
    params = [key.customer_id, key.pk] if restricted else [key.customer_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    config, at = config_columns.read(row)
    config.project, _ = project_columns.read(row, at)
    return config
