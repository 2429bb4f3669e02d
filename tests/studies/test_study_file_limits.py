"""Study files are loaded without YAML anchors or aliases, and only up to a size."""
import pytest
import yaml

from config.exceptions import ApplicationError
from studies.models import Study
from studies.services.study_files import study_import

BILLION_LAUGHS = """\
format: persona-paradox-lab/study
format_version: 1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
study: {name: laughs}
case_sets: [*i]
personas: []
model_specs: []
"""


@pytest.mark.django_db
@pytest.mark.parametrize("data", [BILLION_LAUGHS, BILLION_LAUGHS.encode()])
def test_a_billion_laughs_document_is_refused_before_it_expands(data):
    with pytest.raises(ApplicationError) as caught:
        study_import(data=data)
    assert caught.value.message.startswith("The study file is not valid YAML/JSON: anchors and aliases (&name, "
                                           "*name) are not allowed in a study file")
    assert "line 3" in caught.value.message
    assert not Study.objects.exists()


@pytest.mark.django_db
def test_a_lone_alias_is_refused_too():
    with pytest.raises(ApplicationError, match="anchors and aliases"):
        study_import(data="format: persona-paradox-lab/study\nx: *undefined\n")


@pytest.mark.django_db
def test_a_study_file_over_the_size_limit_is_refused_unparsed(settings, monkeypatch):
    settings.STUDY_FILE_MAX_BYTES = 1_000

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(yaml, "load", no_parse)
    with pytest.raises(ApplicationError) as caught:
        study_import(data=b"x" * 1_001)
    assert caught.value.message == "The study file is 1,001 bytes; the limit is 1,000 (STUDY_FILE_MAX_BYTES)."


@pytest.mark.django_db
def test_deep_nesting_is_a_clear_error():
    with pytest.raises(ApplicationError, match="not valid YAML/JSON"):
        study_import(data="[" * 50_000 + "]" * 50_000)
