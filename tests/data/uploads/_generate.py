"""Writes the malformed (and a few valid) upload samples in this folder: `python tests/data/uploads/_generate.py`.

Committed together with its output so that the binary samples (encodings, gzip) are reproducible.
"""
import codecs
import gzip
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "external_id,vignette,question,task_type,care_setting,reference_answer,metadata"
ROW = 'C-{n},"A {n}-year-old with chest pain.",What triage level?,triage,critical_care,2,"{{""source"": ""test""}}"'


def rows(*numbers):
    return "\n".join([HEADER, *(ROW.format(n=n) for n in numbers)]) + "\n"


def case(n, **over):
    return {"external_id": f"C-{n}", "vignette": f"A {n}-year-old with chest pain.", "question": "What triage level?",
            "task_type": "triage", "care_setting": "critical_care", "reference_answer": "2",
            "metadata": {"source": "test"}, **over}


TEXT = {
    "empty.csv": "",
    "whitespace_only.csv": "  \n\n \t\n",
    "header_only.csv": HEADER + "\n",
    "missing_column.csv": "external_id,vignette,task_type,care_setting\nC-1,Chest pain.,triage,critical_care\n",
    "unknown_column.csv": HEADER + ",notes\n" + ROW.format(n=1) + ",seen twice\n",
    "duplicate_header.csv": HEADER + ",vignette\n" + ROW.format(n=1) + ",again\n",
    "duplicate_id.csv": rows(1, 2, 1),
    "bad_enum.csv": HEADER + "\n" + ROW.format(n=1) + "\nC-2,Fall at home.,What triage level?,triage,ICU ward,3,\n",
    "many_errors.csv": HEADER + "\n" + "\n".join([
        "C-1,,What triage level?,triage,critical_care,2,",
        "C-2,Fever.,,diagnosis,ICU ward,9,[1]",
        ROW.format(n=3),
        "C-4,Rash.,What now?,patient_safety,primary_care,,{not json}",
    ]) + "\n",
    "required_empty.csv": HEADER + "\nC-1,   ,What triage level?,triage,critical_care,2,\n",
    "over_long_field.csv": HEADER + f"\nC-1,{'x' * 20_001},What triage level?,triage,critical_care,2,\n",
    "over_long_id.csv": HEADER + f"\n{'C' * 101},Chest pain.,What triage level?,triage,critical_care,2,\n",
    "formula_cells.csv": HEADER + "\n" + "\n".join([
        '=HYPERLINK("http://evil.example"),Chest pain.,What triage level?,triage,critical_care,2,',
        "C-2,@SUM(A1:A9),What triage level?,triage,critical_care,2,",
        "+C-3,Chest pain.,What triage level?,triage,critical_care,2,",
        "C-4,-ve troponin and no ECG changes.,What triage level?,triage,critical_care,3,",
    ]) + "\n",
    "wrong_column_count.csv": rows(1) + "C-2,Chest pain.,What triage level?,triage,critical_care,2\n",
    "unclosed_quote.csv": HEADER + '\nC-1,"Chest pain,What triage level?,triage,critical_care,2,\n',
    "bad_metadata_json.csv": HEADER + "\nC-1,Chest pain.,What triage level?,triage,critical_care,2,source=ward\n",
    "bad_reference_answer.csv": HEADER + "\nC-1,Chest pain.,What triage level?,triage,critical_care,7,\n",
    "control_character.csv": HEADER + "\nC-1,Chest\x01 pain.,What triage level?,triage,critical_care,2,\n",
    "not_array.json": json.dumps({"cases": [case(1)]}),
    "invalid_json.json": '[{"external_id": "C-1", "vignette": "Chest pain." "question": "?"}]',
    "element_not_object.json": json.dumps([case(1), ["C-2", "Chest pain."]]),
    "wrong_types.json": json.dumps([case(1, vignette=42, care_setting=["critical_care"], external_id=True)]),
    "missing_field.json": json.dumps([case(1), {k: v for k, v in case(2).items() if k != "question"}]),
    "unknown_field.json": json.dumps([case(1, age=54)]),
    "duplicate_key.json": '[{"external_id": "C-1", "external_id": "C-2", "vignette": "Chest pain.", '
                          '"question": "What triage level?", "task_type": "triage", "care_setting": "other"}]',
    "nan_in_metadata.json": json.dumps([case(1)]).replace('"test"', "NaN"),
    "metadata_not_object.jsonl": "\n".join(json.dumps(c) for c in [case(1), case(2, metadata=["a", "b"]),
                                                                  case(3, metadata="source=ward")]) + "\n",
    "metadata_too_deep.jsonl": json.dumps(case(1, metadata=json.loads('{"a":' * 12 + "1" + "}" * 12))) + "\n",
    "bad_line.jsonl": json.dumps(case(1)) + "\n" + '{"external_id": "C-2", "vignette": \n' + json.dumps(case(3)) + "\n",
    "valid.csv": rows(1, 2, 3),
}

BYTES = {
    "latin1.csv": (HEADER + "\nC-1,Patient f\u00e9brile.,What triage level?,triage,critical_care,2,\n").encode(
        "latin-1"),
    "utf16_bom.csv": rows(1).encode("utf-16"),
    "utf16_no_bom.csv": rows(1).encode("utf-16-le"),
    "utf8_bom.csv": codecs.BOM_UTF8 + rows(1, 2, 3).encode(),
    "binary.csv": random.Random(3).randbytes(4096),
    "spreadsheet.csv": b"PK\x03\x04" + bytes(200),
    "document.csv": b"%PDF-1.7\n" + bytes(200),
    # 64 MiB of zeros in about 64 KB: more than the 50 MB default limit once decompressed.
    "bomb.csv.gz": gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9, mtime=0),
    "truncated.csv.gz": gzip.compress(rows(*range(1, 200)).encode(), mtime=0)[:300],
    "valid.jsonl.gz": gzip.compress(("\n".join(json.dumps(case(n)) for n in (1, 2, 3)) + "\n").encode(), mtime=0),
}

if __name__ == "__main__":
    for name, text in TEXT.items():
        (HERE / name).write_bytes(text.encode("utf-8"))
    for name, data in BYTES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(TEXT) + len(BYTES)} files to {HERE}")
