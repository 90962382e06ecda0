"""Read-only endpoints of the practice's other records (ledger, insurance, recalls, charts, staff, labels), built
from one declaration each: a Resource names the model, serializers, filters, sort fields and expansions, and
`record_views` turns it into a list view and a detail view. Scoping rules live in institutions.scoping."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers

from institutions.scoping import scope_for, serving_locations
from portal.api.base import IdField, NexApiView, sort_param
from portal.api.envelope import ok
from portal.api.pagination import PageParams, paginate
from portal.api.schema import envelope_of
from portal.api.sql_json import RowsAsJson
from syncs import record_serializers as out
from syncs.models import (
    Adjustment,
    AdjustmentType,
    Charge,
    Claim,
    ClinicalNote,
    DocumentType,
    FeeSchedule,
    FeeScheduleProcedure,
    GuarantorBalance,
    InsuranceBalance,
    InsuranceCoverage,
    InsurancePlan,
    PatientRecall,
    Payment,
    PaymentPlan,
    PaymentType,
    Procedure,
    RecallType,
    StaffMember,
    TreatmentPlan,
    WorkingHourLabel,
)

# --- Filters -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A query parameter: its field, and how a value narrows the queryset."""

    make_field: Callable[[], serializers.Field]
    apply: Callable[[QuerySet, object], QuerySet]


def by(lookup: str, make_field: Callable[[], serializers.Field]) -> Filter:
    return Filter(make_field, lambda qs, value: qs.filter(**{lookup: value}))


def by_id(lookup: str) -> Filter:
    return by(lookup, lambda: IdField(required=False))


def flag(lookup: str, default: bool | None = None) -> Filter:
    """A boolean filter; with a default it always applies (the reference's `active` defaults to true)."""
    if default is None:
        return by(lookup, lambda: serializers.BooleanField(required=False, allow_null=True, default=None))
    return by(lookup, lambda: serializers.BooleanField(required=False, default=default))


UPDATED_SINCE = by("updated_at__gte", lambda: serializers.DateTimeField(required=False))
# Voided records are hidden unless asked for.
INCLUDE_DELETED = Filter(lambda: serializers.BooleanField(required=False, default=False),
                         lambda qs, value: qs if value else qs.filter(deleted_at__isnull=True))


def text(lookup: str) -> Filter:
    return by(lookup, lambda: serializers.CharField(required=False))


def on_date(lookup: str) -> Filter:
    return by(lookup, lambda: serializers.DateField(required=False))


def at_time(lookup: str) -> Filter:
    return by(lookup, lambda: serializers.DateTimeField(required=False))


# --- Resources ---------------------------------------------------------------------------------------------

REQUIRED, OPTIONAL, NONE = "required", "optional", "none"


@dataclass(frozen=True)
class Resource:
    path: str
    model: type
    serializer: type[serializers.Serializer]
    tag: str
    detail_serializer: type[serializers.Serializer] | None = None
    filters: dict[str, Filter] = field(default_factory=dict)
    location: str = REQUIRED  # is location_id required, optional, or not a parameter of the list
    sort: dict[str, object] = field(default_factory=dict)  # sort name -> expression (F or Coalesce)
    paging: str = "cursor"  # "cursor", "pages" (page/per_page) or "none" (everything)
    version_header: bool = True
    list_includes: tuple[str, ...] = ()
    detail_includes: tuple[str, ...] = ()
    detail_subdomain: bool = True  # the detail's reference declares `subdomain`
    detail_location: bool = False  # ... and requires location_id
    select: tuple[str, ...] = ()
    prefetch: tuple = ()
    detail_select: tuple[str, ...] = ()
    detail_prefetch: tuple = ()
    # The list's records as JSON built by PostgreSQL (RowsAsJson), with the SQL of fields that are not a column;
    # None: the serializer writes them (a computed total, nested records, fields left out when null).
    sql_fields: dict[str, str] | None = field(default_factory=dict)
    sql_joins: str = ""  # FROM items those fields read, aliased; the record's table is `t`

    @property
    def name(self) -> str:
        return "".join(part.title() for part in self.path.split("_"))

    @property
    def operation(self) -> str:
        return "get" + self.name


