"""Records pushed by the Synchronizer: validated, then upserted by (location, foreign_id), all or nothing."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from institutions.models import Location
from syncs import models as m
from syncs.models import (WEEKDAYS, Appointment, AppointmentType, Operatory, Patient, PracticeRecord, Provider, Sync,
                          health_deadline_after_new_data)

BATCH_LIMIT = 1000


@dataclass
class RecordBatch:
    location_foreign_id: str
    kind: str
    records: list[dict]
    deleted: list[str] = field(default_factory=list)


class ProviderIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    first_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    middle_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    email = serializers.EmailField(allow_blank=True, default="")
    display_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    npi = serializers.CharField(max_length=20, allow_blank=True, default="")
    inactive = serializers.BooleanField(default=False)


class OperatoryIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100)
    display_name = serializers.CharField(max_length=100, allow_blank=True, default="")
    active = serializers.BooleanField(default=True)


class AppointmentTypeIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100)
    minutes = serializers.IntegerField(min_value=1, max_value=1440)


class PatientIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    first_name = serializers.CharField(max_length=100, allow_blank=True)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    email = serializers.EmailField(allow_blank=True, default="")
    bio = serializers.DictField(default=dict)
    inactive = serializers.BooleanField(default=False)
    provider_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)


class AppointmentIn(serializers.Serializer):
    foreign_id = serializers.CharField(max_length=64)
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    patient_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    provider_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    operatory_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    appointment_type_foreign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    cancelled = serializers.BooleanField(default=False)
    confirmed = serializers.BooleanField(default=False)
    note = serializers.CharField(allow_blank=True, default="", max_length=5000)

    def validate(self, attrs):
        if attrs["end_time"] < attrs["start_time"]:
            raise serializers.ValidationError({"end_time": "Must not be before start_time."})
        return attrs


# --- The other kinds: declared compactly (field name -> serializer field), references by foreign id ---------

def _ref() -> serializers.Field:
    return serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True, default=None)


def _text(length: int = 200) -> serializers.Field:
    return serializers.CharField(max_length=length, allow_blank=True, default="")


def _money() -> serializers.Field:
    return serializers.DecimalField(max_digits=12, decimal_places=2, default=0)


def _day() -> serializers.Field:
    return serializers.DateField(required=False, allow_null=True, default=None)


def _moment() -> serializers.Field:
    return serializers.DateTimeField(required=False, allow_null=True, default=None)


def _flag(default: bool) -> serializers.Field:
    return serializers.BooleanField(default=default)


def _choice(choices) -> serializers.Field:
    return serializers.ChoiceField(choices=choices)


def _record_in(class_name: str, /, **fields) -> type[serializers.Serializer]:
    return type(class_name, (serializers.Serializer,), {"foreign_id": serializers.CharField(max_length=64), **fields})


MONEY = {"currency": serializers.RegexField(r"^[A-Z]{3}$", default="USD")}
PARTIES = {"patient_foreign_id": _ref(), "provider_foreign_id": _ref(), "guarantor_foreign_id": _ref()}
LINK_LIST = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list, max_length=200)


class PayoutIn(serializers.Serializer):
    charge_foreign_id = serializers.CharField(max_length=64)
    amount_billed_to_insurance = _money()
    allowed_amount = _money()
    estimated_insurance_payment = _money()
    insurance_payment = _money()
    write_off = _money()


class WorkingHourIn(serializers.Serializer):
    """A provider's hours: on weekdays or a specific date (Open Dental keeps one schedule row per date). The
    appointment types a working hour takes are the API's alone: no link list, so a push never clears them."""

    foreign_id = serializers.CharField(max_length=64)
    provider_foreign_id = serializers.CharField(max_length=64)
    operatory_foreign_id = _ref()
    label_foreign_id = _ref()
    begin_time = serializers.TimeField()
    end_time = serializers.TimeField()
    days = serializers.ListField(child=serializers.ChoiceField(choices=WEEKDAYS), default=list, max_length=7)
    specific_date = _day()
    active = _flag(True)

    def validate(self, attrs):
        if attrs["end_time"] <= attrs["begin_time"]:
            raise serializers.ValidationError({"end_time": "Must be after begin_time."})
        if not attrs["days"] and attrs["specific_date"] is None:
            raise serializers.ValidationError({"days": "Give days or a specific_date."})
        return attrs


