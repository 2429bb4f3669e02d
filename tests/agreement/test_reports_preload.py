"""A worker that builds reports imports the model-fitting libraries before it forks its processes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys, types, django
django.setup()
from agreement.tasks import preload_report_libraries
assert "statsmodels" not in sys.modules, "imported before the worker started"
queues = types.SimpleNamespace(consume_from=dict.fromkeys({queues!r}))
sender = types.SimpleNamespace(app=types.SimpleNamespace(amqp=types.SimpleNamespace(queues=queues)))
print(preload_report_libraries(sender=sender), "statsmodels.miscmodels.ordinal_model" in sys.modules)
"""


@pytest.mark.parametrize(("queues", "preloaded"), [(["default"], True), (["gpu"], False), (["gpu", "default"], True)])
def test_only_a_worker_of_the_default_queue_imports_them(queues, preloaded):
    """In a fresh interpreter: this one may have imported them already."""
    out = subprocess.run([sys.executable, "-c", CHECK.format(queues=queues)], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(preloaded)] * 2
