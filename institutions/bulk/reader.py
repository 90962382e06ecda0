"""Reading an uploaded CSV: size, encoding, delimiter and header checks, then the cells of every row."""

import csv
import io
import re
from collections.abc import Iterator

from django.core.exceptions import ValidationError

COLUMNS = ("institution_name", "street_address", "street_address_2", "city", "state", "zip_code", "phone_number",
           "email", "website", "contact_name", "contact_email", "is_parent_organization", "emr_name")
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000

SAMPLE_ROWS = [
    {"institution_name": "Bright Smiles Dental", "street_address": "12 Main St", "street_address_2": "Suite 200",
     "city": "Austin", "state": "TX", "zip_code": "78701", "phone_number": "(512) 555-0100",
     "email": "front@brightsmiles.example", "website": "https://brightsmiles.example", "contact_name": "Dana Office",
     "contact_email": "it@brightsmiles.example", "is_parent_organization": "no", "emr_name": "opendental"},
    {"institution_name": "Lakeside Family Dentistry", "street_address": "400 Shore Dr", "street_address_2": "",
     "city": "Madison", "state": "WI", "zip_code": "53703", "phone_number": "(608) 555-0142",
     "email": "hello@lakesidefamily.example", "website": "lakesidefamily.example", "contact_name": "Sam Rivera",
     "contact_email": "sam@lakesidefamily.example", "is_parent_organization": "yes", "emr_name": "athena"},
]



class UploadRefused(ValidationError):
    """The file as a whole cannot be read (size, encoding, headers, ...); the message says what to do."""


def sample_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(SAMPLE_ROWS)
    return out.getvalue()


def read_csv(content: bytes) -> list[tuple[int, dict[str, str], str]]:
    """(spreadsheet row number, cells by column, whole-row problem or '') for every non-blank row.

    Raises UploadRefused for problems with the file itself.
    """
    reader, columns, delimiter = _open(content)
    rows = []
    try:
        for number, record in _non_blank(reader):
            problem = ""
            if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns):]):
                problem = (f"This row has {len(record)} cells but the header has {len(columns)}: put values that "
                           f"contain a {_delimiter_name(delimiter)} in double quotes.")
            data = {column: (record[i].strip() if i < len(record) else "") for i, column in enumerate(columns)}
            rows.append((number, {column: data[column] for column in COLUMNS}, problem))
    except csv.Error as exc:
        raise UploadRefused(f"Row {reader.line_num} could not be read ({exc}). Check its quotes, then upload again.")
    if not rows:
        raise UploadRefused(_NO_ROWS)
    return rows


def count_csv_rows(content: bytes) -> int:
    """The file's non-blank rows, after the same file checks as read_csv (size, encoding, header, quotes, row
    limit) but without looking at any cell: what the upload request can afford for any allowed file."""
    reader, _, _ = _open(content)
    count = 0
    try:
        for _ in _non_blank(reader):
            count += 1
    except csv.Error as exc:
        raise UploadRefused(f"Row {reader.line_num} could not be read ({exc}). Check its quotes, then upload again.")
    if not count:
        raise UploadRefused(_NO_ROWS)
    return count


_NO_ROWS = "The file has a header but no rows. Add one row per sync below the header."


def _open(content: bytes):
    """A csv reader past the header, the header's columns and the delimiter; UploadRefused for an unreadable file."""
    if len(content) > MAX_BYTES:
        raise UploadRefused(f"The file is {len(content) / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB "
                            f"(about {MAX_ROWS:,} rows). Split it into several files.")
    if not content.strip():
        raise UploadRefused("The file is empty. Start from the sample CSV: a header row, then one row per sync.")
    if content.startswith(b"PK\x03\x04") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRefused("This is an Excel workbook, not a CSV file. In Excel choose File > Save As > "
                            "CSV UTF-8 (Comma delimited), then upload that file.")
    text = _decode(content)
    if "\x00" in text:
        raise UploadRefused("The file contains binary data. Upload a CSV file (text, comma separated).")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise UploadRefused(f"Row {reader.line_num} could not be read ({exc}). Check its quotes, then upload again.")
    return reader, _columns(header, delimiter), delimiter


def _non_blank(reader) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the rows with a value; UploadRefused past MAX_ROWS."""
    count = 0
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if count >= MAX_ROWS:
            raise UploadRefused(f"The file has more than {MAX_ROWS:,} rows. Split it into files of at most "
                                f"{MAX_ROWS:,} rows.")
        count += 1
        yield number, record


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadRefused("The file's text encoding could not be read. Save it as CSV UTF-8 and upload again.")


def _delimiter(text: str) -> str:
    """The delimiter of the header line: csv.Sniffer's guess among , ; and tab, checked against the known columns."""
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    try:
        guess = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        guess = ","
    candidates = [guess] + [d for d in (",", ";", "\t") if d != guess]
    known = set(COLUMNS)
    return max(candidates, key=lambda d: len({_header_name(h) for h in next(csv.reader([first_line], delimiter=d), [])} & known))


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def _header_name(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().strip('"').lstrip("\ufeff").strip().lower())


def _columns(header: list[str], delimiter: str) -> list[str]:
    names = [_header_name(cell) for cell in header]
    while names and not names[-1]:  # trailing empty header cells (a spreadsheet's extra delimiters)
        names.pop()
    expected = ", ".join(COLUMNS)
    if not set(names) & set(COLUMNS):
        raise UploadRefused(f"The first row must be the header: {expected}. Start from the sample CSV.")
    problems = []
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n or "(empty)" for n in names if n not in COLUMNS]
    repeated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)}")
    if problems:
        raise UploadRefused(f"The header has {'; '.join(problems)}. The columns are exactly: {expected}.")
    return names