OTHER_KINDS: dict[str, tuple[type[PracticeRecord], type[serializers.Serializer]]] = {
    "appointment_descriptors": (m.AppointmentDescriptor, _record_in(
        "AppointmentDescriptorIn", descriptor_type=serializers.CharField(max_length=60), code=_text(40),
        name=serializers.CharField(max_length=200), active=_flag(True), data=serializers.DictField(default=dict),
        appointment_type_foreign_ids=LINK_LIST)),
    "working_hour_labels": (m.WorkingHourLabel, _record_in("WorkingHourLabelIn", name=_text(100), active=_flag(True))),
    "procedures": (m.Procedure, _record_in(
        "ProcedureIn", patient_foreign_id=_ref(), provider_foreign_id=_ref(), appointment_foreign_id=_ref(),
        code=_text(20), name=_text(), status=_choice(m.Procedure.Status.values), start_date=_day(), end_date=_day(),
        fee=_money(), body_site=serializers.DictField(default=dict), **MONEY)),
    "treatment_plans": (m.TreatmentPlan, _record_in(
        "TreatmentPlanIn", patient_foreign_id=_ref(), name=_text(), status=_choice(m.TreatmentPlan.Status.values),
        procedure_foreign_ids=LINK_LIST)),
    "fee_schedules": (m.FeeSchedule, _record_in("FeeScheduleIn", name=_text(), active=_flag(True))),
    "fee_schedule_procedures": (m.FeeScheduleProcedure, _record_in(
        "FeeScheduleProcedureIn", fee_schedule_foreign_id=serializers.CharField(max_length=64), code=_text(20),
        procedure_code_id=_text(40), fee=_money(), **MONEY)),
    "insurance_plans": (m.InsurancePlan, _record_in(
        "InsurancePlanIn", name=_text(), payer_id=_text(40), group_num=_text(40), employer_name=_text(),
        address=_text(), address2=_text(), city=_text(100), state=_text(50), zip_code=_text(20),
        country_code=serializers.CharField(max_length=2, default="US"), fee_schedule_foreign_id=_ref(),
        deleted_at=_moment())),
    "insurance_coverages": (m.InsuranceCoverage, _record_in(
        "InsuranceCoverageIn", patient_foreign_id=_ref(), plan_foreign_id=_ref(), subscriber_foreign_id=_ref(),
        subscriber_num=_text(40), subscription_relation=_choice(m.InsuranceCoverage.Relation.values),
        priority=serializers.IntegerField(min_value=1, max_value=9, default=1), effective_date=_day(),
        expiration_date=_day(), active=_flag(True), insurance_type=_choice(["dental", "medical", "vision"]))),
    "charges": (m.Charge, _record_in(
        "ChargeIn", **PARTIES, procedure_foreign_id=_ref(), procedure_code=_text(20), description=_text(300),
        charged_at=_day(), fee=_money(), deleted_at=_moment(), **MONEY)),
    "claims": (m.Claim, _record_in(
        "ClaimIn", **PARTIES, primary_insurance_plan_foreign_id=_ref(), secondary_insurance_plan_foreign_id=_ref(),
        date_of_service=_day(), note=_text(5000), status=_choice(m.Claim.Status.values), sent_at=_moment(),
        received_at=_moment(), deleted_at=_moment(), charges=PayoutIn(many=True, required=False, default=list), **MONEY)),
    "adjustment_types": (m.AdjustmentType, _record_in(
        "AdjustmentTypeIn", name=_text(100), action=_choice(["credit", "debit", "unknown"]), active=_flag(True))),
    "adjustments": (m.Adjustment, _record_in(
        "AdjustmentIn", **PARTIES, claim_foreign_id=_ref(), charge_foreign_id=_ref(), adjustment_type_foreign_id=_ref(),
        adjusted_at=_day(), amount=_money(), description=_text(500), transaction_id=_text(64), deleted_at=_moment(),
        **MONEY)),
    "payment_types": (m.PaymentType, _record_in("PaymentTypeIn", name=_text(100), active=_flag(True))),
    "payment_plans": (m.PaymentPlan, _record_in(
        "PaymentPlanIn", patient_foreign_id=_ref(), guarantor_foreign_id=_ref(), active=_flag(True),
        created_date=serializers.DateField(), first_payment_due_date=serializers.DateField())),
    "payments": (m.Payment, _record_in(
        "PaymentIn", **PARTIES, charge_foreign_id=_ref(), claim_foreign_id=_ref(), insurance_plan_foreign_id=_ref(),
        payment_plan_foreign_id=_ref(), payment_type_foreign_id=_ref(), paid_at=_day(), amount=_money(),
        description=_text(500), transaction_id=_text(64), deleted_at=_moment(), **MONEY)),
    "guarantor_balances": (m.GuarantorBalance, _record_in(
        "GuarantorBalanceIn", guarantor_foreign_id=_ref(), **MONEY, **{name: _money() for name in (
            "total_balance", "total_balance_under_30", "total_balance_31_60", "total_balance_61_90",
            "total_balance_over_90", "guarantor_portion", "insurance_estimate", "write_off_estimate")})),
    "insurance_balances": (m.InsuranceBalance, _record_in(
        "InsuranceBalanceIn", patient_foreign_id=_ref(), guarantor_foreign_id=_ref(), **MONEY, **{
            f"{kind}_amount_{bucket}": _money() for kind in ("billed", "estimated")
            for bucket in ("under_30", "31_60", "61_90", "over_90")})),
    "recall_types": (m.RecallType, _record_in(
        "RecallTypeIn", name=_text(100), description=_text(300),
        interval_num=serializers.IntegerField(min_value=0, max_value=120, default=6),
        interval_unit=_choice(["day", "week", "month", "year"]))),
    "patient_recalls": (m.PatientRecall, _record_in(
        "PatientRecallIn", patient_foreign_id=_ref(), recall_type_foreign_id=_ref(), appointment_foreign_id=_ref(),
        date_due=_day())),
    "clinical_notes": (m.ClinicalNote, _record_in(
        "ClinicalNoteIn", patient_foreign_id=_ref(), procedure_foreign_id=_ref(),
        content=serializers.CharField(max_length=20000), entered_at=_moment(), completed=_flag(False),
        signed=_flag(False))),
    "document_types": (m.DocumentType, _record_in("DocumentTypeIn", name=_text(100), active=_flag(True))),
    "patient_documents": (m.PatientDocument, _record_in(
        "PatientDocumentIn", patient_foreign_id=serializers.CharField(max_length=64), document_type_foreign_id=_ref(),
        filename=serializers.CharField(max_length=255), content_type=serializers.CharField(max_length=100, default="application/octet-stream"))),
    "patient_alerts": (m.PatientAlert, _record_in(
        "PatientAlertIn", patient_foreign_id=serializers.CharField(max_length=64),
        note=serializers.CharField(max_length=5000), disabled_at=_moment())),
    "working_hours": (m.WorkingHour, WorkingHourIn),
    "staff": (m.StaffMember, _record_in(
        "StaffIn", first_name=_text(100), last_name=_text(100), email=serializers.EmailField(allow_blank=True, default=""),
        inactive=_flag(False), patientable=_flag(False), unsubscribe_emails=_flag(False), unsubscribe_sms=_flag(False))),
}

