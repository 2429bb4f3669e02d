"""Readers: bytes in, records (row number + raw values) out. Nothing here knows what a case is.

Order of checks: size -> gzip (by magic bytes, decompressed size bounded) -> encoding (UTF-8 with or
without BOM; UTF-16/32, binary and non-UTF-8 files are refused with a message saying what they look
like) -> format (file extension, else the first character) -> line length (CSV, JSON Lines) -> syntax
(a CSV header's column count first) -> row count. Every check is linear in the size of the file.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path, PurePath

from .errors import FileRejected, RowError, kind_of

FORMATS = ("csv", "json", "jsonl")
EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
GZIP_MAGIC = b"\x1f\x8b"

# Files people upload by mistake, recognised by their first bytes.
SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one): export the sheet as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Word file: export the sheet as 'CSV UTF-8'"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"BZh", "a bzip2 archive: only gzip (.gz) compression is supported"),
    (b"\xfd7zXZ", "an xz archive: only gzip (.gz) compression is supported"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
DEFAULT_MAX_COLUMNS = 200  # CASE_UPLOAD_MAX_COLUMNS
DEFAULT_MAX_LINE_CHARS = 2_000_000  # CASE_UPLOAD_MAX_LINE_CHARS
CHUNK_ROWS = 5_000  # records per batch of parse_chunks
# Where str.splitlines splits besides \r and \n: a vertical tab, a form feed, the file, group and record
# separators, NEL and the Unicode line and paragraph separators.
OTHER_LINE_BOUNDARIES = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# C0 controls other than tab, newline, carriage return and form feed; DEL.
CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 32), 127])


@dataclass
class Record:
    row: int
    values: dict
    duplicate_keys: tuple[str, ...] = ()


@dataclass
class ParsedFile:
    format: str
    compressed: bool
    had_bom: bool
    columns: list[str] | None = None  # CSV only: the header, normalised
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            return f"{n:,.1f} {unit}"


def read_bytes(file, *, max_bytes: int) -> bytes:
    """At most max_bytes from a binary file object; a larger file is refused without reading it all."""
    size = getattr(file, "size", None)  # Django's uploaded files know it without reading
    if size is None or size <= max_bytes:
        data = file.read(max_bytes + 1)
        if len(data) <= max_bytes:
            return data
        size = None
    shown = f"The file is {human_bytes(size)}" if size else "The file is larger than the limit"
    raise FileRejected(
        f"{shown}; the limit is {human_bytes(max_bytes)} (CASE_UPLOAD_MAX_BYTES). "
        "Split it into several files and upload them to the same case set one after another."
    )


def read_upload(file, *, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    """The bytes and name of an upload given as a path or a binary file object (a Django upload)."""
    if isinstance(file, str | Path):
        with open(file, "rb") as fh:
            return read_bytes(fh, max_bytes=max_bytes), filename or Path(file).name
    return read_bytes(file, max_bytes=max_bytes), filename or Path(getattr(file, "name", "") or "").name


def gunzip_bounded(data: bytes, *, max_bytes: int) -> bytes:
    """Decompress without ever holding more than max_bytes + 1 of output: a gzip bomb stops early."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileRejected(
            f"The file is gzip-compressed but cannot be decompressed ({exc}); it is corrupt or cut short."
        ) from None
    if len(out) > max_bytes:
        raise FileRejected(
            f"The file expands to more than {human_bytes(max_bytes)} when decompressed; the limit "
            "(CASE_UPLOAD_MAX_BYTES) applies to the uncompressed content too."
        )
    return out


