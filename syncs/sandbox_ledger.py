"""The sandbox's records beyond the schedule: descriptors, labels, fees, insurance, the ledger of the past
month's visits, balances, recalls, treatment plans, clinical notes, documents, alerts and staff.

Drawn from its own generator (seeded by the subdomain too), after the schedule exists, so the schedule the
sandbox had before these kinds existed stays exactly the same. Bulk inserts only, like syncs.sandbox.
"""

import random
import zlib
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q

from institutions.models import Institution, Location
from portal.bulk_insert import bulk_insert
from syncs.models import (
    Adjustment,
    AdjustmentType,
    Appointment,
    AppointmentDescriptor,
    AppointmentType,
    Charge,
    Claim,
    ClaimPayout,
    ClinicalNote,
    DocumentType,
    FeeSchedule,
    FeeScheduleProcedure,
    GuarantorBalance,
    InsuranceBalance,
    InsuranceCoverage,
    InsurancePlan,
    Patient,
    PatientAlert,
    PatientDocument,
    PatientRecall,
    Payment,
    PaymentPlan,
    PaymentType,
    PracticeRecord,
    Procedure,
    RecallType,
    StaffMember,
    TreatmentPlan,
    WorkingHour,
    WorkingHourLabel,
)

LEDGER_DAYS = 14  # visits of the past two weeks get procedures, charges, claims and payments
# ADA CDT codes: (code, name, fee).
CODES = {
    "D0150": ("Comprehensive oral evaluation", Decimal("95.00")),
    "D0120": ("Periodic oral evaluation", Decimal("55.00")),
    "D0274": ("Bitewings - four radiographic images", Decimal("75.00")),
    "D1110": ("Prophylaxis - adult", Decimal("110.00")),
    "D0140": ("Limited oral evaluation - problem focused", Decimal("85.00")),
    "D2740": ("Crown - porcelain/ceramic", Decimal("1250.00")),
    "D2391": ("Resin-based composite - one surface, posterior", Decimal("180.00")),
    "D9310": ("Consultation", Decimal("120.00")),
}
TYPE_CODES = {
    "New Patient Exam": ["D0150", "D0274"], "Cleaning": ["D1110", "D0120"], "Emergency": ["D0140"],
    "Crown Prep": ["D2740"], "Consultation": ["D9310"],
}
PLANS = [("Delta Dental PPO", "94276", "DDPPO"), ("Cigna Dental DPPO", "62308", "CIGNA"),
         ("MetLife PDP Plus", "65978", "MLPDP"), ("Aetna Dental PPO", "60054", "AETNA")]
EMPLOYERS = ["Northwind Logistics", "Contoso Health", "Fabrikam Schools", "Tailspin Airlines", "City of Lakeview"]
ADJUSTMENT_TYPES = [("Senior discount", "credit"), ("Insurance write-off", "credit"), ("Finance charge", "debit")]
PAYMENT_TYPES = ["Cash", "Check", "Credit Card", "Insurance Check"]
DOCUMENT_TYPES = ["X-Ray", "Insurance Card", "Consent Form", "Referral"]
RECALL_TYPES = [("Prophy", "Adult cleaning and exam", 6), ("Perio Maintenance", "Periodontal maintenance", 3),
                ("Bitewings", "Bitewing radiographs", 12)]
ALERTS = ["Allergic to penicillin", "Latex allergy", "Premedicate before treatment", "Prefers text messages"]
NOTES = ["Patient tolerated procedure well.", "Reviewed home care; recommended electric toothbrush.",
         "Local anesthetic: 2% lidocaine with epi, 1 carpule.", "Discussed treatment options and costs."]
STAFF = [("Front", "Desk"), ("Office", "Manager"), ("Billing", "Coordinator"), ("Treatment", "Coordinator")]
TEETH = [str(n) for n in range(1, 33)]


