"""Prepared statements for the hot hand-written statements: planned once per connection on PostgreSQL,
counted like any query, and a plain cursor where they are switched off or on SQLite."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.db import prepared_cursor

pytestmark = pytest.mark.django_db


def _run(value: int, step: int = 1):
    with prepared_cursor(connection) as cursor:
        cursor.execute(f"SELECT CAST(%s AS INTEGER) + {step}, %s", [value, "x"])
        return cursor.fetchone()


def _prepared_count(step: int = 1) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement = %s",
                       [f"SELECT CAST($1 AS INTEGER) + {step}, $2"])
        return cursor.fetchone()[0]


def test_a_statement_runs_with_its_parameters_and_is_counted_as_a_query():
    with CaptureQueriesContext(connection) as queries:
        assert _run(41) == (42, "x")
        assert _run(1) == (2, "x")
    assert len(queries.captured_queries) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_on_postgresql_the_statement_is_prepared_once_per_connection_with_one_generic_plan():
    for value in range(8):  # PostgreSQL's own choice would start with five custom plans
        _run(value)
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = %s",
                       ["SELECT CAST($1 AS INTEGER) + 1, $2"])
        assert cursor.fetchall() == [(8, 0)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_switched_off_the_statement_runs_unprepared(monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)  # DATABASE_PREPARED_STATEMENTS=0
    assert _run(5, step=2) == (7, "x")
    assert _prepared_count(step=2) == 0


def test_the_setting_switches_preparing_off_and_sets_persistent_connections():
    from tests.config.test_settings import _settings_probe

    url = {"SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u:p@db:5432/d"}
    on = _settings_probe(url, "s.DATABASES['default']['OPTIONS'], s.DATABASES['default']['CONN_MAX_AGE'], "
                              "s.DATABASES['default']['CONN_HEALTH_CHECKS']")
    off = _settings_probe({**url, "DATABASE_PREPARED_STATEMENTS": "0"}, "s.DATABASES['default']['OPTIONS']")
    assert on.stdout.strip() == ("{'prepare_threshold': 5, 'options': '-c plan_cache_mode=force_generic_plan'} "
                                 "60 True"), on.stderr
    assert off.stdout.strip() == "{'prepare_threshold': None}", off.stderr
