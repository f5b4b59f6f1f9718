"""Streaming CSV reading with exact line numbers, strict UTF-8 and byte-level progress."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any


class ImportFormatError(ValueError):
    """A file cannot be imported; names the file, the line and the reason."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {reason}")


class RowError(ValueError):
    """A value of the current row is invalid (the reader adds file and line)."""


ByteProgress = Callable[[int], None]

csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class CsvRow:
    """One CSV record: its first line number and its values by column name."""

    line: int
    values: dict[str, str]


@dataclass
class CsvTable:
    """A CSV file opened for reading: its header, then its rows as (first line, fields).

    Use it as a context manager (or call `close`) so the file is closed however the reading ends.
    """

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    stream: IO[bytes]

    def close(self) -> None:
        """Close the file."""
        self.stream.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def column(self, name: str) -> int | None:
        """The index of column `name`, or None when the file does not have it."""
        try:
            return self.header.index(name)
        except ValueError:
            return None


def _decoded_lines(stream: IO[bytes], name: str, progress: ByteProgress | None) -> Iterator[str]:
    number = 0
    pending = 0
    for raw in stream:
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                name, number, f"not valid UTF-8 (byte {exc.start + 1} of the line); save the file as UTF-8"
            ) from None
        if "\x00" in text:
            raise ImportFormatError(name, number, "contains a NUL byte; this is not a text CSV file")
        pending += len(raw)
        if progress is not None and pending >= 1 << 20:
            progress(pending)
            pending = 0
        yield text
    if progress is not None and pending:
        progress(pending)


def read_csv(
    path: str | Path,
    required: tuple[str, ...],
    progress: ByteProgress | None = None,
) -> Iterator[CsvRow]:
    """Yield the rows of a CSV file with a header as `CsvRow`s (values by column name)."""
    with open_csv(path, required, progress) as table:
        header = table.header
        for line, fields in table.rows:
            yield CsvRow(line, dict(zip(header, fields, strict=True)))


def open_csv(
    path: str | Path,
    required: tuple[str, ...],
    progress: ByteProgress | None = None,
) -> CsvTable:
    """Open a CSV file with a header; stop with `ImportFormatError` on bad input.

    The file is read line by line (memory does not grow with its size); a missing required
    column, a row with too many fields or bad UTF-8 stops the reading with the line number.
    Rows come as lists as long as the header (short rows are padded with empty strings).
    """
    path = Path(path)
    name = path.name
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ImportFormatError(name, None, f"cannot open the file ({exc.strerror})") from None
    reader = csv.reader(_decoded_lines(stream, name, progress), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        stream.close()
        raise ImportFormatError(name, None, "the file is empty; a header row is required") from None
    except (csv.Error, ImportFormatError) as exc:
        stream.close()
        if isinstance(exc, ImportFormatError):
            raise
        raise ImportFormatError(name, 1, f"the header is not valid CSV ({exc})") from None
    header = [column.strip() for column in header]
    missing = [column for column in required if column not in header]
    if missing:
        stream.close()
        found = ", ".join(header[:12])
        raise ImportFormatError(name, 1, f"missing required column(s): {', '.join(missing)} (found: {found})")
    return CsvTable(name, header, _rows(reader, name, len(header)), stream)


def _rows(reader: Any, name: str, width: int) -> Iterator[tuple[int, list[str]]]:
    previous_end = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFormatError(name, previous_end + 1, f"not valid CSV ({exc})") from None
        line = previous_end + 1
        previous_end = reader.line_num
        count = len(fields)
        if count != width:
            if not fields or (count == 1 and not fields[0].strip()):
                continue  # blank line
            if count > width:
                raise ImportFormatError(name, line, f"{count} fields but the header has {width} columns")
            fields += [""] * (width - count)
        yield line, fields


# --- value parsers (raise RowError with a reason a merchant understands) -----------------------


def text(value: str, column: str, required: bool = False, max_length: int = 255) -> str | None:
    """A trimmed text value, or None when empty."""
    value = value.strip()
    if not value:
        if required:
            raise RowError(f"{column} is empty")
        return None
    if len(value) > max_length:
        raise RowError(f"{column} is longer than {max_length} characters")
    return value


def timestamp(value: str, column: str, fmt: str | None = None) -> datetime:
    """An ISO 8601 (or `fmt`) time; without a zone it is UTC. Returned in UTC."""
    value = value.strip()
    if not value:
        raise RowError(f"{column} is empty")
    try:
        parsed = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
    except ValueError:
        expected = fmt or "ISO 8601, e.g. 2024-03-01T14:30:00Z"
        raise RowError(f"{column} {value!r} is not a date and time ({expected})") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_timestamp(value: str, column: str, fmt: str | None = None) -> datetime | None:
    """Like `timestamp`, but empty is None."""
    return timestamp(value, column, fmt) if value.strip() else None


def decimal(value: str, column: str, allow_negative: bool = False) -> Decimal:
    """A decimal amount (`12.50`); refuses text, NaN, infinities and (unless allowed) negatives."""
    value = value.strip()
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise RowError(f"{column} {value!r} is not a number") from None
    if not amount.is_finite():
        raise RowError(f"{column} {value!r} is not a finite number")
    if amount < 0 and not allow_negative:
        raise RowError(f"{column} {value!r} is negative")
    if abs(amount) >= Decimal(10) ** 12:
        raise RowError(f"{column} {value!r} is too large")
    return amount


def optional_decimal(value: str, column: str, allow_negative: bool = False) -> Decimal | None:
    """Like `decimal`, but empty is None."""
    return decimal(value, column, allow_negative) if value.strip() else None


def integer(value: str, column: str) -> int:
    """A whole number (`3`, `-1`; `2.0` is accepted as 2)."""
    value = value.strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise RowError(f"{column} {value!r} is not a whole number") from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise RowError(f"{column} {value!r} is not a whole number")
    return int(amount)


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def boolean(value: str, column: str) -> bool:
    """true/false, yes/no, 1/0; empty is false."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RowError(f"{column} {value!r} is not true or false")


def currency(value: str, column: str) -> str | None:
    """A three-letter currency code (upper-cased), or None when empty."""
    value = value.strip().upper()
    if not value:
        return None
    if len(value) != 3 or not value.isalpha():
        raise RowError(f"{column} {value!r} is not a three-letter currency code")
    return value