def ledger_populate(*, institution: Institution, locations: list[Location], stamps: dict, moment: datetime) -> None:
    rng = random.Random(zlib.crc32(f"{institution.subdomain}/ledger".encode()))
    today = moment.date()
    for location in locations:
        rec = {**stamps, "location_id": location.pk}
        _populate_location(rng, rec, location, today, moment)


def _populate_location(rng: random.Random, rec: dict, location: Location, today: date, moment: datetime) -> None:
    types = {t.name: t for t in AppointmentType.objects.filter(location=location)}
    patients = list(Patient.objects.filter(location=location).order_by("id"))
    # Every patient is their own guarantor in the sandbox (no families yet).
    Patient.objects.filter(location=location).update(guarantor_id=F("pk"))

    descriptors = _create([AppointmentDescriptor(**rec, descriptor_type="Procedure Code", code=code, name=name,
                                                 data={"fee": str(fee)}) for code, (name, fee) in CODES.items()])
    by_code = {d.code: d for d in descriptors}
    through = AppointmentDescriptor.appointment_types.through
    through.objects.bulk_create([through(appointmentdescriptor_id=by_code[code].pk, appointmenttype_id=types[name].pk)
                                 for name, codes in TYPE_CODES.items() if name in types for code in codes])

    labels = _create([WorkingHourLabel(**rec, name=name) for name in ("Doctor", "Hygiene")])
    hygiene = Q(provider__specialty_code="124Q00000X")
    WorkingHour.objects.filter(hygiene, location=location).update(label_id=labels[1].pk)
    WorkingHour.objects.filter(~hygiene, location=location).update(label_id=labels[0].pk)

    fee_schedule = _create([FeeSchedule(**rec, name="Standard fees")])[0]
    _create([FeeScheduleProcedure(**rec, fee_schedule_id=fee_schedule.pk, code=code, procedure_code_id=code, fee=fee)
             for code, (_, fee) in CODES.items()])
    plans = _create([InsurancePlan(**rec, name=name, payer_id=payer, group_num=f"{prefix}{rng.randint(1000, 9999)}",
                                   employer_name=rng.choice(EMPLOYERS), address="PO Box 1809",
                                   city="Alpharetta", state="GA", zip_code="30023", fee_schedule_id=fee_schedule.pk)
                     for name, payer, prefix in PLANS])
    adjustment_types = _create([AdjustmentType(**rec, name=name, action=action) for name, action in ADJUSTMENT_TYPES])
    payment_types = _create([PaymentType(**rec, name=name) for name in PAYMENT_TYPES])
    document_types = _create([DocumentType(**rec, name=name) for name in DOCUMENT_TYPES])
    recall_types = _create([RecallType(**rec, name=name, description=text, interval_num=months, interval_unit="month")
                            for name, text, months in RECALL_TYPES])
    _create([StaffMember(**rec, first_name=first, last_name=last, patientable=n == 0,
                         email=f"{first.lower()}.{last.lower()}.{location.foreign_id}@example.com")
             for n, (first, last) in enumerate(STAFF)])

    coverages = _create([
        InsuranceCoverage(**rec, patient_id=p.pk, subscriber_id=p.pk, plan_id=rng.choice(plans).pk,
                          subscriber_num=f"W{rng.randint(10**8, 10**9 - 1)}", priority=1,
                          effective_date=today - timedelta(days=rng.randint(100, 2000)))
        for p in patients if rng.random() < 0.7])
    insured = {c.patient_id: c.plan_id for c in coverages}

    visits = list(Appointment.objects.filter(location=location, cancelled=False, patient_missed=False,
                                             end_time__lte=moment, start_time__gte=moment - timedelta(days=LEDGER_DAYS))
                  .select_related("appointment_type").order_by("start_time", "id"))
    visit_codes = {v.pk: TYPE_CODES.get(v.appointment_type.name if v.appointment_type else "", ["D0120"]) for v in visits}
    through = AppointmentDescriptor.appointments.through
    through.objects.bulk_create([through(appointmentdescriptor_id=by_code[code].pk, appointment_id=v.pk)
                                 for v in visits for code in visit_codes[v.pk]])
    procedures = _create([
        Procedure(**rec, patient_id=v.patient_id, provider_id=v.provider_id, appointment_id=v.pk, code=code,
                  name=CODES[code][0], status=Procedure.Status.COMPLETED, start_date=v.start_time.date(),
                  end_date=v.start_time.date(), fee=CODES[code][1],
                  body_site={"tooth": [rng.choice(TEETH)], "surface": rng.choice(["M", "O", "D", "MO", "DO"])}
                  if code in ("D2740", "D2391") else {"tooth": [], "surface": ""})
        for v in visits for code in visit_codes[v.pk]])
    charges = _create([
        Charge(**rec, patient_id=p.patient_id, provider_id=p.provider_id, guarantor_id=p.patient_id, procedure_id=p.pk,
               procedure_code=p.code, description=p.name, charged_at=p.start_date, fee=p.fee)
        for p in procedures])
    _ledger(rng, rec, charges, insured, adjustment_types, payment_types, moment)

    planned = _create([
        Procedure(**rec, patient_id=p.pk, provider_id=p.provider_id, code="D2391", name=CODES["D2391"][0],
                  status=Procedure.Status.PLANNED, fee=CODES["D2391"][1],
                  body_site={"tooth": [rng.choice(TEETH)], "surface": "O"})
        for p in patients if not p.inactive and rng.random() < 0.12], start=len(procedures))
    plans_made = _create([TreatmentPlan(**rec, patient_id=p.patient_id, name="Restorative",
                                        status=rng.choice(["proposed", "accepted"])) for p in planned])
    through = TreatmentPlan.procedures.through
    through.objects.bulk_create([through(treatmentplan_id=plan.pk, procedure_id=p.pk) for plan, p in zip(plans_made, planned)])

    _create([ClinicalNote(**rec, patient_id=p.patient_id, procedure_id=p.pk, content=rng.choice(NOTES),
                          entered_at=datetime.combine(p.start_date, datetime.min.time(), tzinfo=moment.tzinfo)
                          + timedelta(hours=17), completed=True, signed=rng.random() < 0.8)
             for p in procedures if rng.random() < 0.5])
    last_visit = {v.patient_id: v for v in visits}
    _create([PatientRecall(**rec, patient_id=p.pk, recall_type_id=recall_types[0].pk,
                           appointment_id=last_visit[p.pk].pk if p.pk in last_visit else None,
                           date_due=(last_visit[p.pk].start_time.date() + timedelta(days=182)) if p.pk in last_visit
                           else today + timedelta(days=rng.randint(-90, 180)))
             for p in patients if not p.inactive])
    _create([PatientAlert(**rec, patient_id=p.pk, note=rng.choice(ALERTS)) for p in patients if rng.random() < 0.06])
    _create([PatientDocument(**rec, patient_id=p.pk, document_type_id=document_types[1].pk,
                             filename=f"insurance-card-{p.pk}.pdf", content_type="application/pdf")
             for p in patients if p.pk in insured and rng.random() < 0.3])