class IncludeParams(serializers.Serializer):
    """`include[]=a&include[]=b` and other `x[]` parameters arrive under their names without brackets."""

    def to_internal_value(self, data):
        data = {key.removesuffix("[]"): value for key, value in data.items()}
        return super().to_internal_value(data)


def list_params(resource: Resource) -> type[serializers.Serializer]:
    fields: dict[str, serializers.Field | None] = {"subdomain": serializers.CharField()}
    if resource.location != NONE:
        fields["location_id"] = IdField(required=resource.location == REQUIRED)
    for name, spec in resource.filters.items():
        fields[name] = spec.make_field()
    if resource.sort:
        fields["sort"] = sort_param(*resource.sort)
    if resource.list_includes:
        fields["include"] = serializers.ListField(
            child=serializers.ChoiceField(choices=resource.list_includes), required=False)
    if resource.paging == "none":
        return type(f"{resource.name}ListParams", (IncludeParams,), fields)
    # None removes an inherited parameter the reference does not have for this kind of paging.
    if resource.paging == "cursor":
        fields["page"] = None
    else:
        fields.update(start_cursor=None, end_cursor=None)
    return type(f"{resource.name}ListParams", (IncludeParams, PageParams), fields)


def detail_params(resource: Resource) -> type[serializers.Serializer]:
    fields: dict[str, serializers.Field] = {}
    if resource.detail_subdomain:
        fields["subdomain"] = serializers.CharField()
    if resource.detail_location:
        fields["location_id"] = IdField()
    if resource.detail_includes:
        fields["include"] = serializers.ListField(
            child=serializers.ChoiceField(choices=resource.detail_includes), required=False)
    return type(f"{resource.name}DetailParams", (IncludeParams,), fields)


# Lists (and the writes on the same path) whose reference operations declare no 404: a location outside the
# institution is answered 403 there (NexApiView.reference_lacks).
NO_404 = frozenset({404})
LISTS_WITHOUT_404 = {
    **{path: {"GET": NO_404} for path in ("charges", "payment_plans", "adjustment_types", "fee_schedule_procedures",
                                          "fee_schedules", "guarantor_balances", "insurance_balances", "claims",
                                          "payment_types")},
    "adjustments": {"GET": NO_404, "POST": NO_404}, "payments": {"GET": NO_404, "POST": NO_404},
}


class ResourceView(NexApiView):
    resource: Resource
    params: type[serializers.Serializer]  # built once per view by record_views

    @property
    def version_header_required(self) -> bool:
        return self.resource.version_header

    def scoped(self, params: dict) -> QuerySet:
        """Records at the locations this key may reach: one location, one institution, or (for the reference's
        detail operations without a subdomain) every institution the key reaches."""
        model = self.resource.model
        subdomain = params.get("subdomain")
        if subdomain is None and "subdomain" not in self.params._declared_fields:
            return model.objects.filter(location__in=serving_locations(self.client))
        scope = scope_for(self.client, subdomain=subdomain, location_id=params.get("location_id"))
        queryset = model.objects.filter(institution=scope.institution)
        if scope.location is not None:
            return queryset.filter(location=scope.location)
        return queryset.filter(location__in=serving_locations(self.client, scope.institution))


class ResourceList(ResourceView):
    rows_json: RowsAsJson | None  # built once per view by record_views

    def get(self, request):
        resource = self.resource
        params = self.query(self.params)
        queryset = self.scoped(params)
        for name, spec in resource.filters.items():
            value = params.get(name)
            if value is not None:
                queryset = spec.apply(queryset, value)
        context = {"include": params.get("include") or (), "request": request}
        # On PostgreSQL the page is chosen on ids (and the sort's columns) and its JSON built in one more query;
        # an expansion named in include[] takes the serializer.
        in_sql = self.rows_json is not None and connection.vendor == "postgresql" and not context["include"]
        if in_sql:
            queryset = queryset.only("id")
        else:
            queryset = queryset.select_related(*resource.select).prefetch_related(*resource.prefetch)
        order: tuple[str, ...] = ()
        if params.get("sort"):
            keys = {name: resource.sort[name.lstrip("-")] for name in params["sort"]}
            queryset = queryset.annotate(**{f"sort_{name.lstrip('-')}": expr for name, expr in keys.items()})
            order = tuple(f"{'-' if name.startswith('-') else ''}sort_{name.lstrip('-')}" for name in params["sort"])
        if resource.paging == "none":
            items = list(queryset.order_by("id"))
            data = (self.rows_json.page([item.pk for item in items]) if in_sql
                    else resource.serializer(items, many=True, context=context).data)
            return ok(data, count=len(items))
        page = paginate(queryset, params, cursor=resource.paging == "cursor", order=order)
        data = (self.rows_json.page([item.pk for item in page.items]) if in_sql
                else resource.serializer(page.items, many=True, context=context).data)
        if resource.paging == "pages":
            return ok(data, count=page.count)
        return ok(data, count=page.count, page_info=page.page_info)


