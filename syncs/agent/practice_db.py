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
from syncs.agent.records import DEF_ADJ_TYPES, DEF_IMAGE_CATS, DEF_PAYMENT_TYPES

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
    # The rest of the practice. Open Dental stamps some of these with SecDateTEdit or none at all; here every
    # table keeps a DateTStamp, so the agent reads each the same incremental way.
    "definition": [  # Open Dental's lookup lists: Category 1 adjustment types, 10 payment types, 18 image categories
        ("DefNum", "{pk}"), ("Category", "tinyint NOT NULL DEFAULT 0"), ("ItemOrder", "int NOT NULL DEFAULT 0"),
        ("ItemName", "varchar(255) NOT NULL DEFAULT ''"), ("ItemValue", "varchar(255) NOT NULL DEFAULT ''"),
        ("IsHidden", "tinyint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "adjustment": [
        ("AdjNum", "{pk}"), ("AdjDate", "date NOT NULL DEFAULT '0001-01-01'"), ("AdjAmt", "double NOT NULL DEFAULT 0"),
        ("PatNum", "bigint NOT NULL"), ("AdjType", "bigint NOT NULL DEFAULT 0"), ("ProvNum", "bigint NOT NULL DEFAULT 0"),
        ("AdjNote", "text"), ("ProcNum", "bigint NOT NULL DEFAULT 0"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"),
        ("DateTStamp", "{stamp}"),
    ],
    "feesched": [
        ("FeeSchedNum", "{pk}"), ("Description", "varchar(255) NOT NULL DEFAULT ''"),
        ("FeeSchedType", "int NOT NULL DEFAULT 0"), ("IsHidden", "tinyint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "fee": [
        ("FeeNum", "{pk}"), ("Amount", "double NOT NULL DEFAULT 0"), ("FeeSched", "bigint NOT NULL DEFAULT 0"),
        ("CodeNum", "bigint NOT NULL DEFAULT 0"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"),
        ("ProvNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "carrier": [
        ("CarrierNum", "{pk}"), ("CarrierName", "varchar(255) NOT NULL DEFAULT ''"),
        ("Address", "varchar(255) NOT NULL DEFAULT ''"), ("Address2", "varchar(255) NOT NULL DEFAULT ''"),
        ("City", "varchar(255) NOT NULL DEFAULT ''"), ("State", "varchar(255) NOT NULL DEFAULT ''"),
        ("Zip", "varchar(255) NOT NULL DEFAULT ''"), ("Phone", "varchar(255) NOT NULL DEFAULT ''"),
        ("ElectID", "varchar(255) NOT NULL DEFAULT ''"), ("DateTStamp", "{stamp}"),
    ],
    "insplan": [
        ("PlanNum", "{pk}"), ("GroupName", "varchar(50) NOT NULL DEFAULT ''"), ("GroupNum", "varchar(25) NOT NULL DEFAULT ''"),
        ("CarrierNum", "bigint NOT NULL DEFAULT 0"), ("FeeSched", "bigint NOT NULL DEFAULT 0"),
        ("IsHidden", "tinyint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "inssub": [
        ("InsSubNum", "{pk}"), ("PlanNum", "bigint NOT NULL DEFAULT 0"), ("Subscriber", "bigint NOT NULL DEFAULT 0"),
        ("DateEffective", "date NOT NULL DEFAULT '0001-01-01'"), ("DateTerm", "date NOT NULL DEFAULT '0001-01-01'"),
        ("SubscriberID", "varchar(255) NOT NULL DEFAULT ''"), ("DateTStamp", "{stamp}"),
    ],
    "patplan": [
        ("PatPlanNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("Ordinal", "tinyint NOT NULL DEFAULT 1"),
        ("IsPending", "tinyint NOT NULL DEFAULT 0"), ("Relationship", "tinyint NOT NULL DEFAULT 0"),
        ("PatID", "varchar(100) NOT NULL DEFAULT ''"), ("InsSubNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "claim": [
        ("ClaimNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("DateService", "date NOT NULL DEFAULT '0001-01-01'"),
        ("DateSent", "date NOT NULL DEFAULT '0001-01-01'"), ("ClaimStatus", "char(1) NOT NULL DEFAULT 'U'"),
        ("DateReceived", "date NOT NULL DEFAULT '0001-01-01'"), ("PlanNum", "bigint NOT NULL DEFAULT 0"),
        ("PlanNum2", "bigint NOT NULL DEFAULT 0"), ("ProvTreat", "bigint NOT NULL DEFAULT 0"),
        ("ClaimFee", "double NOT NULL DEFAULT 0"), ("InsPayEst", "double NOT NULL DEFAULT 0"),
        ("InsPayAmt", "double NOT NULL DEFAULT 0"), ("WriteOff", "double NOT NULL DEFAULT 0"), ("ClaimNote", "text"),
        ("ClaimType", "varchar(255) NOT NULL DEFAULT 'P'"), ("InsSubNum", "bigint NOT NULL DEFAULT 0"),
        ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "claimproc": [  # a claim's line per procedure; read with its claim
        ("ClaimProcNum", "{pk}"), ("ProcNum", "bigint NOT NULL DEFAULT 0"), ("ClaimNum", "bigint NOT NULL DEFAULT 0"),
        ("PatNum", "bigint NOT NULL DEFAULT 0"), ("ProvNum", "bigint NOT NULL DEFAULT 0"),
        ("FeeBilled", "double NOT NULL DEFAULT 0"), ("InsPayEst", "double NOT NULL DEFAULT 0"),
        ("InsPayAmt", "double NOT NULL DEFAULT 0"), ("WriteOff", "double NOT NULL DEFAULT 0"),
        ("AllowedOverride", "double NOT NULL DEFAULT -1"), ("Status", "tinyint NOT NULL DEFAULT 0"),
        ("PlanNum", "bigint NOT NULL DEFAULT 0"), ("InsSubNum", "bigint NOT NULL DEFAULT 0"),
        ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("ProcDate", "date NOT NULL DEFAULT '0001-01-01'"),
        ("DateTStamp", "{stamp}"),
    ],
    "treatplan": [
        ("TreatPlanNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("DateTP", "date NOT NULL DEFAULT '0001-01-01'"),
        ("Heading", "varchar(255) NOT NULL DEFAULT ''"), ("Note", "text"), ("TPStatus", "tinyint NOT NULL DEFAULT 0"),
        ("DateTStamp", "{stamp}"),
    ],
    "treatplanattach": [  # which planned procedures a plan holds; read with its plan
        ("TreatPlanAttachNum", "{pk}"), ("TreatPlanNum", "bigint NOT NULL DEFAULT 0"),
        ("ProcNum", "bigint NOT NULL DEFAULT 0"), ("Priority", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "document": [
        ("DocNum", "{pk}"), ("Description", "varchar(255) NOT NULL DEFAULT ''"),
        ("DateCreated", "datetime NOT NULL DEFAULT '0001-01-01 00:00:00'"), ("DocCategory", "bigint NOT NULL DEFAULT 0"),
        ("PatNum", "bigint NOT NULL"), ("FileName", "varchar(255) NOT NULL DEFAULT ''"),
        ("ImgType", "tinyint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "procnote": [
        ("ProcNoteNum", "{pk}"), ("PatNum", "bigint NOT NULL"), ("ProcNum", "bigint NOT NULL DEFAULT 0"),
        ("EntryDateTime", "datetime NOT NULL DEFAULT '0001-01-01 00:00:00'"), ("UserNum", "bigint NOT NULL DEFAULT 0"),
        ("Note", "text"), ("Signature", "text"), ("DateTStamp", "{stamp}"),
    ],
    "employee": [
        ("EmployeeNum", "{pk}"), ("LName", "varchar(255) NOT NULL DEFAULT ''"), ("FName", "varchar(255) NOT NULL DEFAULT ''"),
        ("EmailWork", "varchar(255) NOT NULL DEFAULT ''"), ("IsHidden", "tinyint NOT NULL DEFAULT 0"),
        ("DateTStamp", "{stamp}"),
    ],
    "schedule": [
        ("ScheduleNum", "{pk}"), ("SchedDate", "date NOT NULL DEFAULT '0001-01-01'"),
        ("StartTime", "time NOT NULL DEFAULT '00:00:00'"), ("StopTime", "time NOT NULL DEFAULT '00:00:00'"),
        ("SchedType", "tinyint NOT NULL DEFAULT 0"), ("ProvNum", "bigint NOT NULL DEFAULT 0"),
        ("BlockoutType", "bigint NOT NULL DEFAULT 0"), ("Note", "text"), ("Status", "tinyint NOT NULL DEFAULT 0"),
        ("EmployeeNum", "bigint NOT NULL DEFAULT 0"), ("ClinicNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
    "scheduleop": [  # the operatories a schedule row covers; read with its row
        ("ScheduleOpNum", "{pk}"), ("ScheduleNum", "bigint NOT NULL DEFAULT 0"),
        ("OperatoryNum", "bigint NOT NULL DEFAULT 0"), ("DateTStamp", "{stamp}"),
    ],
}

# Child tables and the column naming their parent row.
PARENT_KEYS = {"claimproc": "ClaimNum", "treatplanattach": "TreatPlanNum", "scheduleop": "ScheduleNum"}

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
# The definitions this practice uses: (DefNum, Category, ItemName,
# ItemValue, IsHidden). An adjustment type's ItemValue is "+" (adds to the balance) or "-" (takes from it);
# payments already name 69-71 as their PayType.
DEFINITIONS = [
    (1, DEF_ADJ_TYPES, "Professional courtesy", "-", 0), (2, DEF_ADJ_TYPES, "Senior discount", "-", 0),
    (3, DEF_ADJ_TYPES, "Finance charge", "+", 0), (4, DEF_ADJ_TYPES, "Billing charge", "+", 0),
    (5, DEF_ADJ_TYPES, "Old family discount", "-", 1),
    (69, DEF_PAYMENT_TYPES, "Check", "", 0), (70, DEF_PAYMENT_TYPES, "Cash", "", 0),
    (71, DEF_PAYMENT_TYPES, "Credit Card", "", 0),
    (80, DEF_IMAGE_CATS, "X-Rays", "X", 0), (81, DEF_IMAGE_CATS, "Photos", "", 0),
    (82, DEF_IMAGE_CATS, "Patient Information", "", 0), (83, DEF_IMAGE_CATS, "Insurance Cards", "", 0),
]
# (DefNum of the image category, file name stem, extension, Open Dental's ImgType: 0 document, 1 radiograph, 2 photo)
DOCUMENT_KINDS = [(80, "PanoXray", "jpg", 1), (81, "IntraoralPhoto", "jpg", 2), (82, "MedicalHistory", "pdf", 0),
                  (83, "InsuranceCard", "jpg", 2)]
# Invented carriers and employers; fee schedules as a share of the standard fee.
FEE_SCHEDULES = [("Standard", 1.0), ("Bluebonnet PPO", 0.8), ("Lone Star PPO", 0.75)]
CARRIERS = [("Bluebonnet Dental Mutual", "PO Box 1100", "Austin", "TX", "78767"),
            ("Lone Star Benefit Co", "500 Commerce St", "Dallas", "TX", "75202"),
            ("Prairie Shield Insurance", "12 Granary Ln", "Lubbock", "TX", "79401")]
# (GroupName, CarrierNum, FeeSched)
INSURANCE_PLANS = [("Pecan Valley Schools", 1, 2), ("Mesquite Manufacturing", 2, 3), ("Juniper Tech Cooperative", 1, 2),
                   ("Individual plan", 3, 1)]
# patplan.Relationship: 0 self, 1 spouse, 2 child
REL_SELF, REL_SPOUSE, REL_CHILD = 0, 1, 2
# Codes a treatment plan proposes (CodeNum, by position in PROCEDURE_CODES).
PLANNED_CODES = [4, 5, 7, 8]
PROC_NOTES = ["Pt tolerated procedure well. No complications.", "Reviewed home care; pt to floss daily.",
              "Local anesthetic: 1 carpule lidocaine 2% 1:100k epi. Pt comfortable throughout.",
              "Discussed findings and treatment options with pt.", "Light bleeding on probing; recommend recall in 3 months."]
# Open Dental's schedule.SchedType and schedule.Status
SCHED_PRACTICE, SCHED_PROVIDER = 0, 1
SCHED_HOLIDAY = 2

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
    columns = [f"{name} {kind.format(pk=pk, stamp=stamp)}" for name, kind in SCHEMA[table]]
    indexes = {f"ix_{table}_stamp": "DateTStamp"} if any(name == "DateTStamp" for name, _ in SCHEMA[table]) else {}
    if table in PARENT_KEYS:  # child rows are read by their parent's key (as Open Dental indexes them)
        indexes[f"ix_{table}_parent"] = PARENT_KEYS[table]
    if dialect == "sqlite":
        return [f"DROP TABLE IF EXISTS {table}", f"CREATE TABLE {table} ({', '.join(columns)})",
                *(f"CREATE INDEX {name} ON {table} ({column})" for name, column in indexes.items())]
    # MySQL commits and rebuilds per DDL statement: indexes inside CREATE TABLE keep the tables quick to make.
    columns += [f"INDEX {name} ({column})" for name, column in indexes.items()]
    return [f"CREATE TABLE {table} ({', '.join(columns)}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"]


def create_tables(db: Database) -> None:
    if db.dialect == "mysql":
        db.execute(f"DROP TABLE IF EXISTS {', '.join(SCHEMA)}")  # one statement: MySQL commits after each
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
    # And the rest of the practice from a third: the chart's rows stay as they were too (it only appends
    # planned procedures to procedurelog).
    tables.update(_practice(random.Random(seed * 7919 + 2), tables, now, scale))
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


def _practice(rng: random.Random, tables: dict[str, list[dict[str, Any]]], now: datetime,
              scale: float) -> dict[str, list[dict[str, Any]]]:
    """Definitions, fee schedules, insurance and coverages, claims of insured visits, adjustments, treatment plans
    with their planned procedures, procedure notes, documents, employees and the providers' schedules."""

    def stamp() -> str:
        return (now - timedelta(seconds=rng.randint(60, 90 * 86400))).strftime(STAMP_FORMAT)

    def days_ago(low: int, high: int) -> str:
        return (now - timedelta(days=rng.randint(low, high))).date().isoformat()

    active = [p for p in tables["patient"] if p["PatStatus"] == PAT_PATIENT]
    completed = [proc for proc in tables["procedurelog"] if proc["ProcStatus"] == PROC_COMPLETE]
    fee_of = {n: fee for n, (_, _, fee) in enumerate(PROCEDURE_CODES, start=1)}

    order: dict[int, int] = {}
    definitions = []
    for num, category, name, value, hidden in DEFINITIONS:
        order[category] = order.get(category, -1) + 1
        definitions.append({"DefNum": num, "Category": category, "ItemOrder": order[category], "ItemName": name,
                            "ItemValue": value, "IsHidden": hidden, "DateTStamp": stamp()})

    fee_scheds = [{"FeeSchedNum": n, "Description": name, "FeeSchedType": 0, "IsHidden": 0, "DateTStamp": stamp()}
                  for n, (name, _) in enumerate(FEE_SCHEDULES, start=1)]
    fees = [{"FeeNum": (sched - 1) * len(PROCEDURE_CODES) + code, "Amount": round(fee_of[code] * share, 2),
             "FeeSched": sched, "CodeNum": code, "ClinicNum": 0, "ProvNum": 0, "DateTStamp": stamp()}
            for sched, (_, share) in enumerate(FEE_SCHEDULES, start=1) for code in fee_of]
    carriers = [{"CarrierNum": n, "CarrierName": name, "Address": address, "Address2": "", "City": city, "State": state,
                 "Zip": zip_code, "Phone": f"(800)555-01{rng.randint(0, 99):02d}", "ElectID": f"{rng.randint(10000, 99999)}",
                 "DateTStamp": stamp()} for n, (name, address, city, state, zip_code) in enumerate(CARRIERS, start=1)]
    plans = [{"PlanNum": n, "GroupName": group, "GroupNum": f"G{rng.randint(100000, 999999)}", "CarrierNum": carrier,
              "FeeSched": sched, "IsHidden": 0, "DateTStamp": stamp()}
             for n, (group, carrier, sched) in enumerate(INSURANCE_PLANS, start=1)]

    # Coverage: about 40% of active patients; some as a spouse or child on an earlier subscriber at their clinic,
    # a few with a second plan.
    subs: list[dict[str, Any]] = []
    patplans: list[dict[str, Any]] = []
    primary: dict[int, dict[str, Any]] = {}  # PatNum -> its ordinal-1 inssub
    secondary: dict[int, int] = {}  # PatNum -> its second PlanNum
    subscribers_at: dict[int, list[dict[str, Any]]] = {}

    def subscribe(patient: dict[str, Any], plan: int) -> dict[str, Any]:
        sub = {"InsSubNum": len(subs) + 1, "PlanNum": plan, "Subscriber": patient["PatNum"],
               "DateEffective": days_ago(200, 2000), "DateTerm": "0001-01-01",
               "SubscriberID": f"XZ{rng.randint(10_000_000, 99_999_999)}", "DateTStamp": stamp()}
        subs.append(sub)
        return sub

    def cover(patient: dict[str, Any], sub: dict[str, Any], ordinal: int, relationship: int) -> None:
        patplans.append({"PatPlanNum": len(patplans) + 1, "PatNum": patient["PatNum"], "Ordinal": ordinal,
                         "IsPending": 0, "Relationship": relationship, "PatID": "", "InsSubNum": sub["InsSubNum"],
                         "DateTStamp": stamp()})

    for n, patient in enumerate(active):
        if n and rng.random() >= 0.4:  # the first active patient is always insured, so even tiny databases have claims
            continue
        family = subscribers_at.get(patient["ClinicNum"], [])
        if family and rng.random() < 0.25:
            sub = rng.choice(family)
            cover(patient, sub, 1, rng.choice([REL_SPOUSE, REL_CHILD]))
        else:
            sub = subscribe(patient, rng.randint(1, len(plans)))
            subscribers_at.setdefault(patient["ClinicNum"], []).append(sub)
            cover(patient, sub, 1, REL_SELF)
        primary[patient["PatNum"]] = sub
        if rng.random() < 0.1:
            other = subscribe(patient, rng.choice([p["PlanNum"] for p in plans if p["PlanNum"] != sub["PlanNum"]]))
            cover(patient, other, 2, REL_SELF)
            secondary[patient["PatNum"]] = other["PlanNum"]

    # A claim per insured visit: waiting to be sent in its first week, sent for two more, received after that.
    share_of = {p["PlanNum"]: FEE_SCHEDULES[p["FeeSched"] - 1][1] for p in plans}
    claims, claimprocs = [], []
    for proc in completed:
        sub = primary.get(proc["PatNum"])
        if sub is None:
            continue
        age = (now.date() - date.fromisoformat(proc["ProcDate"])).days
        status = "W" if age < 7 else "S" if age < 21 else "R"
        allowed = round(proc["ProcFee"] * share_of[sub["PlanNum"]], 2)
        estimate = round(allowed * 0.8, 2)
        paid = estimate if status == "R" else 0.0
        write_off = round(proc["ProcFee"] - allowed, 2)
        claim_num = len(claims) + 1
        sent = (date.fromisoformat(proc["ProcDate"]) + timedelta(days=1)).isoformat() if status != "W" else "0001-01-01"
        received = (date.fromisoformat(proc["ProcDate"]) + timedelta(days=20)).isoformat() if status == "R" else "0001-01-01"
        claims.append({
            "ClaimNum": claim_num, "PatNum": proc["PatNum"], "DateService": proc["ProcDate"], "DateSent": sent,
            "ClaimStatus": status, "DateReceived": received, "PlanNum": sub["PlanNum"],
            "PlanNum2": secondary.get(proc["PatNum"], 0), "ProvTreat": proc["ProvNum"], "ClaimFee": proc["ProcFee"],
            "InsPayEst": estimate, "InsPayAmt": paid, "WriteOff": write_off, "ClaimNote": "", "ClaimType": "P",
            "InsSubNum": sub["InsSubNum"], "ClinicNum": proc["ClinicNum"], "DateTStamp": stamp(),
        })
        claimprocs.append({
            "ClaimProcNum": len(claimprocs) + 1, "ProcNum": proc["ProcNum"], "ClaimNum": claim_num,
            "PatNum": proc["PatNum"], "ProvNum": proc["ProvNum"], "FeeBilled": proc["ProcFee"], "InsPayEst": estimate,
            "InsPayAmt": paid, "WriteOff": write_off, "AllowedOverride": -1, "Status": 1 if status == "R" else 0,
            "PlanNum": sub["PlanNum"], "InsSubNum": sub["InsSubNum"], "ClinicNum": proc["ClinicNum"],
            "ProcDate": proc["ProcDate"], "DateTStamp": stamp(),
        })

    # Adjustments: a discount on some visits (the first always), a finance charge on a few accounts.
    discounts = [d[0] for d in DEFINITIONS if d[1] == DEF_ADJ_TYPES and d[3] == "-" and not d[4]]
    adjustments = []
    for n, proc in enumerate(completed):
        if n and rng.random() >= 0.06:
            continue
        adjustments.append({"AdjNum": len(adjustments) + 1, "AdjDate": proc["ProcDate"],
                            "AdjAmt": -round(proc["ProcFee"] * 0.1, 2), "PatNum": proc["PatNum"],
                            "AdjType": rng.choice(discounts), "ProvNum": proc["ProvNum"], "AdjNote": "",
                            "ProcNum": proc["ProcNum"], "ClinicNum": proc["ClinicNum"], "DateTStamp": stamp()})
    for patient in active:
        if rng.random() < 0.02:
            adjustments.append({"AdjNum": len(adjustments) + 1, "AdjDate": days_ago(1, 30), "AdjAmt": 15.0,
                                "PatNum": patient["PatNum"], "AdjType": 3, "ProvNum": patient["PriProv"],
                                "AdjNote": "Balance over 90 days", "ProcNum": 0, "ClinicNum": patient["ClinicNum"],
                                "DateTStamp": stamp()})

    # Treatment plans, each with one to three planned procedures (appended to procedurelog).
    planned, treatplans, attaches = [], [], []
    next_proc = len(tables["procedurelog"]) + 1
    for n, patient in enumerate(active):
        if n and rng.random() >= 0.1:
            continue
        day = days_ago(1, 60)
        status = rng.choice([1, 1, 0])  # Open Dental's TPStatus: 1 active, 0 saved
        plan_num = len(treatplans) + 1
        treatplans.append({"TreatPlanNum": plan_num, "PatNum": patient["PatNum"], "DateTP": day,
                           "Heading": "Active Treatment Plan" if status == 1 else f"Presented {day}", "Note": "",
                           "TPStatus": status, "DateTStamp": stamp()})
        for priority, code in enumerate(rng.sample(PLANNED_CODES, rng.randint(1, 3)), start=1):
            planned.append({"ProcNum": next_proc, "PatNum": patient["PatNum"], "AptNum": 0,
                            "ProcStatus": PROC_TREATMENT_PLANNED, "ProcFee": fee_of[code], "ProcDate": day,
                            "CodeNum": code, "ProvNum": patient["PriProv"], "ClinicNum": patient["ClinicNum"],
                            "ToothNum": str(rng.randint(1, 32)) if code in (4, 5, 7) else "",
                            "Surf": "O" if code == 5 else "", "DateTStamp": stamp()})
            attaches.append({"TreatPlanAttachNum": len(attaches) + 1, "TreatPlanNum": plan_num, "ProcNum": next_proc,
                             "Priority": priority, "DateTStamp": stamp()})
            next_proc += 1

    visit_time = {apt["AptNum"]: apt["AptDateTime"] for apt in tables["appointment"]}
    notes = []
    for n, proc in enumerate(completed):
        if n and rng.random() >= 0.3:
            continue
        notes.append({"ProcNoteNum": len(notes) + 1, "PatNum": proc["PatNum"], "ProcNum": proc["ProcNum"],
                      "EntryDateTime": visit_time.get(proc["AptNum"], f"{proc['ProcDate']} 12:00:00"), "UserNum": 1,
                      "Note": rng.choice(PROC_NOTES),
                      # Open Dental keeps a signature hash here; a random hex string stands in for it.
                      "Signature": f"{rng.getrandbits(64):016X}" if rng.random() < 0.7 else "", "DateTStamp": stamp()})

    documents = []
    for n, patient in enumerate(active):
        if n and rng.random() >= 0.15:
            continue
        category, stem, extension, img_type = rng.choice(DOCUMENT_KINDS)
        doc_num = len(documents) + 1
        created = (now - timedelta(days=rng.randint(1, 700), minutes=rng.randint(0, 600))).strftime(STAMP_FORMAT)
        documents.append({"DocNum": doc_num, "Description": stem, "DateCreated": created, "DocCategory": category,
                          "PatNum": patient["PatNum"], "FileName": f"{stem}{doc_num}.{extension}", "ImgType": img_type,
                          "DateTStamp": stamp()})

    employees = []
    for n in range(1, _count(8, scale) + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        employees.append({"EmployeeNum": n, "LName": last, "FName": first,
                          "EmailWork": f"{first}.{last}.staff{n}@example.com".lower(), "IsHidden": 1 if n == 6 else 0,
                          "DateTStamp": stamp()})

    # The providers' schedules: weekdays from a week ago to two weeks ahead, one row per provider and day, in one
    # operatory of the day's clinic; a provider of every clinic (ClinicNum 0) alternates between them.
    clinic_nums = [c["ClinicNum"] for c in tables["clinic"]]
    schedules, schedule_ops = [], []
    for offset in range(-7, 15):
        day = (now + timedelta(days=offset)).date()
        if day.weekday() >= 5:
            continue
        for prov in tables["provider"]:
            if prov["IsHidden"]:
                continue
            clinic = prov["ClinicNum"] or clinic_nums[offset % len(clinic_nums)]
            hygienist = prov["Abbr"].startswith("HYG")
            sched_num = len(schedules) + 1
            schedules.append({"ScheduleNum": sched_num, "SchedDate": day.isoformat(),
                              "StartTime": "07:00:00" if hygienist else "08:00:00",
                              "StopTime": "15:30:00" if hygienist else "17:00:00", "SchedType": SCHED_PROVIDER,
                              "ProvNum": prov["ProvNum"], "BlockoutType": 0, "Note": "", "Status": 0, "EmployeeNum": 0,
                              "ClinicNum": clinic, "DateTStamp": stamp()})
            ops = [op["OperatoryNum"] for op in tables["operatory"] if not op["IsHidden"] and op["ClinicNum"] == clinic]
            if ops:
                schedule_ops.append({"ScheduleOpNum": len(schedule_ops) + 1, "ScheduleNum": sched_num,
                                     "OperatoryNum": rng.choice(ops), "DateTStamp": stamp()})
    # A practice-wide holiday: a schedule row that is no provider's working hours.
    holiday = (now + timedelta(days=20)).date().isoformat()
    schedules.append({"ScheduleNum": len(schedules) + 1, "SchedDate": holiday, "StartTime": "00:00:00",
                      "StopTime": "00:00:00", "SchedType": SCHED_PRACTICE, "ProvNum": 0, "BlockoutType": 0,
                      "Note": "Office closed", "Status": SCHED_HOLIDAY, "EmployeeNum": 0, "ClinicNum": 0,
                      "DateTStamp": stamp()})
    return {"procedurelog": tables["procedurelog"] + planned, "definition": definitions, "adjustment": adjustments,
            "feesched": fee_scheds, "fee": fees, "carrier": carriers, "insplan": plans, "inssub": subs,
            "patplan": patplans, "claim": claims, "claimproc": claimprocs, "treatplan": treatplans,
            "treatplanattach": attaches, "document": documents, "procnote": notes, "employee": employees,
            "schedule": schedules, "scheduleop": schedule_ops}


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
