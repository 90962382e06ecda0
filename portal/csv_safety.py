"""Cells a spreadsheet shows as text, never runs: CSV exports write every cell through `csv_safe`."""

# Excel, LibreOffice and Google Sheets treat a cell that starts with one of these as a formula (a leading
# tab or carriage return is dropped and what follows is read again), so `=HYPERLINK(...)` in a practice's
# name would run on the reader's machine. A leading apostrophe makes the cell text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text
