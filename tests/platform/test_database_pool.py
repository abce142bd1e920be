"""Pooled PostgreSQL connections are checked without a round trip, and a connection the
server closed is replaced before a request uses it."""

import time

import psycopg
import pytest
from django.db import connection

from config.postgresql.base import _alive

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="psycopg's pool serves PostgreSQL only"
)


def _admin() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**{**params, "autocommit": True})


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_pooled_connection_the_server_ended_is_replaced_before_use(transactional_db):
    before = _backend_pid()
    connection.close()  # back to the pool, as at the end of a request
    # Every server process behind the pool's idle connections, the one just returned
    # among them. (Not every process of the database: a connection another thread has
    # checked out is that thread's, and later tests would find it dead.)
    ended = [idle.info.backend_pid for idle in connection.pool._pool]
    assert before in ended
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [ended])
        # pg_terminate_backend only signals: wait until those server processes are gone.
        deadline = time.monotonic() + 5
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [ended]
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "terminated server processes lingered"
            time.sleep(0.02)
    # The next request's first query works, on a new server process.
    assert _backend_pid() not in ended


def test_an_idle_connection_passes_the_check_without_a_query(transactional_db, monkeypatch):
    connection.ensure_connection()
    raw = connection.connection
    monkeypatch.setattr(raw, "execute", lambda *args, **kwargs: pytest.fail("a round trip"))
    assert _alive(raw)


def test_a_connection_the_server_ended_fails_the_check(transactional_db):
    with _admin() as admin, _admin() as victim:
        admin.execute("SELECT pg_terminate_backend(%s)", [victim.info.backend_pid])
        deadline = time.monotonic() + 5  # until the server's goodbye reaches the socket
        while _alive(victim):
            assert time.monotonic() < deadline, "a terminated connection passed the check"
            time.sleep(0.02)
