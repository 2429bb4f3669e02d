"""Malformed uploads: each is refused with a message that says what is wrong, and nothing changes.

The sample files are in tests/data/uploads/ (written by its _generate.py). Every upload targets a
case set that already exists, so "nothing changed" covers both "no new set" and "no case added".
"""
from pathlib import Path

import pytest

from config.exceptions import ApplicationError
from studies.models import Case, CaseSet
from studies.services.case_sets import case_set_import

UPLOADS = Path(__file__).resolve().parents[1] / "data" / "uploads"
EXAMPLE = Path(__file__).resolve().parents[2] / "studies" / "data" / "example_cases.csv"

# file -> the messages (one per line) the admin must see, all of them.
MALFORMED = {
    "empty.csv": ["The file is empty."],
    "whitespace_only.csv": ["The file is empty."],
    "header_only.csv": ["The file has no cases (a header but no rows)."],
    "missing_column.csv": ["missing required column(s): question"],
    "unknown_column.csv": ["unknown column(s) 'notes'; allowed: external_id, vignette, question, task_type, "
                           "care_setting, reference_answer, metadata (put anything else in metadata)"],
    "duplicate_header.csv": ["The header names column(s) more than once: vignette."],
    "duplicate_id.csv": ["row 3, external_id: 'C-1' is also used on row 1"],
    "bad_enum.csv": ["row 2, care_setting: 'ICU ward' is not one of critical_care, primary_care, other"],
    "many_errors.csv": [
        "row 1, vignette: is required",
        "row 2, question: is required",
        "row 2, task_type: 'diagnosis' is not one of triage, patient_safety, other",
        "row 2, care_setting: 'ICU ward' is not one of critical_care, primary_care, other",
        'row 2, metadata: must be a JSON object such as {"source": "ward audit"}, got a list',
        "row 4, metadata: is not valid JSON (Expecting property name enclosed in double quotes); "
        'write an object such as {"source": "ward audit"}',
    ],
    "required_empty.csv": ["row 1, vignette: is required"],
    "over_long_field.csv": ["row 1, vignette: is 20,001 characters long; the limit is 20,000"],
    "over_long_id.csv": ["row 1, external_id: is 101 characters long; the limit is 100"],
    "formula_cells.csv": [
        "row 1, external_id: starts with '=', which spreadsheet programs run as a formula; remove the leading '=' "
        "(see 'Formula-looking cells' in docs/case-set-format.md)",
        "row 2, vignette: starts with '@', which spreadsheet programs run as a formula; remove the leading '@' "
        "(see 'Formula-looking cells' in docs/case-set-format.md)",
        "row 3, external_id: starts with '+', which spreadsheet programs run as a formula; remove the leading '+' "
        "(see 'Formula-looking cells' in docs/case-set-format.md)",
    ],
    "wrong_column_count.csv": ["row 2: has 6 values but the header has 7 columns"],
    "unclosed_quote.csv": ["The CSV cannot be read at line 2: unexpected end of data."],
    "bad_metadata_json.csv": ['row 1, metadata: is not valid JSON (Expecting value); write an object such as '
                              '{"source": "ward audit"}'],
    "bad_reference_answer.csv": ["row 1, reference_answer: '7' is not an ESI level; triage cases take 1-5 "
                                 "(or 'ESI 1'-'ESI 5')"],
    "control_character.csv": ["row 1, vignette: contains a control character (U+0001) at position 6"],
    "latin1.csv": ["The file is not valid UTF-8: byte 0xE9 on line 2 cannot be read. It is probably "
                   "Latin-1/Windows-1252 (Excel's plain 'CSV' on Windows). Save it as 'CSV UTF-8' (or re-encode "
                   "it as UTF-8) and upload it again."],
    "utf16_bom.csv": ["The file is UTF-16 encoded; save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again."],
    "utf16_no_bom.csv": ["The file looks UTF-16 encoded (without a byte-order mark); save it as UTF-8 and upload "
                         "it again."],
    "binary.csv": ["This is not a text file: it contains binary data (NUL or control bytes)."],
    "spreadsheet.csv": ["This is not a text file: it looks like a ZIP archive (an Excel .xlsx workbook is one): "
                        "export the sheet as 'CSV UTF-8'."],
    "document.csv": ["This is not a text file: it looks like a PDF document."],
    "bomb.csv.gz": ["The file expands to more than 50.0 MB when decompressed; the limit (CASE_UPLOAD_MAX_BYTES) "
                    "applies to the uncompressed content too."],
    "truncated.csv.gz": ["The file is gzip-compressed but cannot be decompressed (Compressed file ended before "
                         "the end-of-stream marker was reached); it is corrupt or cut short."],
    "not_array.json": ['A JSON file must be an array of case objects: [{"external_id": ...}, ...]. For one object '
                       "per line use JSON Lines (.jsonl)."],
    "invalid_json.json": ["The file is not valid JSON: Expecting ',' delimiter (line 1, column 51)."],
    "element_not_object.json": ['row 2: expected an object {"external_id": ...}, got a list'],
    "wrong_types.json": ["row 1, external_id: must be text, got true/false",
                         "row 1, vignette: must be text, got a number",
                         "row 1, care_setting: must be text, got a list"],
    "missing_field.json": ["row 2: missing required field(s): question"],
    "unknown_field.json": ["row 1: unknown field(s) 'age'; allowed: external_id, vignette, question, task_type, "
                           "care_setting, reference_answer, metadata (put anything else in metadata)"],
    "duplicate_key.json": ["row 1: has the key 'external_id' more than once"],
    "nan_in_metadata.json": ["The file is not valid JSON: NaN is not valid JSON."],
    "metadata_not_object.jsonl": [
        'row 2, metadata: must be a JSON object such as {"source": "ward audit"}, got a list',
        'row 3, metadata: must be a JSON object such as {"source": "ward audit"}, got text',
    ],
    "metadata_too_deep.jsonl": ["row 1, metadata: is nested more than 10 levels deep"],
    "bad_line.jsonl": ["row 2: invalid JSON: Expecting value (line 1, column 36)"],
}


