"""Django's PostgreSQL backend, with a pooled connection's health check that costs no
round trip.

psycopg's pool can check every connection it lends (what CONN_HEALTH_CHECKS turns
on): an empty query, one more round trip on every request. A live session's chunk
costs a handful of round trips in all, so that one was a measurable share of its
acknowledgement. An idle connection's socket has nothing to read unless the server
spoke: it closed the connection (a restart, pg_terminate_backend, an idle timeout)
or sent a notice. Only then is the server asked, and a dead connection is swapped
for a new one before the request uses it, as the pool's own check would do.
"""

import select

from django.db.backends.postgresql import base
from psycopg import Connection
from psycopg import Error as PsycopgError
from psycopg_pool import ConnectionPool


def _alive(connection: Connection) -> bool:
    if connection.closed or connection.broken:
        return False
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    if not poller.poll(0):
        return True  # the server has said nothing since the last use
    try:
        ConnectionPool.check_connection(connection)  # reads what it said: a notice, or the end
    except PsycopgError:
        return False
    return True


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        while True:
            connection = super().get_new_connection(conn_params)
            if not self.pool or _alive(connection):
                return connection
            # Returned closed, the pool discards it and opens a replacement.
            connection.close()
            self.pool.putconn(connection)