def decode_text(data: bytes) -> tuple[str, bool]:
    """UTF-8 text (and whether it had a BOM), or a FileRejected saying what the bytes look like."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise FileRejected("The file is UTF-32 encoded; save it as UTF-8 and upload it again.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected("The file is UTF-16 encoded; save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again.")
    for magic, what in SIGNATURES:
        if data.startswith(magic):
            raise FileRejected(f"This is not a text file: it looks like {what}.")
    had_bom = data.startswith(codecs.BOM_UTF8)
    if had_bom:
        data = data[len(codecs.BOM_UTF8):]
    controls = len(data) - len(data.translate(None, CONTROL_BYTES))
    if controls:
        head = data[:400]
        if head and head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4:
            raise FileRejected(
                "The file looks UTF-16 encoded (without a byte-order mark); save it as UTF-8 and upload it again."
            )
        if b"\x00" in data or controls > max(8, len(data) // 100):
            raise FileRejected("This is not a text file: it contains binary data (NUL or control bytes).")
    try:
        return data.decode("utf-8"), had_bom
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start]
        raise FileRejected(
            f"The file is not valid UTF-8: byte 0x{bad:02X} on line {line} cannot be read. It is probably "
            "Latin-1/Windows-1252 (Excel's plain 'CSV' on Windows). Save it as 'CSV UTF-8' (or re-encode it "
            "as UTF-8) and upload it again."
        ) from None


def detect_format(filename: str, text: str, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in FORMATS:
            raise FileRejected(f"Unknown format {explicit!r}; use one of {', '.join(FORMATS)}.")
        return explicit
    suffixes = [s.lower() for s in PurePath(filename or "").suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in EXTENSIONS:
        return EXTENSIONS[suffixes[-1]]
    first = text.lstrip()[:1]
    return "json" if first == "[" else "jsonl" if first == "{" else "csv"


class _Object(dict):
    """A JSON object that remembers keys given twice (json keeps the last silently)."""

    duplicate_keys: tuple[str, ...] = ()


def _object_hook(pairs):
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen, dups = set(), []
        for key, _ in pairs:
            if key in seen and key not in dups:
                dups.append(key)
            seen.add(key)
        obj.duplicate_keys = tuple(dups)
    return obj


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


# Refuses NaN/Infinity (PostgreSQL's jsonb cannot store them) and notes duplicate keys.
_DECODER = json.JSONDecoder(object_pairs_hook=_object_hook, parse_constant=_reject_constant)


def loads_json(text: str):
    return _DECODER.decode(text)


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _too_many_rows(max_rows: int) -> FileRejected:
    return FileRejected(
        f"The file has more than {max_rows:,} rows (CASE_UPLOAD_MAX_ROWS). "
        "Split it into several files and upload them to the same case set one after another."
    )


def _record(row: int, obj, parsed: ParsedFile) -> None:
    if isinstance(obj, dict):
        parsed.records.append(Record(row, dict(obj), getattr(obj, "duplicate_keys", ())))
    else:
        parsed.errors.append(RowError(row, None, f"expected an object {{\"external_id\": ...}}, got {kind_of(obj)}"))


def _parse_json(text: str, parsed: ParsedFile, max_rows: int) -> None:
    try:
        data = loads_json(text)
    except (ValueError, RecursionError) as exc:
        raise FileRejected(f"The file is not valid JSON: {_json_problem(exc)}.") from None
    if not isinstance(data, list):
        raise FileRejected(
            "A JSON file must be an array of case objects: [{\"external_id\": ...}, ...]. "
            "For one object per line use JSON Lines (.jsonl)."
        )
    if len(data) > max_rows:
        raise _too_many_rows(max_rows)
    for row, obj in enumerate(data, start=1):
        _record(row, obj, parsed)


def _parse_jsonl(text: str, parsed: ParsedFile, max_rows: int) -> None:
    count = 0
    for row, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        count += 1
        if count > max_rows:
            raise _too_many_rows(max_rows)
        try:
            obj = loads_json(line)
        except (ValueError, RecursionError) as exc:
            parsed.errors.append(RowError(row, None, f"invalid JSON: {_json_problem(exc)}"))
            continue
        _record(row, obj, parsed)


def _delimiter(header_line: str) -> str:
    """Comma, or the semicolon/tab that Excel writes in some locales, chosen from the header row."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def check_line_lengths(text: str, max_chars: int) -> None:
    """Refuse a file with a line longer than max_chars; one pass over the text, however long its lines."""
    start, line, size = 0, 1, len(text)
    while start <= size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        if end - start > max_chars:
            raise FileRejected(
                f"Line {line:,} is {end - start:,} characters long; the limit is {max_chars:,} "
                "(CASE_UPLOAD_MAX_LINE_CHARS). Check that the file is what it should be."
            )
        start, line = end + 1, line + 1


def _header_columns(header: list[str], max_columns: int) -> list[str]:
    """The header's column names, normalised; refused when there are too many or one is named twice."""
    if len(header) > max_columns:
        raise FileRejected(
            f"The header has {len(header):,} columns; the limit is {max_columns:,} (CASE_UPLOAD_MAX_COLUMNS). "
            "Check the delimiter and that the first row is the header."
        )
    columns = [h.strip().lower() for h in header]
    counts = Counter(c for c in columns if c)
    dupes = sorted(c for c, n in counts.items() if n > 1)
    if dupes:
        shown = ", ".join(d if len(d) <= 60 else d[:60] + "..." for d in dupes[:10])
        more = f" and {len(dupes) - 10:,} more" if len(dupes) > 10 else ""
        raise FileRejected(f"The header names column(s) more than once: {shown}{more}.")
    return columns


def _lines(text: str) -> Iterable[str]:
    """The text's lines as a file opened with newline="" gives them to csv (split after \\r, \\n and \\r\\n,
    which are kept): str.splitlines when the text holds none of its other line boundaries, as nearly every
    file, for a fraction of the cost of a StringIO of the whole text."""
    if any(map(text.__contains__, OTHER_LINE_BOUNDARIES)):
        return io.StringIO(text, newline="")
    return text.splitlines(keepends=True)


