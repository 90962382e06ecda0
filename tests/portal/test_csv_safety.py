"""Every CSV export writes its cells through one rule, so no cell runs as a formula in a spreadsheet."""

import pytest

from portal.csv_safety import csv_safe


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_with_a_formula_prefix_is_quoted(prefix):
    assert csv_safe(f"{prefix}HYPERLINK(\"http://evil.example\")") == f"'{prefix}HYPERLINK(\"http://evil.example\")"


@pytest.mark.parametrize("value, written", [
    ("Bright Smiles", "Bright Smiles"), ("", ""), (None, ""), (12, "12"), (-3, "'-3"),
    ("a=1", "a=1"), (" =1", " =1"), ("'=1", "'=1"), ("\n=1", "\n=1"),
])
def test_other_cells_are_written_as_they_are(value, written):
    assert csv_safe(value) == written