KINDS: dict[str, tuple[type[PracticeRecord], type[serializers.Serializer]]] = {
    "providers": (Provider, ProviderIn),
    "operatories": (Operatory, OperatoryIn),
    "appointment_types": (AppointmentType, AppointmentTypeIn),
    "patients": (Patient, PatientIn),
    "appointments": (Appointment, AppointmentIn),
    **OTHER_KINDS,
}
# Foreign-id references to resolve into ids at the same location, per kind: `x_foreign_id` names an `x`.
TARGETS = {
    "patient": Patient, "guarantor": Patient, "subscriber": Patient, "provider": Provider, "appointment": Appointment,
    "procedure": m.Procedure, "fee_schedule": m.FeeSchedule, "plan": m.InsurancePlan, "charge": m.Charge,
    "claim": m.Claim, "adjustment_type": m.AdjustmentType, "insurance_plan": m.InsurancePlan,
    "primary_insurance_plan": m.InsurancePlan, "secondary_insurance_plan": m.InsurancePlan,
    "payment_plan": m.PaymentPlan, "payment_type": m.PaymentType, "recall_type": m.RecallType,
    "document_type": m.DocumentType, "operatory": Operatory, "label": m.WorkingHourLabel,
}
REFERENCES = {
    "patients": {"provider_foreign_id": ("provider_id", Provider)},
    "appointments": {
        "patient_foreign_id": ("patient_id", Patient), "provider_foreign_id": ("provider_id", Provider),
        "operatory_foreign_id": ("operatory_id", Operatory),
        "appointment_type_foreign_id": ("appointment_type_id", AppointmentType),
    },
    **{kind: {name: (f"{name.removesuffix('_foreign_id')}_id", TARGETS[name.removesuffix("_foreign_id")])
              for name in row_in._declared_fields if name.endswith("_foreign_id") and name != "foreign_id"}
       for kind, (_, row_in) in OTHER_KINDS.items()},
}
# Links kept beside the rows (many-to-many): popped before the upsert, replaced after it.
LINKS = {"appointment_descriptors": "appointment_type_foreign_ids", "treatment_plans": "procedure_foreign_ids",
         "claims": "charges"}