def _parse_csv(text: str, parsed: ParsedFile, max_rows: int, max_columns: int,
               chunk_rows: int) -> Iterator[list[Record]]:
    """Reads the header at once; the returned iterator reads the rows, a batch of records at a time."""
    first_line = text.split("\n", 1)[0] if len(text) < 65_536 else text[:65_536].split("\n", 1)[0]
    reader = csv.reader(_lines(text), delimiter=_delimiter(first_line), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileRejected(f"The CSV cannot be read at line {reader.line_num}: {exc}.") from None
    if header is None:
        raise FileRejected("The file is empty.")
    columns = _header_columns(header, max_columns)
    parsed.columns = [c for c in columns if c]
    return _csv_rows(reader, parsed, columns, max_rows, chunk_rows)


def _csv_rows(reader, parsed: ParsedFile, columns: list[str], max_rows: int,
              chunk_rows: int) -> Iterator[list[Record]]:
    unnamed = [i for i, c in enumerate(columns) if not c]
    named_at = [bool(c) for c in columns]
    count, records = 0, []
    try:
        for row, values in enumerate(reader, start=1):
            if not "".join(values).strip():
                continue  # blank lines, and the all-empty rows spreadsheets leave at the end
            count += 1
            if count > max_rows:
                raise _too_many_rows(max_rows)
            if len(values) != len(columns):
                parsed.errors.append(
                    RowError(row, None, f"has {len(values)} values but the header has {len(columns)} columns")
                )
                continue
            named = unnamed and [i for i in unnamed if values[i].strip()]
            if named:
                parsed.errors.append(RowError(row, None, f"has a value in column {named[0] + 1}, which has no name"))
                continue
            records.append(Record(row, dict(zip(parsed.columns, compress(values, named_at), strict=True))))
            if len(records) == chunk_rows:
                yield records
                records = []
    except csv.Error as exc:
        raise FileRejected(f"The CSV cannot be read at line {reader.line_num}: {exc}.") from None
    yield records


def _setting(name: str, default: int) -> int:
    from django.conf import settings

    return getattr(settings, name, default)


def parse_file(data: bytes, *, filename: str = "", format: str | None = None,
               max_bytes: int, max_rows: int, max_columns: int | None = None,
               max_line_chars: int | None = None) -> ParsedFile:
    """Bytes of an upload (possibly gzip-compressed) to records; raises FileRejected for unreadable files.

    max_columns and max_line_chars default to the CASE_UPLOAD_MAX_COLUMNS and CASE_UPLOAD_MAX_LINE_CHARS
    settings. A JSON array may be written on one line, so the line limit applies to CSV and JSON Lines.
    """
    parsed, chunks = parse_chunks(data, filename=filename, format=format, max_bytes=max_bytes, max_rows=max_rows,
                                  max_columns=max_columns, max_line_chars=max_line_chars)
    for records in chunks:
        parsed.records += records
    return parsed


def parse_chunks(data: bytes, *, filename: str = "", format: str | None = None,
                 max_bytes: int, max_rows: int, max_columns: int | None = None, max_line_chars: int | None = None,
                 chunk_rows: int | None = None) -> tuple[ParsedFile, Iterator[list[Record]]]:
    """parse_file a batch of records at a time, so that a caller can work on one batch while the file is read
    further: the file's checks as a whole (size to line lengths, a CSV's header) are made at once; the iterator
    gives the records in file order, at most `chunk_rows` (default CHUNK_ROWS) at a time, adds the row errors
    to `parsed.errors` as it goes, and raises FileRejected for the rest (too many rows, CSV syntax, no cases at
    all). The records themselves are not kept in `parsed`.
    """
    if max_columns is None:
        max_columns = _setting("CASE_UPLOAD_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)
    if max_line_chars is None:
        max_line_chars = _setting("CASE_UPLOAD_MAX_LINE_CHARS", DEFAULT_MAX_LINE_CHARS)
    chunk_rows = chunk_rows or CHUNK_ROWS
    compressed = data.startswith(GZIP_MAGIC)
    if compressed:
        data = gunzip_bounded(data, max_bytes=max_bytes)
    if not data.strip():
        raise FileRejected("The file is empty.")
    text, had_bom = decode_text(data)
    if not text.strip():
        raise FileRejected("The file is empty.")
    parsed = ParsedFile(format=detect_format(filename, text, format), compressed=compressed, had_bom=had_bom)
    if parsed.format != "json":
        check_line_lengths(text, max_line_chars)
    if parsed.format == "csv":
        chunks = _parse_csv(text, parsed, max_rows, max_columns, chunk_rows)
    else:
        {"json": _parse_json, "jsonl": _parse_jsonl}[parsed.format](text, parsed, max_rows)
        records, parsed.records = parsed.records, []
        chunks = (records[i:i + chunk_rows] for i in range(0, len(records), chunk_rows))
    return parsed, _non_empty(chunks, parsed)


def _non_empty(chunks: Iterator[list[Record]], parsed: ParsedFile) -> Iterator[list[Record]]:
    """The batches that hold records; at the end, a file without any record or row error is refused."""
    seen = False
    for records in chunks:
        if records:
            seen = True
            yield records
    if not seen and not parsed.errors:
        raise FileRejected("The file has no cases" + (" (a header but no rows)." if parsed.columns else "."))
