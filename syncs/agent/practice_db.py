"""A deterministic, Open Dental-shaped practice database for the agent to read and write.

Table and column names are Open Dental's (a subset of their columns). All people, addresses and
practices are fictional: 555-01xx phone numbers, example.com emails, invented street names.

    python -m syncs.agent.practice_db --database sqlite:///practice.db [--seed 1] [--scale 1.0]
    python -m syncs.agent.practice_db --database mysql://root@127.0.0.1:3306/opendental

Same seed, scale and `now` → the same rows. Every DateTStamp lies before `now`, so rows the
practice (or the agent) writes afterwards are newer than anything generated.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, datetime, timedelta
from typing import Any

from syncs.agent.db import STAMP_FORMAT, Database, create_database

# Columns per table, primary key first. `{pk}` and `{stamp}` differ per dialect (see _ddl).
SCHEMA: dict[str, list[tuple[str, str]]] = {
    "clinic": [
        ("ClinicNum", "{pk}"), ("Description", "varchar(255) NOT NULL DEFAULT ''"),
        ("Address", "varchar(255) NOT NULL DEFAULT ''"), ("Address2", "varchar(255) NOT NULL DEFAULT ''"),
        ("City", "varchar(255) NOT NULL DEFAULT ''"), ("State", "varchar(255) NOT NULL DEFAULT ''"),
        ("Zip", "varchar(255) NOT NULL DEFAULT ''"), ("Phone", "varchar(255) NOT NULL DEFAULT ''"),
        ("Abbr", "varchar(255) NOT NULL DEFAULT ''"), ("IsHidden", "tinyint NOT NULL DEFAULT 0"),
    ],
    "provider": [
        ("ProvNum", "{pk}"), ("FName", "varchar(100) NOT NULL DEFAULT ''"), ("LName", "varchar(100) NOT NULL DEFAULT ''"),
        ("Abbr", "varchar(255) NOT NULL DEFAULT ''"), ("NationalProvID", "varchar(255) NOT NULL DEFAULT ''"),
        ("IsHidden", "tinyint NOT NULL DEFAULT 0"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "operatory": [
        ("OperatoryNum", "{pk}"), ("OpName", "varchar(255) NOT NULL DEFAULT ''"), ("Abbrev", "varchar(255) NOT NULL DEFAULT ''"),
        ("IsHidden", "tinyint NOT NULL DEFAULT 0"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "appointmenttype": [
        ("AppointmentTypeNum", "{pk}"), ("AppointmentTypeName", "varchar(255) NOT NULL DEFAULT ''"),
        ("Pattern", "varchar(255) NOT NULL DEFAULT ''"), ("IsHidden", "tinyint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "patient": [
        ("PatNum", "{pk}"), ("LName", "varchar(100) NOT NULL DEFAULT ''"), ("FName", "varchar(100) NOT NULL DEFAULT ''"),
        ("Birthdate", "date NOT NULL DEFAULT '0001-01-01'"), ("Email", "varchar(100) NOT NULL DEFAULT ''"),
        ("HmPhone", "varchar(30) NOT NULL DEFAULT ''"), ("WirelessPhone", "varchar(30) NOT NULL DEFAULT ''"),
        ("Gender", "tinyint NOT NULL DEFAULT 0"), ("PatStatus", "tinyint NOT NULL DEFAULT 0"),
        ("Address", "varchar(100) NOT NULL DEFAULT ''"), ("City", "varchar(100) NOT NULL DEFAULT ''"),
        ("State", "varchar(100) NOT NULL DEFAULT ''"), ("Zip", "varchar(100) NOT NULL DEFAULT ''"),
        ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("PriProv", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "appointment": [
        ("AptNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("AptStatus", "tinyint NOT NULL DEFAULT 1"),
        ("Pattern", "varchar(255) NOT NULL DEFAULT ''"), ("AptDateTime", "datetime NOT NULL DEFAULT '0001-01-01 00:00:00'"),
        ("Op", "bigint NOT NULL DEFAULT 0"), ("ProvNum", "bigint NOT NULL DEFAULT 0"),
        ("AppointmentTypeNum", "bigint NOT NULL DEFAULT 0"), ("Note", "text"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"),
        ("Confirmed", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    # The chart and the ledger (a subset of Open Dental's columns; every table keeps a DateTStamp so the agent
    # reads it incrementally, and rows without a ClinicNum reach their patient's clinic through a join).
    "procedurecode": [
        ("CodeNum", "{pk}"), ("ProcCode", "varchar(15) NOT NULL DEFAULT ''"), ("Descript", "varchar(255) NOT NULL DEFAULT ''"),
        ("DateTStamp", "{stamp}"),
    ],
    "procedurelog": [
        ("ProcNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("AptNum", "bigint NOT NULL DEFAULT 0"),
        ("ProcStatus", "tinyint NOT NULL DEFAULT 1"), ("ProcFee", "double NOT NULL DEFAULT 0"),
        ("ProcDate", "date NOT NULL DEFAULT '0001-01-01'"), ("CodeNum", "bigint NOT NULL DEFAULT 0"),
        ("ProvNum", "bigint NOT NULL DEFAULT 0"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"),
        ("ToothNum", "varchar(2) NOT NULL DEFAULT ''"), ("Surf", "varchar(10) NOT NULL DEFAULT ''"), ("DateTStamp", "{stamp}"),
    ],
    "payment": [
        ("PayNum", "{pk}"), ("PayType", "bigint NOT NULL DEFAULT 0"), ("PayDate", "date NOT NULL DEFAULT '0001-01-01'"),
        ("PayAmt", "double NOT NULL DEFAULT 0"), ("PatNum", "bigint NOT NULL DEFAULT 0"),
        ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("PayNote", "text"), ("DateTStamp", "{stamp}"),
    ],
    "recalltype": [
        ("RecallTypeNum", "{pk}"), ("Description", "varchar(255) NOT NULL DEFAULT ''"),
        ("DefaultInterval", "int NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "recall": [
        ("RecallNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("DateDue", "date NOT NULL DEFAULT '0001-01-01'"),
        ("RecallTypeNum", "bigint NOT NULL DEFAULT 0"), ("IsDisabled", "tinyint NOT NULL DEFAULT 0"),
        ("DateTStamp", "{stamp}"),
    ],
    "popup": [
        ("PopupNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("Description", "text"),
        ("IsArchived", "tinyint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
}

# Open Dental codes.
APT_SCHEDULED, APT_COMPLETE, APT_UNSCHED_LIST, APT_BROKEN = 1, 2, 3, 5
PROC_TREATMENT_PLANNED, PROC_COMPLETE = 1, 2
# (ProcCode, Descript, fee) and the codes each appointment type bills.
PROCEDURE_CODES = [("D0150", "Comprehensive oral evaluation", 95), ("D1110", "Prophylaxis - adult", 110),
                   ("D1120", "Prophylaxis - child", 75), ("D2740", "Crown - porcelain/ceramic", 1250),
                   ("D2391", "Resin composite - one surface, posterior", 180), ("D0140", "Limited oral evaluation", 85),
                   ("D3330", "Endodontic therapy, molar", 1100), ("D9972", "External bleaching - per arch", 350)]
RECALL_TYPES = [("Prophy", 6), ("Perio", 3)]
POPUPS = ["Allergic to penicillin", "Latex allergy", "Premedicate before treatment", "Hard of hearing"]
PAT_PATIENT, PAT_INACTIVE = 0, 2

CLINICS = [
    ("Main Street Dental", "MAIN", "100 Main St", "Suite 200", "Austin", "TX", "78701", "5125550100"),
    ("Lakeside Family Dentistry", "LAKE", "2400 Lakeshore Dr", "", "Round Rock", "TX", "78664", "5125550101"),
    ("Hilltop Dental Care", "HILL", "77 Ridge Rd", "", "Georgetown", "TX", "78626", "5125550102"),
    ("Riverbend Smiles", "RIVR", "15 River Walk", "Unit 3", "San Marcos", "TX", "78666", "5125550103"),
]
FIRST = ["Ana", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonah", "Keiko", "Luis", "Maya",
         "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tessa", "Umar", "Vera", "Wes", "Ximena", "Yusuf", "Zoe",
         "Abel", "Bianca", "Cyrus", "Dana", "Emeka", "Fiona", "Gus", "Hana", "Ivan", "Jada", "Kofi", "Lena"]
LAST = ["Alvarez", "Brightwater", "Castellano", "Dunmore", "Ellery", "Fairbank", "Galloway", "Hollis", "Ingram",
        "Jessup", "Kettering", "Lindqvist", "Marlowe", "Northcott", "Oyelaran", "Pemberton", "Quill", "Rosales",
        "Sterling", "Thistlewood", "Underhill", "Vance", "Whitcombe", "Yarrow", "Zelinski", "Ashdown", "Birchall"]
STREETS = ["Oak", "Cedar", "Pecan", "Mesquite", "Willow", "Bluebonnet", "Juniper", "Sycamore", "Magnolia", "Elm"]
# (name, Pattern): each character is 5 minutes; 'X' provider time, '/' assistant or hygienist time.
APPOINTMENT_TYPES = [
    ("New Patient Exam", "/XXXXXXXXXX/"), ("Adult Prophy", "//XX////"), ("Child Prophy", "/XX///"),
    ("Crown Prep", "//XXXXXXXXXXXXXX//"), ("Filling", "/XXXXX/"), ("Emergency", "XXXXXX"),
    ("Root Canal", "//XXXXXXXXXXXXXXXXXX/"), ("Retired Whitening", "/XXXX/"),
]
NOTES = ["", "", "", "Prefers morning appointments", "Premedicate", "Text reminders only", "Bring insurance card",
         "Anxious patient", "Follow up on #14"]


def _ddl(dialect: str, table: str) -> list[str]:
    pk = "INTEGER PRIMARY KEY AUTOINCREMENT" if dialect == "sqlite" else "bigint NOT NULL AUTO_INCREMENT PRIMARY KEY"
    # Open Dental's DateTStamp is a MySQL timestamp the server refreshes on every UPDATE; that is what
    # lets the agent read changes incrementally. SQLite has no ON UPDATE, so writers set it themselves.
    stamp = ("datetime NOT NULL DEFAULT '0001-01-01 00:00:00'" if dialect == "sqlite"
             else "timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")
    columns = ", ".join(f"{name} {kind.format(pk=pk, stamp=stamp)}" for name, kind in SCHEMA[table])
    suffix = "" if dialect == "sqlite" else " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    statements = [f"DROP TABLE IF EXISTS {table}", f"CREATE TABLE {table} ({columns}){suffix}"]
    if any(name == "DateTStamp" for name, _ in SCHEMA[table]):
        statements.append(f"CREATE INDEX ix_{table}_stamp ON {table} (DateTStamp)")
    return statements


def create_tables(db: Database) -> None:
    for table in SCHEMA:
        for statement in _ddl(db.dialect, table):
            db.execute(statement)
    db.commit()


def _count(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def build(seed: int = 1, scale: float = 1.0, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, as column → value dicts, from the seed alone (and `now` for the dates)."""
    rng = random.Random(seed)
    now = (now or datetime.now()).replace(microsecond=0)

    def stamp() -> str:
        # Last touched some time in the past 90 days, never later than a minute ago.
        return (now - timedelta(seconds=rng.randint(60, 90 * 86400))).strftime(STAMP_FORMAT)

    def phone() -> str:
        return f"(512)555-01{rng.randint(0, 99):02d}"

    clinics = [
        {"ClinicNum": n, "Description": name, "Abbr": abbr, "Address": address, "Address2": address2, "City": city,
         "State": state, "Zip": zip_code, "Phone": phone_number, "IsHidden": 0}
        for n, (name, abbr, address, address2, city, state, zip_code, phone_number)
        # Always two or more: the multi-clinic case is the one that needs exercising, even in tiny databases.
        in enumerate(CLINICS[:min(len(CLINICS), max(2, round(2 * scale)))], start=1)
    ]
    clinic_nums = [c["ClinicNum"] for c in clinics]

    providers = []
    for n in range(1, _count(10, scale) + 1):
        hygienist = n % 3 == 0
        first, last = rng.choice(FIRST), rng.choice(LAST)
        providers.append({
            "ProvNum": n, "FName": first, "LName": last, "Abbr": f"{'HYG' if hygienist else 'DOC'}{n}",
            # Ten digits starting with 1, like an NPI; random, so it names nobody.
            "NationalProvID": "" if hygienist else f"1{rng.randint(0, 999_999_999):09d}",
            "IsHidden": 1 if n == 5 else 0,
            # ClinicNum 0: works at every clinic (the owner dentist).
            "ClinicNum": 0 if n == 1 else clinic_nums[n % len(clinic_nums)], "DateTStamp": stamp(),
        })

    operatories = []
    for n in range(1, _count(10, scale) + 1):
        clinic = clinic_nums[(n - 1) % len(clinic_nums)]
        hygiene = n % 4 == 0
        operatories.append({
            "OperatoryNum": n, "OpName": f"{'Hygiene' if hygiene else 'Operatory'} {n}",
            "Abbrev": f"{'HYG' if hygiene else 'OP'}{n}", "IsHidden": 1 if n == 7 else 0, "ClinicNum": clinic,
            "DateTStamp": stamp(),
        })

    types = [
        {"AppointmentTypeNum": n, "AppointmentTypeName": name, "Pattern": pattern,
         "IsHidden": 1 if name.startswith("Retired") else 0, "DateTStamp": stamp()}
        for n, (name, pattern) in enumerate(APPOINTMENT_TYPES, start=1)
    ]

    def staff_at(clinic: int, rows: list[dict], key: str) -> list[int]:
        found = [r[key] for r in rows if not r["IsHidden"] and r["ClinicNum"] in (0, clinic)]
        return found or [r[key] for r in rows]

    patients = []
    for n in range(1, _count(500, scale) + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        clinic = rng.choice(clinic_nums)
        birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 80 * 365))
        patients.append({
            "PatNum": n, "LName": last, "FName": first,
            "Birthdate": birth.isoformat() if rng.random() > 0.02 else "0001-01-01",  # Open Dental's "unknown"
            "Email": f"{first}.{last}{n}@example.com".lower() if rng.random() < 0.8 else "",
            "HmPhone": phone() if rng.random() < 0.4 else "", "WirelessPhone": phone() if rng.random() < 0.85 else "",
            "Gender": rng.choices([0, 1, 2], weights=[48, 50, 2])[0],
            "PatStatus": PAT_INACTIVE if rng.random() < 0.1 else PAT_PATIENT,
            "Address": f"{rng.randint(100, 9999)} {rng.choice(STREETS)} St",
            "City": next(c["City"] for c in clinics if c["ClinicNum"] == clinic), "State": "TX",
            "Zip": next(c["Zip"] for c in clinics if c["ClinicNum"] == clinic), "ClinicNum": clinic,
            "PriProv": rng.choice(staff_at(clinic, providers, "ProvNum")), "DateTStamp": stamp(),
        })

    appointments = []
    active = [p for p in patients if p["PatStatus"] == PAT_PATIENT]
    bookable = [t for t in types if not t["IsHidden"]]
    for n in range(1, _count(3000, scale) + 1):
        patient = rng.choice(active)
        clinic = patient["ClinicNum"]
        day = (now + timedelta(days=rng.randint(-60, 60))).date()
        start = datetime(day.year, day.month, day.day, 8) + timedelta(minutes=10 * rng.randint(0, 50))  # 8:00-16:20
        kind = rng.choice(bookable)
        past = start < now
        status = (rng.choices([APT_COMPLETE, APT_BROKEN], weights=[92, 8])[0] if past
                  else rng.choices([APT_SCHEDULED, APT_BROKEN, APT_UNSCHED_LIST], weights=[90, 5, 5])[0])
        appointments.append({
            "AptNum": n, "PatNum": patient["PatNum"], "AptStatus": status, "Pattern": kind["Pattern"],
            "AptDateTime": start.strftime(STAMP_FORMAT), "Op": rng.choice(staff_at(clinic, operatories, "OperatoryNum")),
            "ProvNum": rng.choice(staff_at(clinic, providers, "ProvNum")),
            "AppointmentTypeNum": kind["AppointmentTypeNum"], "Note": rng.choice(NOTES), "ClinicNum": clinic,
            # Real Open Dental keeps a definition number here; this generator uses 1 = confirmed, 0 = not.
            "Confirmed": 1 if past or rng.random() < 0.5 else 0, "DateTStamp": stamp(),
        })

    tables = {"clinic": clinics, "provider": providers, "operatory": operatories, "appointmenttype": types,
              "patient": patients, "appointment": appointments}
    # Drawn from a second generator: the tables above stay exactly what they were before the chart existed.
    tables.update(_chart(random.Random(seed * 7919 + 1), tables, stamp, now))
    return tables


