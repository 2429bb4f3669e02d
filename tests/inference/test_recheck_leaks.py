"""manage.py recheck_leaks: stored responses get the current detector's persona-leak flags and spans."""
import pytest
from django.core.management import CommandError, call_command

from studies.leak import detect_persona_leak
from studies.models import Response
from tests import factories

# Response texts here are test fixtures (labelled as such), never model output.
LEAKING = "[test fixture] As an ED physician, I would admit this patient."
LEAKING_INVISIBLY = "[test fixture] As an ED\u200bphysician, I would admit."
PLAIN = "[test fixture] Admit the patient and repeat the ECG."


@pytest.fixture
def stored(db):
    """Responses stored with the flags an older detector gave them."""
    persona = factories.PersonaFactory(slug="ed-physician", role="ED physician")
    study, other = factories.StudyFactory(personas=[persona]), factories.StudyFactory(personas=[persona])

    def response(text, flagged, in_study=study):
        return factories.ResponseFactory(study=in_study, persona=persona, text=text, leaks_persona=flagged,
                                         leak_spans=[[0, 5]] if flagged else [])

    return study, other, {
        "missed": response(LEAKING, False), "missed_invisible": response(LEAKING_INVISIBLY, False),
        "false_alarm": response(PLAIN, True), "right": response(PLAIN, False),
        "other_study": response(LEAKING, False, in_study=other),
    }


def test_the_command_updates_flags_and_spans_and_counts_changes(stored, capsys):
    study, _other, r = stored
    call_command("recheck_leaks", "--study", str(study.pk), "--batch-size", "2")
    assert capsys.readouterr().out.strip() == (
        "Checked 4 response(s); changed 3 (2 newly flagged, 1 cleared).")
    for key in ("missed", "missed_invisible", "false_alarm", "right"):
        response = Response.objects.get(pk=r[key].pk)
        expected = [list(s) for s in detect_persona_leak(response.text, persona=response.persona)]
        assert (response.leaks_persona, response.leak_spans) == (bool(expected), expected)
    missed = Response.objects.get(pk=r["missed"].pk)
    [[start, end]] = missed.leak_spans
    assert missed.text[start:end].startswith("As an ED physician")
    assert Response.objects.get(pk=r["other_study"].pk).leaks_persona is False  # another study: untouched

    call_command("recheck_leaks", "--study", str(study.pk))
    assert "changed 0 (0 newly flagged, 0 cleared)" in capsys.readouterr().out


def test_without_a_study_every_response_is_checked_and_a_dry_run_writes_nothing(stored, capsys):
    _study, _other, r = stored
    call_command("recheck_leaks", "--dry-run")
    assert capsys.readouterr().out.strip() == (
        "Checked 5 response(s); would change 4 (3 newly flagged, 1 cleared).")
    assert Response.objects.get(pk=r["missed"].pk).leaks_persona is False
    call_command("recheck_leaks")
    assert Response.objects.filter(leaks_persona=True).count() == 3


def test_bad_arguments_are_refused(db):
    with pytest.raises(CommandError, match="No study with id 999999"):
        call_command("recheck_leaks", "--study", "999999")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("recheck_leaks", "--batch-size", "0")