class ResourceDetail(ResourceView):
    def get(self, request, id: int):
        resource = self.resource
        params = self.query(self.params)
        queryset = (self.scoped(params).select_related(*resource.select, *resource.detail_select)
                    .prefetch_related(*resource.prefetch, *resource.detail_prefetch))
        obj = queryset.filter(pk=id).first()
        if obj is None:
            raise exceptions.NotFound(f"{resource.model._meta.verbose_name.capitalize()} {id} was not found.")
        serializer = resource.detail_serializer or resource.serializer
        return ok(serializer(obj, context={"include": params.get("include") or (), "request": request}).data, count=1)


def record_views(resource: Resource) -> tuple[type[ResourceList], type[ResourceDetail]]:
    """The list and detail views of one resource, documented in the schema like hand-written ones."""

    # A function per view: extend_schema annotates the function object it decorates.
    def list_get(self, request):
        return ResourceList.get(self, request)

    def detail_get(self, request, id: int):
        return ResourceDetail.get(self, request, id)

    listed, shown = list_params(resource), detail_params(resource)
    list_view = type(f"{resource.name}List", (ResourceList,), {
        "resource": resource, "params": listed, "reference_lacks": LISTS_WITHOUT_404.get(resource.path, {}),
        "rows_json": (None if resource.sql_fields is None
                      else RowsAsJson(resource.serializer, resource.sql_fields, joins=resource.sql_joins)),
        "get": extend_schema(
            operation_id=resource.operation, tags=[resource.tag], parameters=[listed],
            responses=envelope_of(resource.serializer, many=True, paged=resource.paging == "cursor"),
        )(list_get)})
    detail_view = type(f"{resource.name}Detail", (ResourceDetail,), {"resource": resource, "params": shown, "get": extend_schema(
        operation_id=f"{resource.operation}Id", tags=[resource.tag], parameters=[shown],
        responses=envelope_of(resource.detail_serializer or resource.serializer),
    )(detail_get)})
    return list_view, detail_view


# --- The declarations --------------------------------------------------------------------------------------

UPDATED = {"updated_at": F("updated_at")}
PERSON = ("patient", "provider", "guarantor")

