"""Reading CSV and XLSX files row by row, whatever the encoding Excel or a platform chose.

CSV encodings: UTF-8 (with or without the BOM Excel writes) and the GBK family that Chinese
platforms and Excel on Chinese Windows produce; GB18030 is read for both GBK and GB2312, since it
is a superset. Detection reads the first 256 KB: valid UTF-8 there means UTF-8. Rows are yielded
one at a time, so memory stays flat in the file's size. Cells are cleaned of the ``="…"`` wrapper,
the leading apostrophe and the tabs that exports use to stop Excel from turning order numbers and
phones into floats.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from siyu.imports.errors import ImportError_

SNIFF_BYTES = 256 * 1024
ENCODINGS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030",
             "gb18030": "gb18030"}


def detect_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the sniff boundary
            return "gb18030"
    return "utf-8-sig"


@dataclass
class Table:
    """A file being read: its header, its data rows (lists of cleaned strings), and how far along."""

    header: list[str]
    rows: Iterator[list[str]]
    size: int  # bytes of the file
    position: Callable[[], int]  # bytes read so far (CSV), or 0 when unknown (XLSX is zipped)


GUARDS = (" ", "\t", "=", "'", "\ufeff")


def clean(cell: object) -> str:
    if cell is None:
        return ""
    text = cell if isinstance(cell, str) else str(cell)
    if not text or (text[0] not in GUARDS and text[-1] not in GUARDS):
        return text  # the common case, kept cheap: this runs for every cell of every row
    text = text.strip().lstrip("\ufeff").strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1].strip()
    elif text.startswith("'") and text[1:].replace("-", "").replace(" ", "").lstrip("+").isdigit():
        text = text[1:]
    return text


def read_table(path: Path, encoding: str = "auto") -> Table:
    """The header and an iterator over the data rows; the file is closed when the rows run out."""
    if not path.is_file():
        raise ImportError_(f"No such file: {path}", code="imports.file_not_found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx(path)
    if suffix not in (".csv", ".txt", ""):
        raise ImportError_(f"{path.name}: only .csv and .xlsx files can be imported.", code="imports.bad_file")
    chosen = detect_encoding(path) if encoding == "auto" else ENCODINGS.get(encoding.lower())
    if chosen is None:
        raise ImportError_(f"Unknown encoding {encoding!r}: use auto, utf-8, gbk or gb18030.",
                           code="imports.bad_encoding")
    handle = path.open(encoding=chosen, errors="strict", newline="")  # noqa: SIM115 - the row iterator closes it
    raw = handle.buffer.raw  # type: ignore[attr-defined]  # its position moves as the text layer reads ahead
    reader = csv.reader(handle)
    try:
        header = [clean(c) for c in next(reader)]
    except StopIteration:
        handle.close()
        raise ImportError_(f"{path.name} is empty.", code="imports.empty_file") from None
    except (UnicodeDecodeError, csv.Error) as error:
        handle.close()
        raise ImportError_(f"{path.name} cannot be read as {chosen}: {error}. Try --encoding.",
                           code="imports.bad_encoding") from None
    if header and header[0].startswith("\ufeff"):  # a BOM inside a file read as GB18030
        header[0] = header[0][1:]

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    # clean()'s own first test inline: most cells need nothing, and a call per cell
                    # of every row was ~10% of converting a Tmall export.
                    yield [c if not c or (c[0] not in GUARDS and c[-1] not in GUARDS) else clean(c) for c in row]
        except UnicodeDecodeError as error:
            raise ImportError_(f"{path.name} has bytes that are not {chosen} (line {reader.line_num}): "
                               f"{error.reason}. Try --encoding.", code="imports.bad_encoding") from None
        except csv.Error as error:
            raise ImportError_(f"{path.name} line {reader.line_num}: {error}", code="imports.bad_file") from None
        finally:
            handle.close()

    return Table(header, rows(), path.stat().st_size, lambda: raw.tell() if not raw.closed else path.stat().st_size)


def _xlsx(path: Path) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise ImportError_(f"{path.name} is not a readable .xlsx workbook: {error}", code="imports.bad_file") from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [clean(c) for c in next(values)]
    except StopIteration:
        book.close()
        raise ImportError_(f"{path.name} is empty.", code="imports.empty_file") from None

    def rows() -> Iterator[list[str]]:
        try:
            for row in values:
                cells = [_xlsx_cell(c) for c in row]
                if any(cells):
                    yield cells
        finally:
            book.close()

    return Table(header, rows(), path.stat().st_size, lambda: 0)


def _xlsx_cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")  # type: ignore[call-arg]
    return clean(value)
