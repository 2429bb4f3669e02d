"""Download file names: a study name becomes one safe file name, whatever characters it holds."""
import io

import pytest
from django.http import FileResponse

from config.downloads import download_filename


@pytest.mark.parametrize(("name", "suffix", "expected"), [
    ("ICU/ED triage", "csv", "ICU-ED-triage.csv"),
    ("ICU/ED triage-agreement-0123abcd", ".html", "ICU-ED-triage-agreement-0123abcd.html"),
    ("..\\..\\etc/passwd", "json", "etc-passwd.json"),
    ('quote" ; name=evil', "csv", "quote-name-evil.csv"),
    ("Étude pédiatrique", "csv", "Étude-pédiatrique.csv"),
    ("///", "csv", "download.csv"),
    ("", "tar.gz", "download.tar.gz"),
    ("line\nbreak\ttab", "txt", "line-break-tab.txt"),
    ("study", "", "study"),
])
def test_download_filename(name, suffix, expected):
    assert download_filename(name, suffix) == expected


def test_long_names_are_shortened_but_keep_their_suffix():
    name = download_filename("x" * 500, "csv")
    assert name.endswith(".csv") and len(name) <= 120


def test_a_slash_in_the_name_no_longer_truncates_the_attachment_name():
    raw = FileResponse(io.BytesIO(b"x"), as_attachment=True, filename="ICU/ED triage-agreement.csv")
    assert 'filename="ED triage-agreement.csv"' in raw["Content-Disposition"]  # what happens without the helper
    safe = FileResponse(io.BytesIO(b"x"), as_attachment=True,
                        filename=download_filename("ICU/ED triage-agreement", "csv"))
    assert safe["Content-Disposition"] == 'attachment; filename="ICU-ED-triage-agreement.csv"'