def db_state():
    return (
        list(CaseSet.objects.order_by("id").values_list("id", "name", "version", "content_hash", "updated_at")),
        list(Case.objects.order_by("id").values_list("id", "case_set_id", "external_id", "content_hash")),
    )


@pytest.fixture
def existing(admin_user):
    """A case set named 'Ward cases' that every malformed upload targets."""
    return case_set_import(file=EXAMPLE, name="Ward cases", owner=admin_user).case_set


@pytest.mark.django_db
@pytest.mark.parametrize("filename", sorted(MALFORMED))
def test_malformed_upload_is_refused_with_every_message_and_changes_nothing(filename, existing, admin_user):
    before = db_state()
    with pytest.raises(ApplicationError) as caught:
        case_set_import(file=UPLOADS / filename, name="Ward cases", owner=admin_user)
    reported = [e["text"] for e in caught.value.extra["errors"]]
    assert reported == MALFORMED[filename]
    assert caught.value.extra["error_count"] == len(MALFORMED[filename])
    assert caught.value.extra["ok"] is False
    assert db_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("filename", ["many_errors.csv", "latin1.csv", "bomb.csv.gz"])
def test_a_dry_run_of_a_malformed_upload_returns_the_same_errors_without_raising(filename, existing, admin_user):
    before = db_state()
    result = case_set_import(file=UPLOADS / filename, name="Ward cases", owner=admin_user, dry_run=True)
    assert not result.ok and result.outcome == "invalid"
    assert [str(e) for e in result.errors] == MALFORMED[filename]
    assert db_state() == before


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(existing, admin_user, settings):
    settings.CASE_UPLOAD_MAX_BYTES = 300
    before = db_state()
    with pytest.raises(ApplicationError) as caught:
        case_set_import(file=UPLOADS / "valid.csv", name="Ward cases", owner=admin_user)
    assert caught.value.message == (
        "The file is larger than the limit; the limit is 300 bytes (CASE_UPLOAD_MAX_BYTES). "
        "Split it into several files and upload them to the same case set one after another."
    )
    assert db_state() == before


@pytest.mark.django_db
def test_an_uploaded_file_that_declares_its_size_is_refused_with_that_size(existing, admin_user, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CASE_UPLOAD_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.csv", b"x" * 3 * 1024 * 1024)
    before = db_state()
    with pytest.raises(ApplicationError, match=r"^The file is 3.0 MB; the limit is 1.0 KB \(CASE_UPLOAD_MAX_BYTES\)"):
        case_set_import(file=upload, name="Ward cases", owner=admin_user)
    assert db_state() == before


@pytest.mark.django_db
def test_a_file_over_the_row_limit_is_refused(existing, admin_user, settings):
    settings.CASE_UPLOAD_MAX_ROWS = 2
    before = db_state()
    with pytest.raises(ApplicationError) as caught:
        case_set_import(file=UPLOADS / "valid.csv", name="Ward cases", owner=admin_user)
    assert caught.value.message == (
        "The file has more than 2 rows (CASE_UPLOAD_MAX_ROWS). "
        "Split it into several files and upload them to the same case set one after another."
    )
    assert db_state() == before


@pytest.mark.django_db
def test_a_small_gzip_bomb_stops_at_the_limit_not_at_the_end(existing, admin_user, settings):
    settings.CASE_UPLOAD_MAX_BYTES = 100_000  # the bomb is 64 KB compressed, 64 MiB expanded
    before = db_state()
    with pytest.raises(ApplicationError, match=r"expands to more than 97.7 KB when decompressed"):
        case_set_import(file=UPLOADS / "bomb.csv.gz", name="Ward cases", owner=admin_user)
    assert db_state() == before


@pytest.mark.django_db
def test_the_malformed_samples_cover_at_least_twenty_kinds_of_mistake():
    assert len(MALFORMED) >= 20
    assert {p.name for p in UPLOADS.iterdir()} >= set(MALFORMED)
