"""Output shapes of the practice's other records: descriptors, labels, the ledger, insurance, recalls, charts,
documents, alerts and staff. Field names as in the reference (NexHealth).

Expansions (`include[]`) are declared as nested fields with required=False, so the schema says they may be
absent; RecordSerializer leaves them out unless the request named them (and never reads them then)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.fast import FastModelSerializer
from portal.api.fields import Money, MoneySerializer, Text, money_of
from portal.api.sql_json import money_sql
from syncs.models import (
    Adjustment,
    AdjustmentType,
    AppointmentDescriptor,
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
    Procedure,
    Provider,
    RecallType,
    StaffMember,
    TreatmentPlan,
    WorkingHourLabel,
)


class RecordSerializer(FastModelSerializer):
    """Leaves out expansions the request did not name (context["include"]), and fields the reference declares
    non-nullable when they have no value (`omit_when_null`; expansions always are)."""

    expansions: tuple[str, ...] = ()
    omit_when_null: tuple[str, ...] = ()

    def to_representation(self, instance) -> dict:
        include = self.context.get("include") or ()
        data = {name: read(self, instance) for name, read in self.fast_plan()
                if name not in self.expansions or name in include}
        for name in (*self.omit_when_null, *self.expansions):
            if name in data and data[name] is None:
                del data[name]
        return data


# --- People, as other records embed them ----------------------------------------------------------------

PERSON_FIELDS = ["id", "email", "first_name", "middle_name", "last_name", "name", "created_at", "updated_at",
                 "institution_id", "foreign_id", "foreign_id_type", "bio", "inactive", "last_sync_time"]


class PersonSerializer(FastModelSerializer):
    """A patient as a guarantor or subscriber: the fields every embedding in the reference shares."""

    name = serializers.CharField()

    class Meta:
        model = Patient
        fields = PERSON_FIELDS


class PatientBriefSerializer(PersonSerializer):
    guarantor_id = serializers.IntegerField(allow_null=True)

    class Meta(PersonSerializer.Meta):
        fields = PERSON_FIELDS + ["guarantor_id", "billing_type", "chart_id", "preferred_language"]


class ProviderPersonSerializer(FastModelSerializer):
    name = serializers.CharField()

    class Meta:
        model = Provider
        fields = PERSON_FIELDS


class ProviderBriefSerializer(FastModelSerializer):
    name = serializers.CharField()

    class Meta:
        model = Provider
        fields = PERSON_FIELDS + ["display_name", "npi", "tin", "state_license", "specialty_code"]


class SubscriberSerializer(FastModelSerializer):
    name = serializers.CharField()
    date_of_birth = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", "name", "date_of_birth"]

    def get_date_of_birth(self, obj) -> str | None:
        return (obj.bio or {}).get("date_of_birth")


# --- Descriptors and labels -----------------------------------------------------------------------------

class AppointmentDescriptorSerializer(FastModelSerializer):
    foreign_id = Text()
    last_sync_time = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = AppointmentDescriptor
        fields = ["id", "name", "code", "descriptor_type", "active", "data", "location_id", "foreign_id",
                  "foreign_id_type", "last_sync_time", "created_at", "updated_at"]


class WorkingHourLabelSerializer(FastModelSerializer):
    class Meta:
        model = WorkingHourLabel
        fields = ["id", "location_id", "name"]


# --- Procedures and treatment plans ---------------------------------------------------------------------

class BodySiteSerializer(serializers.Serializer):
    tooth = serializers.ListField(child=serializers.CharField())
    surface = serializers.CharField()


class ProcedureSerializer(RecordSerializer):
    fee = Money()
    body_site = serializers.SerializerMethodField()
    patient_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)
    appointment_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Procedure
        fields = ["id", "patient_id", "provider_id", "appointment_id", "location_id", "code", "name", "status",
                  "start_date", "end_date", "fee", "body_site", "updated_at"]

    @extend_schema_field(BodySiteSerializer)
    def get_body_site(self, obj) -> dict:
        # The agent's body_site is free JSON: what is not a list of teeth or a surface string reads as none.
        site = obj.body_site if isinstance(obj.body_site, dict) else {}
        tooth, surface = site.get("tooth"), site.get("surface")
        return {"tooth": tooth if isinstance(tooth, list) else [], "surface": surface if isinstance(surface, str) else ""}


# ProcedureSerializer.get_body_site in SQL, for the list's JSON built by PostgreSQL (portal/api/sql_json.py).
PROCEDURE_BODY_SITE_SQL = (
    "json_build_object("
    "'tooth', CASE WHEN jsonb_typeof(t.body_site -> 'tooth') = 'array' THEN t.body_site -> 'tooth' ELSE '[]'::jsonb END, "
    "'surface', CASE WHEN jsonb_typeof(t.body_site -> 'surface') = 'string' THEN t.body_site ->> 'surface' ELSE '' END)")


class ProcedureDetailSerializer(ProcedureSerializer):
    treatment_plan_ids = serializers.SerializerMethodField()

    class Meta(ProcedureSerializer.Meta):
        fields = ProcedureSerializer.Meta.fields + ["treatment_plan_ids"]

    def get_treatment_plan_ids(self, obj) -> list[int]:
        return [plan.pk for plan in obj.treatment_plans.all()]


class TreatmentPlanSerializer(RecordSerializer):
    patient_id = serializers.IntegerField(allow_null=True)
    procedures = ProcedureSerializer(many=True)

    class Meta:
        model = TreatmentPlan
        fields = ["id", "name", "patient_id", "status", "procedures", "updated_at"]


# --- Fees and insurance ---------------------------------------------------------------------------------

class FeeScheduleSerializer(RecordSerializer):
    class Meta:
        model = FeeSchedule
        fields = ["id", "name", "active", "location_id", "updated_at"]


class ProcedureFeeSerializer(FastModelSerializer):
    fee = Money()

    class Meta:
        model = FeeScheduleProcedure
        fields = ["code", "procedure_code_id", "fee"]


class FeeScheduleDetailSerializer(FeeScheduleSerializer):
    expansions = ("procedure_fees",)
    procedure_fees = ProcedureFeeSerializer(many=True, required=False)

    class Meta(FeeScheduleSerializer.Meta):
        fields = FeeScheduleSerializer.Meta.fields + ["procedure_fees"]


class FeeScheduleProcedureSerializer(RecordSerializer):
    fee = Money()

    class Meta:
        model = FeeScheduleProcedure
        fields = ["id", "code", "procedure_code_id", "fee", "fee_schedule_id", "location_id", "updated_at"]


class InsurancePlanSerializer(RecordSerializer):
    class Meta:
        model = InsurancePlan
        fields = ["id", "name", "payer_id", "group_num", "employer_name", "address", "address2", "city", "state",
                  "zip_code", "country_code", "foreign_id", "deleted_at", "updated_at"]


class CoverageSerializer(FastModelSerializer):
    patient_id = serializers.IntegerField(allow_null=True)
    plan_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = InsuranceCoverage
        fields = ["id", "patient_id", "plan_id", "priority", "subscriber_num", "subscription_relation",
                  "effective_date", "expiration_date"]


class InsurancePlanDetailSerializer(InsurancePlanSerializer):
    expansions = ("fee_schedule", "patient_coverages", "subscribers")
    fee_schedule = FeeScheduleSerializer(required=False)
    patient_coverages = CoverageSerializer(source="coverages", many=True, required=False)
    subscribers = serializers.SerializerMethodField()

    class Meta(InsurancePlanSerializer.Meta):
        fields = InsurancePlanSerializer.Meta.fields + ["fee_schedule", "patient_coverages", "subscribers"]

    @extend_schema_field(SubscriberSerializer(many=True))
    def get_subscribers(self, obj) -> list[dict]:
        people = {c.subscriber_id: c.subscriber for c in obj.coverages.all() if c.subscriber_id}
        return SubscriberSerializer(list(people.values()), many=True).data


class InsuranceCoverageSerializer(RecordSerializer):
    patient_id = serializers.IntegerField(allow_null=True)
    plan_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = InsuranceCoverage
        fields = ["id", "patient_id", "plan_id", "priority", "subscriber_num", "subscription_relation",
                  "effective_date", "expiration_date", "active", "insurance_type", "updated_at"]


class InsuranceCoverageDetailSerializer(InsuranceCoverageSerializer):
    subscriber = SubscriberSerializer(required=False)
    omit_when_null = ("subscriber",)

    class Meta(InsuranceCoverageSerializer.Meta):
        fields = InsuranceCoverageSerializer.Meta.fields + ["subscriber"]



# --- Charges, claims, adjustments, payments -----------------------------------------------------------------

class ClaimPayoutSerializer(FastModelSerializer):
    """One charge on one claim; the reference names the other side claim_id (on a charge) or charge_id."""

    amount_billed_to_insurance = Money()
    allowed_amount = Money()
    estimated_insurance_payment = Money()
    insurance_payment = Money()
    write_off = Money()

    class Meta:
        model = ClaimPayout
        fields = ["claim_id", "amount_billed_to_insurance", "allowed_amount", "estimated_insurance_payment",
                  "insurance_payment", "write_off"]


class ChargePayoutSerializer(ClaimPayoutSerializer):
    class Meta(ClaimPayoutSerializer.Meta):
        fields = ["charge_id"] + ClaimPayoutSerializer.Meta.fields[1:]


class TotalsSerializer(serializers.Serializer):
    amount_billed_to_insurance = MoneySerializer()
    estimated_insurance_payment = MoneySerializer()
    insurance_payment = MoneySerializer()
    write_off = MoneySerializer()


PAYOUT_TOTALS = ["amount_billed_to_insurance", "estimated_insurance_payment", "insurance_payment", "write_off"]


def payout_totals(payouts, currency: str) -> dict:
    return {name: money_of(sum((getattr(p, name) for p in payouts), Decimal(0)), currency) for name in PAYOUT_TOTALS}


# ClaimSerializer.get_totals in SQL, for the list's JSON built by PostgreSQL: the claim's payouts summed once per
# claim (CLAIM_TOTALS_JOIN), each total printed as money in the claim's currency.
CLAIM_TOTALS_SQL = "json_build_object({})".format(
    ", ".join(f"'{name}', {money_sql(f'totals.{name}', 't.currency')}" for name in PAYOUT_TOTALS))
CLAIM_TOTALS_JOIN = "CROSS JOIN LATERAL (SELECT {} FROM {} p WHERE p.claim_id = t.id) totals".format(
    ", ".join(f"SUM(p.{name}) AS {name}" for name in PAYOUT_TOTALS), ClaimPayout._meta.db_table)


CHARGE_FIELDS = ["id", "patient_id", "provider_id", "guarantor_id", "procedure_id", "procedure_code", "description",
                 "charged_at", "fee", "location_id", "foreign_id", "deleted_at", "updated_at"]


class ChargeSerializer(RecordSerializer):
    expansions = ("claim_payouts",)
    fee = Money()
    foreign_id = Text()
    patient_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)
    guarantor_id = serializers.IntegerField(allow_null=True)
    procedure_id = serializers.IntegerField(allow_null=True)
    claim_payouts = ClaimPayoutSerializer(source="payouts", many=True, required=False)

    class Meta:
        model = Charge
        fields = CHARGE_FIELDS + ["claim_payouts"]


class ChargeBriefSerializer(ChargeSerializer):
    expansions = ()

    class Meta(ChargeSerializer.Meta):
        fields = [f for f in CHARGE_FIELDS if f != "deleted_at"]


class ClaimSerializer(RecordSerializer):
    totals = serializers.SerializerMethodField()
    patient_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)
    guarantor_id = serializers.IntegerField(allow_null=True)
    primary_insurance_plan_id = serializers.IntegerField(allow_null=True)
    secondary_insurance_plan_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Claim
        fields = ["id", "patient_id", "provider_id", "guarantor_id", "primary_insurance_plan_id",
                  "secondary_insurance_plan_id", "date_of_service", "note", "status", "sent_at", "received_at",
                  "location_id", "deleted_at", "updated_at", "totals"]

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, obj) -> dict:
        return payout_totals(obj.payouts.all(), obj.currency)


class ClaimDetailSerializer(ClaimSerializer):
    expansions = ("patient", "provider", "guarantor", "charges", "charge_payouts")
    patient = PatientBriefSerializer(required=False)
    provider = ProviderBriefSerializer(required=False)
    guarantor = PersonSerializer(required=False)
    charges = ChargeBriefSerializer(many=True, required=False)
    charge_payouts = ChargePayoutSerializer(source="payouts", many=True, required=False)

    class Meta(ClaimSerializer.Meta):
        fields = ClaimSerializer.Meta.fields + ["patient", "provider", "guarantor", "charges", "charge_payouts"]


class ChargeClaimSerializer(ClaimSerializer):
    class Meta(ClaimSerializer.Meta):
        fields = [f for f in ClaimSerializer.Meta.fields if f != "deleted_at"]


class ChargeDetailSerializer(ChargeSerializer):
    expansions = ("claim_payouts", "patient", "provider", "procedure", "guarantor", "claims", "totals")
    patient = PatientBriefSerializer(required=False)
    provider = ProviderBriefSerializer(required=False)
    procedure = ProcedureSerializer(required=False)
    guarantor = PersonSerializer(required=False)
    claims = ChargeClaimSerializer(many=True, required=False)
    totals = serializers.SerializerMethodField(required=False)

    class Meta(ChargeSerializer.Meta):
        fields = ChargeSerializer.Meta.fields + ["patient", "provider", "procedure", "guarantor", "claims", "totals"]

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, obj) -> dict:
        return payout_totals(obj.payouts.all(), obj.currency)


class AdjustmentTypeSerializer(RecordSerializer):
    class Meta:
        model = AdjustmentType
        fields = ["id", "name", "action", "active", "updated_at"]


class AdjustmentSerializer(RecordSerializer):
    adjustment_amount = Money("amount")
    foreign_id = Text()
    patient_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)
    guarantor_id = serializers.IntegerField(allow_null=True)
    claim_id = serializers.IntegerField(allow_null=True)
    charge_id = serializers.IntegerField(allow_null=True)
    adjustment_type_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Adjustment
        fields = ["id", "patient_id", "provider_id", "guarantor_id", "claim_id", "charge_id", "adjustment_type_id",
                  "adjusted_at", "adjustment_amount", "description", "transaction_id", "location_id", "foreign_id",
                  "deleted_at", "updated_at"]


class LedgerClaimSerializer(ClaimSerializer):
    """A claim embedded in an adjustment or payment (the reference's older claim shape)."""

    omit_when_null = ("deleted_at", "sent_at")

    class Meta(ClaimSerializer.Meta):
        fields = ["id", "patient_id", "provider_id", "guarantor_id", "note", "status", "sent_at", "location_id",
                  "deleted_at"]


class LedgerChargeSerializer(ChargeSerializer):
    expansions = ()
    claim_ids = serializers.SerializerMethodField()

    class Meta(ChargeSerializer.Meta):
        fields = [f for f in CHARGE_FIELDS if f not in ("procedure_code", "procedure_id")] + ["claim_ids"]

    def get_claim_ids(self, obj) -> list[int]:
        return [payout.claim_id for payout in obj.payouts.all()]


class AdjustmentDetailSerializer(AdjustmentSerializer):
    expansions = ("patient", "provider", "guarantor", "claim", "charge", "adjustment_type")
    patient = PatientBriefSerializer(required=False)
    provider = ProviderBriefSerializer(required=False)
    guarantor = PatientBriefSerializer(required=False)
    claim = LedgerClaimSerializer(required=False)
    charge = LedgerChargeSerializer(required=False)
    adjustment_type = AdjustmentTypeSerializer(required=False)

    class Meta(AdjustmentSerializer.Meta):
        fields = AdjustmentSerializer.Meta.fields + ["patient", "provider", "guarantor", "claim", "charge",
                                                     "adjustment_type"]


class PaymentTypeSerializer(RecordSerializer):
    class Meta:
        model = PaymentType
        fields = ["id", "name", "active", "updated_at"]


class PaymentPlanSerializer(RecordSerializer):
    patient_id = serializers.IntegerField()
    guarantor_id = serializers.IntegerField()

    class Meta:
        model = PaymentPlan
        fields = ["id", "patient_id", "guarantor_id", "active", "created_date", "first_payment_due_date"]


class PaymentPlanDetailSerializer(PaymentPlanSerializer):
    expansions = ("patient", "guarantor")
    patient = PatientBriefSerializer(required=False)
    guarantor = PatientBriefSerializer(required=False)

    class Meta(PaymentPlanSerializer.Meta):
        fields = PaymentPlanSerializer.Meta.fields + ["patient", "guarantor"]


class PaymentSerializer(RecordSerializer):
    payment_amount = Money("amount")
    foreign_id = Text()
    patient_id = serializers.IntegerField(allow_null=True)
    provider_id = serializers.IntegerField(allow_null=True)
    guarantor_id = serializers.IntegerField(allow_null=True)
    claim_id = serializers.IntegerField(allow_null=True)
    charge_id = serializers.IntegerField(allow_null=True)
    insurance_plan_id = serializers.IntegerField(allow_null=True)
    payment_plan_id = serializers.IntegerField(allow_null=True)
    payment_type_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Payment
        fields = ["id", "patient_id", "provider_id", "guarantor_id", "charge_id", "claim_id", "insurance_plan_id",
                  "payment_plan_id", "payment_type_id", "paid_at", "payment_amount", "description", "transaction_id",
                  "location_id", "foreign_id", "deleted_at", "updated_at"]


class PaymentDetailSerializer(PaymentSerializer):
    expansions = ("patient", "provider", "guarantor", "claim", "charge", "payment_plan", "payment_type")
    patient = PatientBriefSerializer(required=False)
    provider = ProviderBriefSerializer(required=False)
    guarantor = PatientBriefSerializer(required=False)
    claim = LedgerClaimSerializer(required=False)
    charge = LedgerChargeSerializer(required=False)
    payment_plan = PaymentPlanSerializer(required=False)
    payment_type = PaymentTypeSerializer(required=False)

    class Meta(PaymentSerializer.Meta):
        fields = PaymentSerializer.Meta.fields + ["patient", "provider", "guarantor", "claim", "charge", "payment_plan",
                                                  "payment_type"]


class GuarantorBalanceSerializer(RecordSerializer):
    foreign_id = Text()
    guarantor_id = serializers.IntegerField(allow_null=True)
    total_balance = Money()
    total_balance_under_30 = Money()
    total_balance_31_60 = Money()
    total_balance_61_90 = Money()
    total_balance_over_90 = Money()
    guarantor_portion = Money()
    insurance_estimate = Money()
    write_off_estimate = Money()

    class Meta:
        model = GuarantorBalance
        fields = ["id", "guarantor_id", "location_id", "foreign_id", "total_balance", "total_balance_under_30",
                  "total_balance_31_60", "total_balance_61_90", "total_balance_over_90", "guarantor_portion",
                  "insurance_estimate", "write_off_estimate", "updated_at"]


class GuarantorBalanceDetailSerializer(GuarantorBalanceSerializer):
    expansions = ("guarantor",)
    guarantor = PatientBriefSerializer(required=False)

    class Meta(GuarantorBalanceSerializer.Meta):
        fields = GuarantorBalanceSerializer.Meta.fields + ["guarantor"]


class InsuranceBalanceSerializer(RecordSerializer):
    patient_id = serializers.IntegerField(allow_null=True)
    guarantor_id = serializers.IntegerField(allow_null=True)
    billed_amount_under_30 = Money()
    billed_amount_31_60 = Money()
    billed_amount_61_90 = Money()
    billed_amount_over_90 = Money()
    estimated_amount_under_30 = Money()
    estimated_amount_31_60 = Money()
    estimated_amount_61_90 = Money()
    estimated_amount_over_90 = Money()

    class Meta:
        model = InsuranceBalance
        fields = ["id", "patient_id", "guarantor_id", "location_id", "billed_amount_under_30", "billed_amount_31_60",
                  "billed_amount_61_90", "billed_amount_over_90", "estimated_amount_under_30",
                  "estimated_amount_31_60", "estimated_amount_61_90", "estimated_amount_over_90", "updated_at"]


# --- Recalls, notes, documents, alerts, staff -------------------------------------------------------------

class RecallTypeSerializer(RecordSerializer):
    foreign_id = Text()

    class Meta:
        model = RecallType
        fields = ["id", "name", "description", "interval_num", "interval_unit", "location_id", "foreign_id",
                  "foreign_id_type", "created_at", "updated_at"]


class RecallTypeBriefSerializer(FastModelSerializer):
    class Meta:
        model = RecallType
        fields = ["id", "name", "description", "interval_num", "interval_unit"]


class PatientRecallSerializer(RecordSerializer):
    foreign_id = Text()
    patient_id = serializers.IntegerField(allow_null=True)
    recall_id = serializers.IntegerField(source="recall_type_id", allow_null=True)
    appointment_id = serializers.IntegerField(allow_null=True)
    recall_type = RecallTypeBriefSerializer(required=False)
    omit_when_null = ("recall_type",)

    class Meta:
        model = PatientRecall
        fields = ["id", "patient_id", "recall_id", "appointment_id", "date_due", "foreign_id", "foreign_id_type",
                  "created_at", "updated_at", "recall_type"]



class ClinicalNoteSerializer(RecordSerializer):
    patient_id = serializers.IntegerField(allow_null=True)
    procedure_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = ClinicalNote
        fields = ["id", "patient_id", "procedure_id", "content", "entered_at", "completed", "signed", "updated_at"]


class DocumentTypeSerializer(RecordSerializer):
    class Meta:
        model = DocumentType
        fields = ["id", "name", "active"]


class PatientDocumentSerializer(FastModelSerializer):
    document_type_id = serializers.SerializerMethodField()
    type = serializers.CharField(source="content_type")
    url = serializers.SerializerMethodField()

    class Meta:
        model = PatientDocument
        fields = ["id", "document_type_id", "filename", "type", "url", "created_at"]

    def get_document_type_id(self, obj) -> int:
        return obj.document_type_id or 0

    def get_url(self, obj) -> str:
        """Where a key that may reach the patient downloads the file (empty until the file is here)."""
        if not obj.file:
            return ""
        url = f"/api/patients/{obj.patient_id}/documents/{obj.pk}/file"
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class PatientAlertSerializer(RecordSerializer):
    disabled_at = serializers.DateTimeField(required=False)  # not required: absent while the alert is enabled
    omit_when_null = ("disabled_at",)

    class Meta:
        model = PatientAlert
        fields = ["id", "patient_id", "note", "disabled_at", "created_at", "updated_at"]


class StaffSerializer(FastModelSerializer):
    inst_ids = serializers.SerializerMethodField()
    location_ids = serializers.SerializerMethodField()

    class Meta:
        model = StaffMember
        fields = ["id", "email", "first_name", "last_name", "inactive", "patientable", "unsubscribe_emails",
                  "unsubscribe_sms", "inst_ids", "location_ids", "created_at", "updated_at"]

    def get_inst_ids(self, obj) -> list[int]:
        return [obj.institution_id]

    def get_location_ids(self, obj) -> list[int]:
        return [obj.location_id]
