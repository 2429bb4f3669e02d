"""The report task on a real Celery worker over Redis (TEST_CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/5)."""
import os
import time

import pytest
from django.db import transaction

from agreement import services
from agreement.models import Report, ReportStatus
from config.celery import app
from tests.agreement.report_fixtures import rated_study
from tests.conftest import skip_or_fail

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    broker = os.environ.get("TEST_CELERY_BROKER_URL")
    if not broker:
        skip_or_fail("TEST_CELERY_BROKER_URL is not set")
    import redis

    try:
        redis.Redis.from_url(broker).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"Redis not reachable at {broker}")
    from celery.contrib.testing.worker import start_worker

    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url=broker, task_always_eager=False, result_backend=None)
    _drop_connection_pools()
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", queues=["default"]):
            yield
    finally:
        app.conf.update(saved)
        _drop_connection_pools()


def _drop_connection_pools():
    """Eager calls in earlier tests opened a producer pool on the old broker; drop it as a fork would."""
    app._pool = None
    app.amqp._producer_pool = None


def test_a_queued_report_is_built_by_the_worker_and_then_reused(worker):
    study = rated_study({
        "ann": [{"safety": ("compliant", "high")}, {"safety": ("not_compliant", "low")}],
        "bob": [{"safety": ("compliant", "medium")}, {"safety": ("compliant", "low")}],
    })[0]

    def wait(report):
        for _ in range(1200):  # up to 2 minutes on a busy machine
            report.refresh_from_db()
            if report.is_finished:
                return report
            time.sleep(0.1)
        raise AssertionError(f"report {report.pk} still {report.status}")

    with transaction.atomic():
        first = services.report_request(study=study, format="csv")
    first = wait(first)
    assert first.status == ReportStatus.DONE and first.progress == 1.0 and first.file
    with transaction.atomic():
        second = services.report_request(study=study, format="csv")
    second = wait(second)
    assert second.reused_from_id == first.pk and Report.objects.count() == 2