def _chart(rng: random.Random, tables: dict[str, list[dict[str, Any]]], stamp, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Procedures of completed visits, payments for half of them, recalls for active patients, a few popups."""
    codes = [{"CodeNum": n, "ProcCode": code, "Descript": name, "DateTStamp": stamp()}
             for n, (code, name, _) in enumerate(PROCEDURE_CODES, start=1)]
    procedures, payments = [], []
    for apt in tables["appointment"]:
        if apt["AptStatus"] != APT_COMPLETE:
            continue
        code_num = apt["AppointmentTypeNum"]  # one code per type, by position
        fee = PROCEDURE_CODES[code_num - 1][2]
        day = apt["AptDateTime"][:10]
        procedures.append({
            "ProcNum": len(procedures) + 1, "PatNum": apt["PatNum"], "AptNum": apt["AptNum"], "ProcStatus": PROC_COMPLETE,
            "ProcFee": fee, "ProcDate": day, "CodeNum": code_num, "ProvNum": apt["ProvNum"], "ClinicNum": apt["ClinicNum"],
            "ToothNum": str(rng.randint(1, 32)) if code_num in (4, 5, 7) else "", "Surf": "O" if code_num == 5 else "",
            "DateTStamp": stamp(),
        })
        if rng.random() < 0.5:
            payments.append({"PayNum": len(payments) + 1, "PayType": rng.choice([69, 70, 71]), "PayDate": day,
                             "PayAmt": fee, "PatNum": apt["PatNum"], "ClinicNum": apt["ClinicNum"], "PayNote": "",
                             "DateTStamp": stamp()})
    recall_types = [{"RecallTypeNum": n, "Description": name, "DefaultInterval": months, "DateTStamp": stamp()}
                    for n, (name, months) in enumerate(RECALL_TYPES, start=1)]
    active = [p for p in tables["patient"] if p["PatStatus"] == PAT_PATIENT]
    recalls = [{"RecallNum": n, "PatNum": p["PatNum"], "RecallTypeNum": 1,
                "DateDue": (now + timedelta(days=rng.randint(-90, 180))).date().isoformat(),
                "IsDisabled": 0, "DateTStamp": stamp()} for n, p in enumerate(active, start=1)]
    popups = [{"PopupNum": n, "PatNum": p["PatNum"], "Description": rng.choice(POPUPS), "IsArchived": 0,
               "DateTStamp": stamp()} for n, p in enumerate([p for p in active if rng.random() < 0.05], start=1)]
    return {"procedurecode": codes, "procedurelog": procedures, "payment": payments, "recalltype": recall_types,
            "recall": recalls, "popup": popups}


def generate(database_url: str, seed: int = 1, scale: float = 1.0, now: datetime | None = None) -> dict[str, int]:
    """Drop and recreate the tables, fill them; returns the row count per table."""
    create_database(database_url)
    tables = build(seed, scale, now)
    with Database(database_url) as db:
        create_tables(db)
        for table, rows in tables.items():
            columns = [name for name, _ in SCHEMA[table]]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for start in range(0, len(rows), 1000):
                db.executemany(sql, [[row[c] for c in columns] for row in rows[start:start + 1000]])
        db.commit()
    return {table: len(rows) for table, rows in tables.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncs.agent.practice_db", description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="sqlite:///practice.db or mysql://root@127.0.0.1:3306/name")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every row count (1.0: ~500 patients)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    counts = generate(args.database, args.seed, args.scale)
    print(", ".join(f"{table}: {count}" for table, count in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
