"""The row rules: what a CSV row must hold, which rows are one institution, and which rows are already live.

The value rules are institutions.validators, shared with Create Institution's form (plain functions: a form
per row is ten times slower).
"""

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models.functions import Left

from institutions.bulk.reader import COLUMNS
from institutions.matching import find_matches_many
from institutions.models import BulkUploadRow, Institution, PracticeTimeZone
from institutions.services import identity_key
from institutions.validators import US_STATES, email_clean, normalize_phone, website_clean, zip_code_clean
from portal.models import Organization
from syncs.catalog import SYNC_OPTIONS

INSTITUTION_COLUMNS = COLUMNS[:-1]
REQUIRED = frozenset({"institution_name", "street_address", "city", "state", "zip_code", "phone_number",
                      "contact_name", "contact_email", "emr_name"})
MAX_LENGTHS = {"institution_name": 200, "street_address": 200, "street_address_2": 200, "city": 100, "state": 50,
               "zip_code": 20, "phone_number": 30, "email": 254, "website": 200, "contact_name": 200,
               "contact_email": 254, "is_parent_organization": 10, "emr_name": 40}

TRUE_WORDS = {"yes", "y", "true", "t", "1", "x"}
FALSE_WORDS = {"", "no", "n", "false", "f", "0"}


@dataclass
class Cleaned:
    """A row's values as the import stores them."""

    institution: dict
    option_key: str


def clean_row(data: dict[str, str]) -> tuple[Cleaned | None, dict[str, list[str]]]:
    """The row's values ready to store, or messages by column."""
    errors: dict[str, list[str]] = defaultdict(list)
    for column in COLUMNS:
        value = data.get(column, "")
        if column in REQUIRED and not value:
            errors[column].append("This column is required.")
        elif len(value) > MAX_LENGTHS[column]:
            errors[column].append(f"At most {MAX_LENGTHS[column]} characters (this has {len(value)}).")
    values = {column: data.get(column, "") for column in COLUMNS}


    def checked(column: str, rule, value: str) -> str:
        """The shared rule's value, or the value as it is with the rule's message under the column."""
        if value and column not in errors:
            try:
                return rule(value)
            except ValidationError as exc:
                errors[column].extend(exc.messages)
        return value

    state = values["state"].upper()
    if state and "state" not in errors and state not in US_STATES:
        errors["state"].append("Enter a two-letter US state code, like TX.")
    zip_code = checked("zip_code", zip_code_clean, values["zip_code"])
    if "zip_code" in errors and re.fullmatch(r"\d{3,4}", zip_code):
        errors["zip_code"][-1] += " Spreadsheets drop leading zeros: format the column as text."
    phone = checked("phone_number", normalize_phone, values["phone_number"])
    email = checked("email", email_clean, values["email"])
    contact_email = checked("contact_email", email_clean, values["contact_email"])
    website = checked("website", website_clean, values["website"])
    parent = values["is_parent_organization"].lower()
    if parent not in TRUE_WORDS | FALSE_WORDS:
        errors["is_parent_organization"].append('Enter "yes" or "no" (empty means no).')
    option_key = values["emr_name"].lower()
    if option_key and "emr_name" not in errors and option_key not in SYNC_OPTIONS:
        errors["emr_name"].append(f'Unknown system "{values["emr_name"]}": use one of {", ".join(sorted(SYNC_OPTIONS))}.')
    if errors:
        return None, dict(errors)
    return Cleaned(institution={
        "name": values["institution_name"], "street_address": values["street_address"],
        "street_address_2": values["street_address_2"], "city": values["city"], "state": state, "zip_code": zip_code,
        "phone_number": phone, "email": email.lower(), "website": website,
        "contact_name": values["contact_name"], "contact_email": contact_email.lower(),
        "is_parent_organization": parent in TRUE_WORDS, "tz": PracticeTimeZone.of_state(state),
    }, option_key=option_key), {}


def institution_key(data: dict[str, str]) -> tuple:
    """Rows with the same key are one institution: the institution columns, ignoring case, spacing and phone format."""
    key = []
    for column in INSTITUTION_COLUMNS:
        value = " ".join(data.get(column, "").split()).casefold()
        if column == "phone_number":
            digits = re.sub(r"\D", "", value)
            value = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits or value
        elif column == "website":
            value = value.removeprefix("https://").removeprefix("http://").rstrip("/")
        elif column == "is_parent_organization":
            value = "yes" if value in TRUE_WORDS else "no" if value in FALSE_WORDS else value
        key.append(value)
    return tuple(key)


