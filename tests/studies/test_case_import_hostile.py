"""Hostile uploads: huge headers and lines, look-alike and invisible ids, lone surrogates and NULs.

Each is refused by the reader or the validator with a message (a file error or row errors) and
nothing is written; none of them may reach the database or cost more than linear time.
"""
import io
import json

import pytest

from config.exceptions import ApplicationError
from studies.importers import FileRejected
from studies.importers.readers import parse_file
from studies.models import Case, CaseSet
from studies.services.case_sets import case_set_import

HEADER = "external_id,vignette,question,task_type,care_setting"
MB = 1024 * 1024


def case_row(external_id, **over):
    return {"external_id": external_id, "vignette": "Chest pain for two hours.", "question": "What triage level?",
            "task_type": "triage", "care_setting": "critical_care", **over}


def refused(data: bytes, filename: str, **kw) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        case_set_import(file=io.BytesIO(data), filename=filename, name="Hostile", **kw)
    assert not CaseSet.objects.exists() and not Case.objects.exists()
    return caught.value


def messages(error: ApplicationError) -> list[str]:
    return [e["text"] for e in error.extra["errors"]]


# --- header and line limits ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_100000_column_header_is_refused_as_a_file_error():
    header = ",".join(f"c{i}" for i in range(100_000))
    error = refused(f"{header}\n{','.join('x' for _ in range(100_000))}\n".encode(), "wide.csv")
    assert error.message == ("The header has 100,000 columns; the limit is 200 (CASE_UPLOAD_MAX_COLUMNS). "
                             "Check the delimiter and that the first row is the header.")
    assert messages(error) == [error.message]


@pytest.mark.django_db
def test_a_100000_column_header_of_one_repeated_name_is_refused_by_the_column_limit():
    error = refused((",".join(["a"] * 100_000) + "\n").encode(), "same.csv")
    assert "100,000 columns; the limit is 200" in error.message


@pytest.mark.django_db
def test_a_10_mb_line_is_refused_as_a_file_error():
    line = ("a," * (5 * MB))[:10 * MB]
    error = refused((line + "\n").encode(), "long.csv")
    assert error.message == (f"Line 1 is {10 * MB:,} characters long; the limit is 2,000,000 "
                             "(CASE_UPLOAD_MAX_LINE_CHARS). Check that the file is what it should be.")


@pytest.mark.django_db
def test_a_long_data_line_is_refused_with_its_line_number(settings):
    settings.CASE_UPLOAD_MAX_LINE_CHARS = 1_000
    body = f"{HEADER}\nC-1,{'x' * 2_000},Q?,triage,critical_care\n".encode()
    error = refused(body, "cases.csv")
    assert error.message.startswith("Line 2 is 2,0")


@pytest.mark.django_db
def test_the_line_limit_applies_to_json_lines_too(settings):
    settings.CASE_UPLOAD_MAX_LINE_CHARS = 1_000
    error = refused(json.dumps(case_row("C-1", vignette="x" * 2_000)).encode(), "cases.jsonl")
    assert error.message.startswith("Line 1 is ")


def test_the_limits_are_arguments_of_the_reader_too():
    with pytest.raises(FileRejected, match=r"^The header has 4 columns; the limit is 3"):
        parse_file(b"a,b,c,d\n1,2,3,4\n", filename="x.csv", max_bytes=MB, max_rows=10, max_columns=3)
    with pytest.raises(FileRejected, match=r"^Line 2 is 7 characters long; the limit is 6"):
        parse_file(b"a,b\n12345,6\n", filename="x.csv", max_bytes=MB, max_rows=10, max_line_chars=6)
    parsed = parse_file(b'[{"a": "' + b"x" * 100 + b'"}]', filename="x.json", max_bytes=MB, max_rows=10,
                        max_line_chars=6)
    assert len(parsed.records) == 1  # a JSON array may be one long line


@pytest.mark.django_db
def test_duplicate_columns_are_still_named_in_a_header_under_the_limit():
    error = refused(f"{HEADER},vignette,question\n".encode(), "dups.csv")
    assert error.message == "The header names column(s) more than once: question, vignette."