def _resolve(location: Location, rows: list[dict], kind: str) -> None:
    """Replace *_foreign_id by ids with one query per referenced kind (never one per row)."""
    owner = KINDS[kind][0]
    for key, (attribute, model) in REFERENCES.get(kind, {}).items():
        wanted = {row[key] for row in rows if row.get(key)}
        ids = dict(model.objects.filter(location=location, foreign_id__in=wanted).values_list("foreign_id", "pk"))
        required = not owner._meta.get_field(attribute).null
        for row in rows:
            foreign_id = row.pop(key, None) or ""
            row[attribute] = ids.get(foreign_id)
            if required and row[attribute] is None:
                # Raised inside the batch's transaction: nothing of it is written.
                raise serializers.ValidationError({key: f"'{foreign_id}' is not known at this location: send "
                                                        f"{model._meta.verbose_name_plural} first."})


def records_apply(*, sync: Sync, batch: RecordBatch) -> dict:
    location = Location.objects.filter(sync=sync, foreign_id=batch.location_foreign_id).first()
    if location is None:
        raise serializers.ValidationError({"location_foreign_id": "Report this location through /locations first."})
    model, row_serializer = KINDS[batch.kind]
    rows_in = row_serializer(data=batch.records, many=True)
    rows_in.is_valid(raise_exception=True)
    rows = [dict(row) for row in rows_in.validated_data]
    if len({row["foreign_id"] for row in rows}) != len(rows):
        raise serializers.ValidationError({"records": "Each foreign_id may appear once a batch."})
    if not location.active or location.deactivated_at is not None:
        # Not selected (yet): accepted and dropped; the history is read again when it is activated.
        return {"upserted": 0, "deleted": 0, "stored": False}
    now = timezone.now()
    link_key = LINKS.get(batch.kind)
    links = {row["foreign_id"]: row.pop(link_key, []) for row in rows} if link_key else {}
    with transaction.atomic():
        _resolve(location, rows, batch.kind)
        objects = [model(institution_id=location.institution_id, location=location, foreign_id_type=location.foreign_id_type,
                         last_sync_time=now, created_at=now, updated_at=now, **row) for row in rows]
        update_fields = [name for name in rows[0] if name != "foreign_id"] + ["last_sync_time", "updated_at"] if rows else []
        if objects:
            model.objects.bulk_create(objects, batch_size=500, update_conflicts=True,
                                      unique_fields=["location", "foreign_id"], update_fields=update_fields)
        if links:
            _replace_links(location, batch.kind, links)
        deleted, _ = model.objects.filter(location=location, foreign_id__in=batch.deleted).delete() if batch.deleted else (0, {})
        sync_touch_read(sync, now)
    return {"upserted": len(objects), "deleted": deleted, "stored": True}


def _replace_links(location: Location, kind: str, links: dict[str, list]) -> None:
    """Many-to-many links of the batch's records, replaced as a whole: a few queries per batch, never per row."""
    model = KINDS[kind][0]
    ids = dict(model.objects.filter(location=location, foreign_id__in=list(links)).values_list("foreign_id", "pk"))
    if kind == "claims":
        wanted = {p["charge_foreign_id"] for payouts in links.values() for p in payouts}
        charges = dict(m.Charge.objects.filter(location=location, foreign_id__in=wanted).values_list("foreign_id", "pk"))
        m.ClaimPayout.objects.filter(claim_id__in=ids.values()).delete()
        m.ClaimPayout.objects.bulk_create([
            m.ClaimPayout(claim_id=ids[claim], charge_id=charges[p["charge_foreign_id"]],
                          **{k: v for k, v in p.items() if k != "charge_foreign_id"})
            for claim, payouts in links.items() for p in payouts if p["charge_foreign_id"] in charges])
        return
    relation, target, column = {
        "appointment_descriptors": ("appointment_types", AppointmentType, "appointmenttype_id"),
        "treatment_plans": ("procedures", m.Procedure, "procedure_id"),
    }[kind]
    through = getattr(model, relation).through
    owner = f"{model._meta.model_name}_id"
    wanted = {foreign_id for linked in links.values() for foreign_id in linked}
    targets = dict(target.objects.filter(location=location, foreign_id__in=wanted).values_list("foreign_id", "pk"))
    through.objects.filter(**{f"{owner}__in": ids.values()}).delete()
    through.objects.bulk_create([through(**{owner: ids[record], column: targets[linked]})
                                 for record, linked_ids in links.items() for linked in linked_ids if linked in targets])


def sync_touch_read(sync: Sync, now) -> None:
    Sync.objects.filter(pk=sync.pk).update(last_read_at=now, health_deadline_at=health_deadline_after_new_data(now))