def validate_rows(*, organization: Organization, records: list[tuple[int, dict, str]],
                  progress: Callable[[int], None] | None = None, every: int = 2000) -> list[BulkUploadRow]:
    """Unsaved rows with their errors, groups and matches. A constant number of queries per 500 institutions.

    `progress(done)` is called every `every` rows, done out of 2 x len(records): rows validated, then rows matched.
    """
    progress = progress or (lambda done: None)
    rows: list[BulkUploadRow] = []
    cleaned: dict[int, Cleaned] = {}
    group_of_key: dict[tuple, int] = {}
    first_of_row: dict[tuple, int] = {}
    group_of_identity: dict[str, int] = {}
    for number, data, problem in records:
        result, errors = clean_row(data)
        if problem:
            errors = {"row": [problem], **errors}
        # A 16-byte digest of the key, not the key: 50,000 tuples of normalized cells held for the whole check were
        # a good part of its memory (a collision, odds about 2**-100 here, would make two institutions one).
        key = hashlib.blake2b(repr(institution_key(data)).encode(), digest_size=16).digest()
        group = group_of_key.setdefault(key, number)
        row = BulkUploadRow(number=number, group=group, data=data, errors=errors)
        row_key = (key, data.get("emr_name", "").lower())
        if row_key in first_of_row:
            row.errors = {"row": [f"Duplicate of row {first_of_row[row_key]}: each row creates a sync, so remove "
                                  "the repeated row."], **row.errors}
            row.duplicate = True
        else:
            first_of_row[row_key] = number
            row.duplicate = False
        if result is not None:
            cleaned[number] = result
            other = group_of_identity.setdefault(identity_key(result.institution["name"], result.institution["zip_code"]),
                                                 group)
            if other != group:
                row.errors = {**row.errors, "institution_name": [
                    f"Row {other} has the same institution name and ZIP code with different details: make the "
                    "institution columns identical to add another sync to it, or change the name."]}
        rows.append(row)
        if len(rows) % every == 0:
            progress(len(rows))
    progress(len(rows))

    _flag_existing(organization, rows, cleaned)
    by_group: dict[int, list[BulkUploadRow]] = defaultdict(list)
    for row in rows:
        by_group[row.group].append(row)
    for group_rows in by_group.values():  # an institution is created with all its syncs, or not at all
        broken = [row for row in group_rows if row.errors and not row.duplicate]
        if broken:
            for row in group_rows:
                if not row.errors:
                    row.errors = {"row": [f"Row {broken[0].number} of the same institution has errors: fix it first, "
                                          "so the institution is created with all its syncs."]}
    groups, matched = list(by_group), 0
    for start in range(0, len(groups), every):  # matching is most of the time: report it part by part
        part = {group: by_group[group] for group in groups[start:start + every]}
        _flag_matches(organization, part, cleaned)
        matched += sum(len(group_rows) for group_rows in part.values())
        progress(len(rows) + matched)
    for row in rows:
        row.state = (BulkUploadRow.State.ERROR if row.errors else BulkUploadRow.State.MATCH if row.match
                     else BulkUploadRow.State.READY)
    return rows


def _flag_existing(organization: Organization, rows: list[BulkUploadRow], cleaned: dict[int, Cleaned]) -> None:
    """An institution the organization already has (same name and ZIP code, as Create Institution checks)."""
    zips = sorted({c.institution["zip_code"][:5] for c in cleaned.values()})
    existing: dict[tuple[str, str], str] = {}
    for start in range(0, len(zips), 500):
        for name, zip_code, subdomain in (Institution.objects.reachable_by(organization).filter(is_sandbox=False)
                                          .annotate(zip5=Left("zip_code", 5)).filter(zip5__in=zips[start:start + 500])
                                          .values_list("name", "zip_code", "subdomain")):
            existing[identity_key(name, zip_code)] = subdomain
    for row in rows:
        if row.number in cleaned:
            institution = cleaned[row.number].institution
            subdomain = existing.get(identity_key(institution["name"], institution["zip_code"]))
            if subdomain:
                row.errors = {**row.errors, "institution_name": [
                    f"You already have an institution called {institution['name']} at ZIP {institution['zip_code']} "
                    f"(subdomain {subdomain}). Add syncs to it from its page."]}


def _flag_matches(organization: Organization, by_group: dict[int, list[BulkUploadRow]],
                  cleaned: dict[int, Cleaned]) -> None:
    clean_groups = [group for group, group_rows in by_group.items() if not any(row.errors for row in group_rows)]
    candidates = [cleaned[group].institution for group in clean_groups]
    for group, matches in zip(clean_groups, find_matches_many(organization=organization, candidates=candidates)):
        if matches:
            for row in by_group[group]:
                row.match = [match.as_dict() for match in matches[:5]]


def row_message(errors: dict, match: list, message: str) -> str:
    if errors:
        return "; ".join(f"{column}: {text}" for column, texts in errors.items() for text in texts)
    if match:
        return "; ".join(f"Matches {m['name']} ({m['city']}, {m['state']}): {', '.join(m['reasons'])}" for m in match)
    return message