# --- case ids: NFKC, invisible characters, look-alikes ------------------------------------------------------


@pytest.mark.django_db
def test_look_alike_ids_are_one_id_or_refused():
    ids = ["C-1", "\uff23-1", "C\u20111", "C\u22121", "\u0421-1", "C-1\u200b", "C\u00ad-1", "\u2067C-1"]
    error = refused(json.dumps([case_row(i) for i in ids]).encode(), "cases.json")
    assert messages(error) == [
        "row 2, external_id: 'C-1' is also used on row 1",
        "row 3, external_id: 'C-1' is also used on row 1",
        "row 4, external_id: 'C-1' is also used on row 1",
        "row 5, external_id: 'С-1' looks the same as 'C-1' on row 1 (it differs only in look-alike letters from "
        "another alphabet)",
        "row 6, external_id: contains an invisible or formatting character (U+200B) at position 4; ids must be "
        "visible text",
        "row 7, external_id: contains an invisible or formatting character (U+00AD) at position 2; ids must be "
        "visible text",
        "row 8, external_id: contains an invisible or formatting character (U+2067) at position 1; ids must be "
        "visible text",
    ]


@pytest.mark.django_db
def test_ids_are_stored_in_nfkc_form():
    result = case_set_import(file=io.BytesIO(json.dumps([case_row("\uff23\u2011\uff11"), case_row("Ka\u0308se")])
                                             .encode()), filename="cases.json", name="Ids")
    assert result.ok
    assert sorted(Case.objects.values_list("external_id", flat=True)) == ["C-1", "K\u00e4se"]


@pytest.mark.django_db
def test_an_invisible_id_character_in_csv_is_a_row_error():
    error = refused(f"{HEADER}\nC-\u20601,V,Q?,triage,critical_care\n".encode(), "cases.csv")
    assert messages(error) == ["row 1, external_id: contains an invisible or formatting character (U+2060) at "
                               "position 3; ids must be visible text"]


# --- lone surrogates and NULs ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lone_surrogate_in_case_json_is_a_row_error_not_a_server_error():
    rows = [case_row("C-1", vignette="Pain \\ud800 here"), case_row("C-2", metadata={"note": "\\udfff"}),
            case_row("C-3", metadata={"k\\ud83d": 1}), case_row("C-4", metadata={"a": ["ok", "nul \\u0000"]})]
    text = json.dumps(rows).replace("\\\\u", "\\u")  # the escapes as a file would hold them
    error = refused(text.encode(), "cases.json")
    assert messages(error) == [
        "row 1, vignette: contains a lone surrogate (U+D800), which is not a character",
        "row 2, metadata: contains a lone surrogate (U+DFFF), which is not a character",
        "row 3, metadata: contains a lone surrogate (U+D83D), which is not a character",
        "row 4, metadata: contains a NUL character (U+0000), which cannot be stored",
    ]


@pytest.mark.django_db
def test_escaped_surrogates_and_nuls_in_csv_metadata_are_row_errors():
    body = "\n".join([
        f"{HEADER},metadata",
        'C-1,V,Q,triage,critical_care,"{""note"": ""\\udfff""}"',
        'C-2,V,Q,triage,critical_care,"{""a"": [""ok"", ""nul \\u0000""]}"',
        'C-3,V,Q,triage,critical_care,"{""plain"": ""no escape, ü 🩺"", ""quoted"": ""\\"" \\\\ \\u00e9""}"',
    ])
    error = refused(body.encode(), "cases.csv")
    assert messages(error) == [
        "row 1, metadata: contains a lone surrogate (U+DFFF), which is not a character",
        "row 2, metadata: contains a NUL character (U+0000), which cannot be stored",
    ]


@pytest.mark.django_db
def test_a_lone_surrogate_in_an_id_is_refused_in_validation():
    error = refused(b'{"external_id": "C-\\udc00", "vignette": "V", "question": "Q", "task_type": "triage", '
                    b'"care_setting": "other"}\n', "cases.jsonl")
    assert messages(error) == ["row 1, external_id: contains a lone surrogate (U+DC00), which is not a character"]
