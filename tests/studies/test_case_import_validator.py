"""The validator's column-wise fast path gives exactly what the cell-by-cell checks give, and hashes written
field by field are the canonical encoder's.

Clean columns are checked a whole column at a time and identical metadata cells once; any cell the
cheap tests cannot clear goes through the per-cell checks. Files mixing clean rows with every kind of
problem must give the same cases and the same errors (messages, rows, order) either way.
"""
import csv
import io
import json
import random

import pytest

from studies.importers import check_file, validator
from studies.importers.maker import case_hash, case_hashes
from studies.importers.readers import Record

COLUMNS = list(validator.COLUMNS)
# Cells with every kind of problem, and cells that are fine only after normalising.
CELLS = [
    "", " ", "  padded  ", "=SUM(A1)", "+44", "-ve troponin", "@home", "two\r\nlines", "old\rmac", "two\nlines",
    "tab\there", "nul\x00", "bell\x07", "del\x7f", "lone\ud800", "cafe\u0301", "café", "ＩＤ１", "A\u2013B", "\u200bX",
    "\ufeffX", "АВС", "ABC", "x" * 101, "y" * 5_001, "z" * 20_001, "triage", " Triage ", "patient-safety",
    "Patient Safety", "nonsense", "primary care", "critical_care", "other", "1", "ESI 2", "esi-3", "6", "low",
    "line\u2028sep", "ok text",
]
METADATA = [
    "", " ", '{"source": "ward audit"}', '{"a": 1, "a": 2}', "[1]", "{bad", '{"a": "\\ud800"}', '{"a": "\\u0000"}',
    '{"a": 1e400}', '{"a": ' + "[" * 12 + "]" * 12 + "}", json.dumps({"a": "x" * 20_001}), "null",
    json.dumps({"a": {"b": [1, 2]}}),
]
JSON_VALUES = [None, 17, 2.5, True, [], {}, {"a": 1}, [1], "x", {"k": "\ud800"}]


def clean_cell(rng: random.Random, field: str, n: int) -> str:
    triage = n % 2 == 0
    return {"external_id": f"ID-{rng.randint(0, 40)}", "vignette": "Chest pain for two hours.",
            "question": "What triage level?", "task_type": "triage" if triage else "patient_safety",
            "care_setting": "other", "reference_answer": rng.choice(["1", "3", "ESI 4"]) if triage else "",
            "metadata": '{"source": "ward audit"}'}[field]


def records(seed: int, *, csv_mode: bool) -> list[Record]:
    rng = random.Random(seed)
    clean = rng.choice([0.5, 0.9, 0.97, 1.0])
    out = []
    for row in range(1, rng.randint(2, 60) + 1):
        values = {f: clean_cell(rng, f, row) if rng.random() < clean else rng.choice(
            METADATA if f == "metadata" else CELLS) for f in COLUMNS}
        if not csv_mode:
            for f in COLUMNS:
                if rng.random() < 0.05:
                    values[f] = rng.choice(JSON_VALUES)
                elif rng.random() < 0.03:
                    del values[f]
            if rng.random() < 0.03:
                values["extra"] = 1
            if isinstance(values.get("metadata"), str):
                values["metadata"] = json.loads(values["metadata"]) if values["metadata"].startswith("{") and \
                    not values["metadata"].startswith("{bad") else values["metadata"]
        out.append(Record(row, values, ("vignette",) if not csv_mode and rng.random() < 0.03 else ()))
    return out


@pytest.mark.parametrize("csv_mode", [True, False], ids=["csv", "json"])
@pytest.mark.parametrize("seed", range(40))
def test_the_column_wise_checks_give_the_cell_by_cell_result(monkeypatch, seed, csv_mode):
    recs = records(seed, csv_mode=csv_mode)
    levels = None if seed % 3 else ("low", "high")
    fast = validator.validate_records(recs, columns=COLUMNS if csv_mode else None, triage_levels=levels)
    monkeypatch.setattr(validator, "_clean_cases", lambda records, *args: [None] * len(records))
    assert fast == validator.validate_records(recs, columns=COLUMNS if csv_mode else None, triage_levels=levels)