RESOURCES = [
    Resource(
        "procedures", Procedure, out.ProcedureSerializer, "Procedures", out.ProcedureDetailSerializer,
        location=OPTIONAL, sort=UPDATED, detail_prefetch=("treatment_plans",),
        sql_fields={"body_site": out.PROCEDURE_BODY_SITE_SQL},
        filters={"provider_id": by_id("provider_id"), "patient_id": by_id("patient_id"),
                 "appointment_id": by_id("appointment_id"), "updated_since": UPDATED_SINCE,
                 "started_after": on_date("start_date__gte"), "started_before": on_date("start_date__lte"),
                 "ended_after": on_date("end_date__gte"), "ended_before": on_date("end_date__lte")},
    ),
    Resource(
        "adjustments", Adjustment, out.AdjustmentSerializer, "Adjustments", out.AdjustmentDetailSerializer,
        sort=UPDATED, detail_includes=("patient", "provider", "guarantor", "claim", "charge", "adjustment_type"),
        detail_select=(*PERSON, "claim", "charge", "adjustment_type"), detail_prefetch=("charge__payouts",),
        filters={"patient_id": by_id("patient_id"), "provider_id": by_id("provider_id"),
                 "guarantor_id": by_id("guarantor_id"), "claim_id": by_id("claim_id"), "charge_id": by_id("charge_id"),
                 "updated_since": UPDATED_SINCE, "include_deleted": INCLUDE_DELETED},
    ),
    Resource(
        "adjustment_types", AdjustmentType, out.AdjustmentTypeSerializer, "Adjustment Types",
        filters={"updated_since": UPDATED_SINCE, "active": flag("active", default=True)},
    ),
    Resource(
        "charges", Charge, out.ChargeSerializer, "Charges", out.ChargeDetailSerializer, sort=UPDATED,
        list_includes=("claim_payouts",), prefetch=("payouts",),
        detail_includes=("patient", "provider", "procedure", "guarantor", "claims", "claim_payouts", "totals"),
        detail_select=(*PERSON, "procedure"), detail_prefetch=("claims__payouts",),
        filters={"patient_id": by_id("patient_id"), "provider_id": by_id("provider_id"),
                 "procedure_id": by_id("procedure_id"), "guarantor_id": by_id("guarantor_id"),
                 "updated_since": UPDATED_SINCE, "include_deleted": INCLUDE_DELETED},
    ),
    Resource(
        "claims", Claim, out.ClaimSerializer, "Claims", out.ClaimDetailSerializer, sort=UPDATED,
        sql_fields={"totals": out.CLAIM_TOTALS_SQL}, sql_joins=out.CLAIM_TOTALS_JOIN,
        prefetch=("payouts",), detail_includes=("patient", "provider", "guarantor", "charges", "charge_payouts"),
        detail_select=PERSON, detail_prefetch=("charges",),
        filters={"patient_id": by_id("patient_id"), "guarantor_id": by_id("guarantor_id"),
                 "provider_id": by_id("provider_id"), "updated_since": UPDATED_SINCE,
                 "date_of_service": on_date("date_of_service"), "include_deleted": INCLUDE_DELETED},
    ),
    Resource(
        "payments", Payment, out.PaymentSerializer, "Payments", out.PaymentDetailSerializer, sort=UPDATED,
        detail_includes=("patient", "provider", "guarantor", "claim", "charge", "payment_plan", "payment_type"),
        detail_select=(*PERSON, "claim", "charge", "payment_plan", "payment_type"),
        detail_prefetch=("charge__payouts",),
        filters={"patient_id": by_id("patient_id"), "provider_id": by_id("provider_id"),
                 "guarantor_id": by_id("guarantor_id"), "charge_id": by_id("charge_id"), "claim_id": by_id("claim_id"),
                 "transaction_id": text("transaction_id"), "updated_since": UPDATED_SINCE,
                 "include_deleted": INCLUDE_DELETED},
    ),
    Resource(
        "payment_types", PaymentType, out.PaymentTypeSerializer, "Payment Types",
        filters={"updated_since": UPDATED_SINCE, "active": flag("active", default=True)},
    ),
    Resource(
        "payment_plans", PaymentPlan, out.PaymentPlanSerializer, "Payment Plans", out.PaymentPlanDetailSerializer,
        sort=UPDATED, version_header=False, detail_subdomain=False, detail_includes=("patient", "guarantor"),
        detail_select=("patient", "guarantor"),
        filters={"patient_id": by_id("patient_id"), "guarantor_id": by_id("guarantor_id"),
                 "updated_since": UPDATED_SINCE},
    ),
    Resource(
        "insurance_plans", InsurancePlan, out.InsurancePlanSerializer, "Insurance Plans",
        out.InsurancePlanDetailSerializer, location=NONE, sort=UPDATED,
        detail_includes=("patient_coverages", "subscribers", "fee_schedule"), detail_select=("fee_schedule",),
        detail_prefetch=("coverages__subscriber",),
        filters={"updated_since": UPDATED_SINCE, "payer_id": text("payer_id"), "group_num": text("group_num"),
                 "include_deleted": INCLUDE_DELETED},
    ),
    Resource(
        "insurance_coverages", InsuranceCoverage, out.InsuranceCoverageSerializer, "Insurance Coverages",
        out.InsuranceCoverageDetailSerializer, location=NONE, detail_select=("subscriber",),
        filters={"updated_since": UPDATED_SINCE, "patient_id": by_id("patient_id"),
                 "active": flag("active", default=True)},
    ),
    Resource(
        "insurance_balances", InsuranceBalance, out.InsuranceBalanceSerializer, "Insurance Balances", sort=UPDATED,
        filters={"patient_id": by_id("patient_id"), "guarantor_id": by_id("guarantor_id"),
                 "updated_since": UPDATED_SINCE},
    ),
    Resource(
        "guarantor_balances", GuarantorBalance, out.GuarantorBalanceSerializer, "Guarantor Balances",
        out.GuarantorBalanceDetailSerializer, sort=UPDATED, detail_subdomain=False, detail_includes=("guarantor",),
        detail_select=("guarantor",),
        filters={"guarantor_id": by_id("guarantor_id"), "updated_since": UPDATED_SINCE,
                 "show_zero_balances": Filter(lambda: serializers.BooleanField(required=False, default=False),
                                              lambda qs, show: qs if show else qs.exclude(total_balance=0))},
    ),
    Resource(
        "fee_schedules", FeeSchedule, out.FeeScheduleSerializer, "Fee Schedules", out.FeeScheduleDetailSerializer,
        detail_includes=("procedure_fees",), detail_prefetch=("procedure_fees",),
        filters={"updated_since": UPDATED_SINCE, "active": flag("active", default=True)},
    ),
    Resource(
        "fee_schedule_procedures", FeeScheduleProcedure, out.FeeScheduleProcedureSerializer, "Fee Schedule Procedures",
        filters={"fee_schedule_id": by_id("fee_schedule_id"), "updated_since": UPDATED_SINCE},
    ),
    Resource(
        "recall_types", RecallType, out.RecallTypeSerializer, "Recall Types", paging="none", version_header=False,
        filters={"foreign_id": text("foreign_id"), "updated_since": UPDATED_SINCE},
    ),
    Resource(
        "patient_recalls", PatientRecall, out.PatientRecallSerializer, "Patient Recalls", version_header=True,
        sql_fields=None,
        # Recalls without a due date sort first, like the earliest.
        sort={"date_due": Coalesce(F("date_due"), Value(date(1, 1, 1)))}, select=("recall_type",),
        filters={"recall_id": by_id("recall_type_id"), "patient_id": by_id("patient_id"),
                 "foreign_id": text("foreign_id"), "updated_since": UPDATED_SINCE,
                 "due_after": by("date_due__gte", lambda: serializers.DateTimeField(required=False))},
    ),
    Resource(
        "treatment_plans", TreatmentPlan, out.TreatmentPlanSerializer, "Treatment Plans", location=NONE,
        prefetch=("procedures",), sql_fields=None,
        filters={"patient_id": by_id("patient_id"), "updated_since": UPDATED_SINCE,
                 "status": by("status", lambda: serializers.ChoiceField(choices=TreatmentPlan.Status.values,
                                                                        required=False))},
    ),
    Resource(
        "clinical_notes", ClinicalNote, out.ClinicalNoteSerializer, "Clinical Notes",
        filters={"patient_id": by_id("patient_id"), "procedure_id": by_id("procedure_id"),
                 "entered_before": at_time("entered_at__lt"), "entered_after": at_time("entered_at__gt"),
                 "updated_since": UPDATED_SINCE},
    ),
    Resource(
        "document_types", DocumentType, out.DocumentTypeSerializer, "Document Types", paging="none",
        version_header=False, detail_location=True, filters={"active": flag("active", default=True)},
    ),
    Resource(
        "working_hour_labels", WorkingHourLabel, out.WorkingHourLabelSerializer, "Working Hour Labels",
        location=OPTIONAL,
        filters={"search_name": text("name__icontains"), "active": flag("active")},
    ),
    Resource(
        "nex_staff", StaffMember, out.StaffSerializer, "Nex Staff", location=NONE, paging="pages",
        version_header=False, sql_fields=None,
        filters={"inactive": flag("inactive"),
                 "location_ids": Filter(lambda: serializers.ListField(child=IdField(), required=False),
                                        lambda qs, ids: qs.filter(location_id__in=ids) if ids else qs)},
    ),
]
BY_PATH = {resource.path: resource for resource in RESOURCES}
VIEWS = {resource.path: record_views(resource) for resource in RESOURCES}
# Operations the reference has only as a list.
LIST_ONLY = {"clinical_notes", "fee_schedule_procedures", "working_hour_labels", "nex_staff"}

