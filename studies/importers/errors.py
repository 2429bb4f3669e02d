"""What the import pipeline reports: one error per row and field, or a rejection of the whole file."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """A problem with one field of one row; `row` is None for problems with the file or its header."""

    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        if self.field:
            where.append(self.field)
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message, "text": str(self)}


class FileRejected(Exception):
    """The file as a whole cannot be read (size, encoding, compression, syntax): no row is looked at."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def kind_of(value) -> str:
    """How a JSON value's type reads in a message: "got a list"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), "a value"
    )