def _ledger(rng, rec, charges, insured, adjustment_types, payment_types, moment) -> None:
    """Claims for insured patients' visits, insurance and patient payments, a few adjustments, then balances."""
    by_visit: dict[tuple, list[Charge]] = defaultdict(list)
    for charge in charges:
        by_visit[(charge.patient_id, charge.charged_at)].append(charge)
    claims, payouts, payments, adjustments = [], [], [], []
    owed: dict[int, Decimal] = defaultdict(Decimal)
    estimated: dict[int, Decimal] = defaultdict(Decimal)
    for (patient_id, day), visit in by_visit.items():
        total = sum((c.fee for c in visit), Decimal(0))
        plan_id = insured.get(patient_id)
        insurance_pays = Decimal(0)
        if plan_id:
            sent = datetime.combine(day, datetime.min.time(), tzinfo=moment.tzinfo) + timedelta(days=1, hours=9)
            received = rng.random() < 0.6 and sent + timedelta(days=7) < moment
            claim = Claim(**rec, patient_id=patient_id, provider_id=visit[0].provider_id, guarantor_id=patient_id,
                          primary_insurance_plan_id=plan_id, date_of_service=day, status="received" if received else "sent",
                          sent_at=sent, received_at=sent + timedelta(days=7) if received else None)
            claims.append((claim, visit, received))
            insurance_pays = (total * Decimal("0.8")).quantize(Decimal("0.01"))
            if not received:
                estimated[patient_id] += insurance_pays
        patient_pays = total - insurance_pays
        if rng.random() < 0.7:
            payments.append(Payment(**rec, patient_id=patient_id, provider_id=visit[0].provider_id,
                                    guarantor_id=patient_id, charge_id=visit[0].pk, paid_at=day, amount=patient_pays,
                                    payment_type_id=rng.choice(payment_types[:3]).pk, description="Patient payment",
                                    transaction_id=f"txn_{rng.getrandbits(48):012x}"))
        else:
            owed[patient_id] += patient_pays
        if rng.random() < 0.08 or not adjustments:
            adjustments.append(Adjustment(**rec, patient_id=patient_id, provider_id=visit[0].provider_id,
                                          guarantor_id=patient_id, charge_id=visit[0].pk,
                                          adjustment_type_id=adjustment_types[0].pk, adjusted_at=day,
                                          amount=Decimal("-10.00"), description="Senior discount"))
            adjustments[-1].visit_claim = claims[-1][0] if plan_id else None
    _create([claim for claim, _, _ in claims])
    for adjustment in adjustments:
        adjustment.claim_id = adjustment.visit_claim.pk if adjustment.visit_claim else None
    for claim, visit, received in claims:
        for charge in visit:
            billed = charge.fee
            paid = (billed * Decimal("0.8")).quantize(Decimal("0.01"))
            payouts.append(ClaimPayout(claim_id=claim.pk, charge_id=charge.pk, amount_billed_to_insurance=billed,
                                       allowed_amount=billed, estimated_insurance_payment=paid,
                                       insurance_payment=paid if received else 0))
            if received:
                payments.append(Payment(**rec, patient_id=claim.patient_id, provider_id=claim.provider_id,
                                        guarantor_id=claim.patient_id, charge_id=charge.pk, claim_id=claim.pk,
                                        insurance_plan_id=claim.primary_insurance_plan_id, paid_at=claim.received_at.date(),
                                        amount=paid, payment_type_id=payment_types[3].pk, description="Insurance payment"))
    ClaimPayout.objects.bulk_create(payouts)
    _create(payments)
    _create(adjustments)
    _create([GuarantorBalance(**rec, guarantor_id=pid, total_balance=amount, total_balance_under_30=amount,
                              guarantor_portion=amount, insurance_estimate=estimated.get(pid, 0))
             for pid, amount in sorted(owed.items())])
    # The larger balances are paid off in instalments.
    _create([PaymentPlan(**rec, patient_id=pid, guarantor_id=pid, created_date=moment.date() - timedelta(days=3),
                         first_payment_due_date=moment.date() + timedelta(days=27))
             for pid, amount in sorted(owed.items()) if amount >= 100])
    _create([InsuranceBalance(**rec, patient_id=pid, guarantor_id=pid, billed_amount_under_30=amount,
                              estimated_amount_under_30=amount) for pid, amount in sorted(estimated.items())])


def _create(objs: list[PracticeRecord], start: int = 0) -> list:
    """Foreign ids numbered like the EHR's own keys (after `start`); one bulk insert."""
    for n, obj in enumerate(objs, start + 1):
        obj.foreign_id = str(n)
    return bulk_insert(type(objs[0]), objs) if objs else []
