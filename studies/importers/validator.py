"""Validator: records in, normalised case dicts and ALL row/field errors out (docs/case-set-format.md).

Normalisation (so that the same cases give the same hash whatever the file format): text is
stripped, line endings become \\n and Unicode is NFC (external ids: NFKC, with every dash read as
"-"; invisible and format characters refused, ids that differ only in look-alike letters refused as
duplicates); no field may hold a lone surrogate or a NUL (PostgreSQL cannot store either); enum
values are lower-cased with spaces and hyphens read as underscores; a triage reference answer "ESI 2"
is stored as "2"; metadata is an object ({} when absent).
"""
from __future__ import annotations

import json
import re
import unicodedata
from itertools import repeat

from ..models import CareSetting, TaskType
from .errors import RowError, kind_of
from .readers import Record, loads_json

REQUIRED = ("external_id", "vignette", "question", "task_type", "care_setting")
OPTIONAL = ("reference_answer", "metadata")
COLUMNS = REQUIRED + OPTIONAL
TEXT_FIELDS = ("external_id", "vignette", "question", "task_type", "care_setting", "reference_answer")
_KNOWN = frozenset(COLUMNS)
MAX_LENGTHS = {"external_id": 100, "vignette": 20_000, "question": 5_000, "reference_answer": 2_000}
METADATA_MAX_CHARS = 20_000
METADATA_MAX_DEPTH = 10
# How much longer than its text a JSON value can be once written out compactly: only numbers grow, a float
# from at least 3 characters ("1e9") to at most 24 as Python writes it ("-2.2250738585072014e-308"); strings,
# whitespace, escapes and repeated keys only shrink.
JSON_GROWTH = 8
ENUMS = {"task_type": TaskType.values, "care_setting": CareSetting.values}
# Spreadsheet programs run a cell starting with these as a formula when a file is opened (CSV injection).
# Identifiers never start so; free text may start with + or - ("-ve troponin") but never with = or @.
FORMULA_PREFIXES = {"external_id": ("=", "+", "-", "@")}
TEXT_FORMULA_PREFIXES = ("=", "@")
ESI_LEVEL = re.compile(r"^(?:esi[\s:-]*)?([1-5])$", re.IGNORECASE)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATES = re.compile("[\ud800-\udfff]")
# Characters that show as nothing: zero-width, fillers and joiners (some are not in category Cf).
INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u2060\u2800\u3164\ufeff\uffa0")
INVISIBLE_CATEGORIES = ("Cf", "Cc", "Cs", "Co", "Cn", "Zl", "Zp")
# Dashes that read as a hyphen in an id (NFKC keeps most of them apart).
ID_DASHES = str.maketrans(dict.fromkeys(
    "\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e17\u2e1a\u2e3a\u2e3b\u2e40"
    "\u301c\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d", "-"))
# Cyrillic and Greek letters drawn like Latin ones: ids equal after this mapping look the same.
HOMOGLYPHS = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсу\u0445ѕԁһԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧον",
    "ABCEHIJKMOPSTXYaeijopcyxsdhqwABEZHIKMNOPTYXov",
)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
ONE_LINE = ("external_id", "task_type", "care_setting")
NUMBERS_AS_TEXT = ("external_id", "reference_answer")


