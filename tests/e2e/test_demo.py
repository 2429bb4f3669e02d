"""The demo that `scripts/run.sh` loads: a person can log in as the demo clinician and rate."""
import pytest
from django.urls import reverse

from annotation.models import Assignment, Rating
from demo.services import DEMO_STUDY, SIMULATED, demo_load
from studies.models import Response

pytestmark = pytest.mark.django_db


def test_demo_loads_real_responses_and_a_clinician_can_open_the_rating_page(client):
    result = demo_load()
    assert result.created and result.study.name == DEMO_STUDY
    responses = Response.objects.filter(study=result.study)
    assert responses.count() == 80  # 8 example cases x 10 default personas
    assert all(r.provenance.get("engine") == "vllm" for r in responses)  # generated, not written by hand

    assert client.login(username="clinician", password=result.passwords["clinician"])
    page = client.get(reverse("annotation:rater_home"), follow=True)
    assert page.status_code == 200
    assert Assignment.objects.filter(rater__username="clinician", study=result.study).exists()
    assert not Rating.objects.filter(assignment__rater__username="clinician").exists()


def test_demo_is_idempotent_and_simulated_ratings_are_labelled():
    first = demo_load()
    second = demo_load()
    assert not second.created and second.study == first.study
    assert first.passwords["admin"] != second.passwords["admin"]
    simulated = Rating.objects.filter(assignment__rater__username__startswith="sim-rater-")
    assert simulated.exists() and not simulated.exclude(comment=SIMULATED).exists()


def test_demo_report_opens_in_the_browser_with_plots_and_its_csv_loads_in_pandas(client, settings, tmp_path):
    pandas = pytest.importorskip("pandas")
    from agreement.services import report_generate

    settings.MEDIA_ROOT = tmp_path
    result = demo_load()
    html = report_generate(study=result.study, format="html", parameters={"n_boot": 50})
    assert client.login(username="researcher", password=result.passwords["researcher"])
    page = client.get(f"/reports/{html.pk}/view/")
    assert page.status_code == 200
    body = b"".join(page.streaming_content) if page.streaming else page.content
    assert body.count(b"<svg") >= 3  # heatmap, confidence distributions, forest plot, ...
    assert b"sim-rater-" in body and b"simulated" in body  # the report says which raters are simulated
    summary = report_generate(study=result.study, format="json", parameters={"n_boot": 20}).summary
    assert "simulated" in summary["meta"]["study"]["description"]

    csv_report = report_generate(study=result.study, format="csv", parameters={"n_boot": 50})
    frame = pandas.read_csv(csv_report.file.path)
    assert {"persona", "model", "rater", "dimension", "value"} <= set(frame.columns)
    assert len(frame) > 0
