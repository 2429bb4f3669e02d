import json

import pytest


@pytest.fixture(autouse=True)
def _reports_hold_only_finite_numbers(monkeypatch):
    """Every report these tests build is encoded with ``json.dumps(allow_nan=False)``, which raises on a NaN or
    an infinity: the report's own writer (orjson) would write it as null without a word. And its methods text,
    whose interval figures were gathered section by section where each was computed, is the text a walk over
    the whole report gives."""
    from agreement.reports.builder import ReportBuilder
    from agreement.reports.methods import interval_figures, methods_paragraph

    build = ReportBuilder.build

    def checked(self, *args, **kwargs):
        report = build(self, *args, **kwargs)
        json.dumps(report, allow_nan=False)
        whole = interval_figures({key: value for key, value in report.items() if key != "meta"})
        assert report["meta"]["methods"] == methods_paragraph(report, [whole])
        return report

    monkeypatch.setattr(ReportBuilder, "build", checked)