def _shown(value, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _text(value, field: str) -> tuple[str, str | None]:
    """(normalised text, error) for one text cell; '' for empty/missing."""
    if value is None:
        return "", None
    if not isinstance(value, str):
        # JSON: whole numbers are fine as ids and answers (17, 2); anything else is a mistake.
        if not (isinstance(value, int) and not isinstance(value, bool) and field in NUMBERS_AS_TEXT):
            return "", f"must be text, got {kind_of(value)}"
        value = str(value)
    bad = not value.isascii() and SURROGATES.search(value)  # an ASCII test is far cheaper than the search
    if bad:
        return "", f"contains a lone surrogate (U+{ord(bad.group()):04X}), which is not a character"
    text = value.strip()
    if field == "external_id" and not text.isascii():
        text, problem = _external_id(text)
        if problem:
            return "", problem
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not text.isprintable():  # the common case skips both checks: printable text has no \n, \t or controls
        bad = CONTROL_CHARS.search(text)
        if bad:
            return "", f"contains a control character (U+{ord(bad.group()):04X}) at position {bad.start() + 1}"
        if field in ONE_LINE and ("\n" in text or "\t" in text):
            return "", "must be on one line"
    limit = MAX_LENGTHS.get(field)
    if limit and len(text) > limit:
        return "", f"is {len(text):,} characters long; the limit is {limit:,}"
    if text[:1] in FORMULA_PREFIXES.get(field, TEXT_FORMULA_PREFIXES):
        return "", (
            f"starts with {text[0]!r}, which spreadsheet programs run as a formula; remove the leading {text[0]!r} "
            "(see 'Formula-looking cells' in docs/case-set-format.md)"
        )
    return text, None


def _external_id(text: str) -> tuple[str, str | None]:
    """NFKC with every dash as "-": look-alike ids become one id. Invisible characters are refused."""
    text = unicodedata.normalize("NFKC", text).translate(ID_DASHES).strip()
    for position, char in enumerate(text, start=1):
        if char in INVISIBLE or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            if char in "\n\t\r":
                continue  # reported as "must be on one line"
            return "", (f"contains an invisible or formatting character (U+{ord(char):04X}) at position {position}; "
                        "ids must be visible text")
    return text, None


def id_skeleton(external_id: str) -> str:
    """What an id looks like: Cyrillic and Greek look-alike letters read as the Latin ones."""
    return external_id.translate(HOMOGLYPHS) if not external_id.isascii() else external_id


def string_problem(value) -> str | None:
    """The first problem with a string anywhere in a JSON value (keys too): a lone surrogate or a NUL."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            bad = not item.isascii() and SURROGATES.search(item)  # ASCII has no surrogate, and is quick to tell
            if bad:
                return f"contains a lone surrogate (U+{ord(bad.group()):04X}), which is not a character"
            if "\x00" in item:
                return "contains a NUL character (U+0000), which cannot be stored"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _plain_json(text: str) -> bool:
    """Whether JSON text decodes to strings that string_problem must pass: without a backslash there is no
    escape, so every decoded string is a piece of the text itself, which then holds no surrogate; a NUL
    cannot stand unescaped in valid JSON."""
    return "\\" not in text and (text.isascii() or not SURROGATES.search(text))


def _depth(value, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level - 1


def _metadata(value, *, csv_mode: bool) -> tuple[dict, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}, None
    raw = value if csv_mode else None
    if csv_mode:
        try:
            value = loads_json(value)
        except (ValueError, RecursionError) as exc:
            problem = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply" if isinstance(
                exc, RecursionError) else str(exc)
            return {}, f"is not valid JSON ({problem}); write an object such as {{\"source\": \"ward audit\"}}"
    if not isinstance(value, dict):
        return {}, f"must be a JSON object such as {{\"source\": \"ward audit\"}}, got {kind_of(value)}"
    dups = getattr(value, "duplicate_keys", ())
    if dups:
        return {}, f"has the key {dups[0]!r} more than once"
    if any(isinstance(v, (dict, list)) for v in value.values()) and _depth(value) > METADATA_MAX_DEPTH:
        return {}, f"is nested more than {METADATA_MAX_DEPTH} levels deep"
    problem = None if raw is not None and _plain_json(raw) else string_problem(value)
    if problem:
        return {}, problem
    if raw is not None and len(raw) * JSON_GROWTH <= METADATA_MAX_CHARS:
        return value, None  # cannot be over the limit: no need to write it out
    size = len(_COMPACT.encode(value))
    if size > METADATA_MAX_CHARS:
        return {}, f"is {size:,} characters long as JSON; the limit is {METADATA_MAX_CHARS:,}"
    return value, None


def missing_and_unknown(keys, row: int | None) -> list[RowError]:
    keys = list(keys)
    errors = []
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        what = "missing required column(s)" if row is None else "missing required field(s)"
        errors.append(RowError(row, None, f"{what}: {', '.join(missing)}"))
    unknown = [k for k in keys if k not in COLUMNS]
    if unknown:
        what = "unknown column(s)" if row is None else "unknown field(s)"
        errors.append(RowError(row, None, (
            f"{what} {', '.join(_shown(k) for k in unknown)}; allowed: {', '.join(COLUMNS)} "
            "(put anything else in metadata)"
        )))
    return errors


def _enum_code(text: str, field: str) -> tuple[str, str | None]:
    """(stored code, error) for an enum cell's text: "Primary care" and "primary-care" read as "primary_care"."""
    code = re.sub(r"[\s-]+", "_", text.lower())
    return code, None if code in ENUMS[field] else f"{_shown(text)} is not one of {', '.join(ENUMS[field])}"


def _reference(task_type: str, reference: str, triage_levels: tuple[str, ...] | None) -> tuple[str, str | None]:
    """(stored reference answer, error): a triage answer is a level of the declared scale, or an ESI level
    stored as its digit ("ESI 2" -> "2")."""
    if task_type != TaskType.TRIAGE or not reference:
        return reference, None
    if triage_levels is not None:
        return reference, None if reference in triage_levels else (
            f"{_shown(reference)} is not a level of the declared triage scale ({', '.join(triage_levels)})")
    level = ESI_LEVEL.match(reference)
    if level:
        return level.group(1), None
    return reference, f"{_shown(reference)} is not an ESI level; triage cases take 1-5 (or 'ESI 1'-'ESI 5')"


def validate_record(record: Record, *, csv_mode: bool,
                    triage_levels: tuple[str, ...] | None = None) -> tuple[dict | None, list[RowError]]:
    """One record to (normalised case, []) or (None, [every error in it]).

    `triage_levels`: the values of the case set's declared triage scale when it is not ESI 1-5."""
    values, row = record.values, record.row
    errors = [RowError(row, None, f"has the key {k!r} more than once") for k in record.duplicate_keys]
    if not csv_mode:
        errors += missing_and_unknown(values.keys(), row)
    case = {}
    for field in TEXT_FIELDS:
        text, problem = _text(values.get(field), field)
        if not problem and not text and field in REQUIRED and field in values:
            problem = "is required"
        if not problem and text and field in ENUMS and text not in ENUMS[field]:
            text, problem = _enum_code(text, field)
        if problem:
            errors.append(RowError(row, field, problem))
        case[field] = text
    case["reference_answer"], problem = _reference(case["task_type"], case["reference_answer"], triage_levels)
    if problem:
        errors.append(RowError(row, "reference_answer", problem))
    case["metadata"], problem = _metadata(values.get("metadata"), csv_mode=csv_mode)
    if problem:
        errors.append(RowError(row, "metadata", problem))
    return (None, errors) if errors else (case, [])


def _clean_texts(values: list, field: str) -> list[str | None]:
    """Column-wise fast path of the per-cell checks for one field's values: each one's stored text where plain string
    tests show that the cell needs no more (None where validate_record must look at it field by field).

    Printable ASCII text holds no surrogate, control character, line break or tab, and nothing that NFC or
    NFKC would change, so `_text` would return it stripped; what is left to check is its length, a formula
    prefix, emptiness (required fields) and the enum values. Whole columns are tested at once; a column with a
    problem is sorted out cell by cell."""
    if field not in REQUIRED:
        values = ["" if value is None else value for value in values]  # absent: empty, as _text reads it
    try:
        whole = " ".join(values)
    except TypeError:  # JSON: a cell that is not text
        whole = None
    if whole is not None and whole.isascii() and whole.isprintable():  # so is every cell
        texts = present = list(map(str.strip, values))
    else:
        texts = [value.strip() if isinstance(value, str) and value.isascii() and value.isprintable() else None
                 for value in values]
        present = [text for text in texts if text is not None]
    limit, prefixes = MAX_LENGTHS.get(field), FORMULA_PREFIXES.get(field, TEXT_FORMULA_PREFIXES)
    if limit and max(map(len, present), default=0) > limit:
        texts = [None if text is not None and len(text) > limit else text for text in texts]
    maybe_formula = whole is None or any(map(whole.__contains__, prefixes))  # a prefix character anywhere
    if maybe_formula and not {text[:1] for text in present}.isdisjoint(prefixes):
        texts = [None if text is not None and text.startswith(prefixes) else text for text in texts]
    if field in REQUIRED and "" in present:
        texts = [text or None for text in texts]
    if field in ENUMS and not set(present) <= set(ENUMS[field]):
        codes = {text: _enum_code(text, field) for text in set(present) - set(ENUMS[field])}
        texts = [text if text is None or text in ENUMS[field] else None if codes[text][1] else codes[text][0]
                 for text in texts]
    return texts


def _clean_cases(records: list[Record], csv_mode: bool, triage_levels: tuple[str, ...] | None) -> list[dict | None]:
    """Column-wise fast path of validate_record: each record's case where the whole-column checks clear every
    field (None where validate_record must look at the record: it finds the same case, or the errors)."""
    rows = [record.values for record in records]
    texts = {field: _clean_texts(list(map(dict.get, rows, repeat(field))), field) for field in TEXT_FIELDS}
    pairs = set(zip(texts["task_type"], texts["reference_answer"], strict=True))
    references = {pair: _reference(*pair, triage_levels) for pair in pairs if None not in pair}
    texts["reference_answer"] = [None if None in pair or references[pair][1] else references[pair][0]
                                 for pair in zip(texts["task_type"], texts["reference_answer"], strict=True)]
    raw_metadata = list(map(dict.get, rows, repeat("metadata")))
    # CSV: identical cells (the same source on every row, say) are parsed and checked once; their cases share
    # the parsed object, which nothing changes afterwards.
    if csv_mode:
        checked = {raw: _metadata(raw, csv_mode=True) for raw in set(raw_metadata)}
        metadata = [checked[raw] for raw in raw_metadata]
    else:
        metadata = [_metadata(raw, csv_mode=False) for raw in raw_metadata]
    cases = []
    for record, values, (meta, problem) in zip(records, zip(*texts.values(), strict=True), metadata, strict=True):
        if None in values or problem or record.duplicate_keys or not (csv_mode or record.values.keys() <= _KNOWN):
            cases.append(None)
        else:
            case = dict(zip(TEXT_FIELDS, values, strict=True))
            case["metadata"] = meta
            cases.append(case)
    return cases


def validate_records(records: list[Record], *, columns: list[str] | None,
                     triage_levels: tuple[str, ...] | None = None) -> tuple[list[dict], list[RowError]]:
    """All records to normalised cases; errors for every row and field, and for ids used twice."""
    validate = RecordsValidator(columns=columns, triage_levels=triage_levels)
    return ([], validate.header_errors) if validate.header_errors else validate(records)


class RecordsValidator:
    """validate_records for a file read a batch of records at a time: an id is checked against every batch
    before. `header_errors`: a CSV header's problems, with which no row is looked at."""

    def __init__(self, *, columns: list[str] | None, triage_levels: tuple[str, ...] | None = None):
        self.csv_mode, self.triage_levels = columns is not None, triage_levels
        self.header_errors = missing_and_unknown(columns, None) if self.csv_mode else []
        self.first_row, self.looks = {}, {}  # id -> its row; look-alike skeleton -> (id, row)

    def __call__(self, records: list[Record]) -> tuple[list[dict], list[RowError]]:
        """The batch's cases and its errors, in row order."""
        if self.header_errors:
            return [], []  # the rows cannot be read field by field without the right header
        csv_mode, triage_levels, first_row, looks = self.csv_mode, self.triage_levels, self.first_row, self.looks
        cases, errors = [], []
        for record, case in zip(records, _clean_cases(records, csv_mode, triage_levels), strict=True):
            problems = []
            if case is None:
                case, problems = validate_record(record, csv_mode=csv_mode, triage_levels=triage_levels)
            errors += problems
            external_id = case["external_id"] if case else _text(record.values.get("external_id"), "external_id")[0]
            if external_id:
                skeleton = id_skeleton(external_id)
                if external_id in first_row:
                    errors.append(RowError(record.row, "external_id",
                                           f"{_shown(external_id)} is also used on row {first_row[external_id]}"))
                    case = None
                elif skeleton in looks:
                    other, row = looks[skeleton]
                    errors.append(RowError(record.row, "external_id", (
                        f"{_shown(external_id)} looks the same as {_shown(other)} on row {row} (it differs only in "
                        "look-alike letters from another alphabet)")))
                    case = None
                else:
                    first_row[external_id] = record.row
                    looks[skeleton] = (external_id, record.row)
            if case:
                cases.append(case)
        errors.sort(key=lambda e: (e.row or 0))
        return cases, errors