def test_a_file_mixing_clean_and_faulty_rows_gets_every_message_in_row_order():
    rows = [
        ["A-1", "Chest pain.", "Level?", " Triage", "primary care", "ESI 2", '{"source": "audit"}'],
        ["=A-2", "Chest pain.", "Level?", "triage", "other", "2", '{"source": "audit"}'],
        ["A-3", "Chest pain.", "Level?", "triage", "nowhere", "9", '{"source": "audit"}'],
        ["A-4", "Chest\tpain, café.", "Level?", "patient_safety", "other", "", '{"source": "audit", "source": "x"}'],
        ["A-1", "Chest pain.", "Level?", "triage", "other", "1", '{"source": "audit"}'],
        ["A\u200b5", "Chest pain.", "", "triage", "other", "1", ""],
        ["A-6", "Caf\u00e9 au lait spots.", "Level?", "patient-safety", "Other", "", ""],
    ]
    text = io.StringIO()
    csv.writer(text).writerows([COLUMNS, *rows])
    checked = check_file(text.getvalue().encode(), filename="cases.csv", max_bytes=10**6, max_rows=100)
    assert [(c["external_id"], c["vignette"], c["task_type"], c["care_setting"], c["reference_answer"], c["metadata"])
            for c in checked.cases] == [
        ("A-1", "Chest pain.", "triage", "primary_care", "2", {"source": "audit"}),
        ("A-6", "Caf\u00e9 au lait spots.", "patient_safety", "other", "", {}),
    ]
    assert [str(e) for e in checked.errors] == [
        "row 2, external_id: starts with '=', which spreadsheet programs run as a formula; remove the leading '=' "
        "(see 'Formula-looking cells' in docs/case-set-format.md)",
        "row 3, care_setting: 'nowhere' is not one of critical_care, primary_care, other",
        "row 3, reference_answer: '9' is not an ESI level; triage cases take 1-5 (or 'ESI 1'-'ESI 5')",
        "row 4, metadata: has the key 'source' more than once",
        "row 5, external_id: 'A-1' is also used on row 1",
        "row 6, external_id: contains an invisible or formatting character (U+200B) at position 2; ids must be "
        "visible text",
        "row 6, question: is required",
    ]


def test_an_unnamed_column_may_be_empty_but_not_hold_a_value():
    data = (b"external_id,,vignette,question,task_type,care_setting\n"
            b"A-1,,Chest pain.,Level?,triage,other\n"
            b"A-2,x,Chest pain.,Level?,triage,other\n")
    checked = check_file(data, filename="cases.csv", max_bytes=10**6, max_rows=100)
    assert [c["external_id"] for c in checked.cases] == ["A-1"]
    assert [str(e) for e in checked.errors] == ["row 2: has a value in column 2, which has no name"]


@pytest.mark.parametrize("number", ["1e15", "9e15", "1e9", "-1e-7", "1e400", "-2.2250738585072014e-308", "5e-324"])
def test_a_number_written_out_grows_by_less_than_json_growth(number):
    # Metadata text short enough that even this growth keeps it under the limit is not written out to measure.
    assert len(json.dumps(json.loads(number))) <= validator.JSON_GROWTH * len(number)


def test_metadata_that_grows_past_the_limit_when_written_out_is_refused():
    raw = "{\"a\":[" + ",".join(["1e15"] * 1_100) + "]}"  # 5,507 characters; 20,907 written out
    text = io.StringIO()
    csv.writer(text).writerows([COLUMNS, ["A-1", "Chest pain.", "Level?", "triage", "other", "2", raw]])
    checked = check_file(text.getvalue().encode(), filename="cases.csv", max_bytes=10**6, max_rows=100)
    assert [str(e) for e in checked.errors] == [
        "row 1, metadata: is 20,907 characters long as JSON; the limit is 20,000"]


def test_hashes_written_field_by_field_equal_the_canonical_encoders():
    shared = {"source": "ward audit", "scores": [1, 2.5, None, True], "note": {"z": 'é "q" \\ \n'}}
    case = {"external_id": "A-1", "vignette": 'Café "quoted", back\\slash\n\ttab \u2028 \x7f 😀 %s', "question": "Q?",
            "task_type": "triage", "care_setting": "other", "reference_answer": "2", "metadata": shared}
    cases = [case, {**case, "metadata": {}}, {**case, "external_id": "A-2"}, {**case, "extra": 1},
             {**case, "reference_answer": 2}, {k: v for k, v in case.items() if k != "metadata"},
             {**case, "vignette": ""}]
    assert case_hashes(cases) == [case_hash(c) for c in cases]
