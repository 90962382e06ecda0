"""The practice's other records (ledger, insurance, recalls, charts, staff, labels): scoped, filtered, sorted,
paginated by cursor, and read in a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from syncs.api_records import LIST_ONLY, RESOURCES
from syncs.models import Charge, Claim, ClaimPayout, Payment, Procedure

pytestmark = pytest.mark.django_db


def scoped(api, location, **extra) -> dict:
    return {"subdomain": api.subdomain, "location_id": location.pk, **extra}


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.path)
def test_every_kind_lists_and_shows_the_sandboxs_records(api, locations, resource):
    response = api.get(resource.path, scoped(api, locations[0], per_page=3))
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["code"] is True and body["data"], resource.path
    assert {item.get("location_id", locations[0].pk) for item in body["data"]} == {locations[0].pk}
    if resource.path in LIST_ONLY:
        return
    one = body["data"][0]["id"]
    detail = api.get(f"{resource.path}/{one}", scoped(api, locations[0]))
    assert detail.status_code == 200, detail.content[:500]
    assert detail.json()["data"]["id"] == one


@pytest.mark.parametrize("path", ["procedures", "payments", "charges", "claims", "adjustments"])
def test_a_list_reads_in_the_same_number_of_queries_for_ten_or_a_hundred_rows(api, locations, path):
    counts = []
    for per_page in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path, scoped(api, locations[0], per_page=per_page))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_cursor_pages_walk_every_procedure_once_sorted_by_updated_at_descending(api, locations):
    Procedure.objects.filter(location=locations[0], pk__in=Procedure.objects.filter(location=locations[0])
                             .values("pk")[:7]).update(updated_at="2030-01-01T00:00:00Z")
    seen, params = [], scoped(api, locations[0], per_page=50, sort="-updated_at")
    while True:
        body = api.get("procedures", params).json()
        seen += [(item["updated_at"], item["id"]) for item in body["data"]]
        if not body["page_info"]["has_next_page"]:
            break
        params["end_cursor"] = body["page_info"]["end_cursor"]
    expected = Procedure.objects.filter(location=locations[0]).count()
    assert len(seen) == len(set(seen)) == expected
    assert seen == sorted(seen, key=lambda pair: (pair[0], -pair[1]), reverse=True)
    assert seen[0][0].startswith("2030")
    previous = api.get("procedures", {**params, "start_cursor": body["page_info"]["start_cursor"]}).json()
    assert [(i["updated_at"], i["id"]) for i in previous["data"]] == seen[-len(body["data"]) - 50:-len(body["data"])]


def test_an_unknown_sort_is_a_400_naming_the_choices(api, locations):
    response = api.get("payments", scoped(api, locations[0], sort="amount"))
    assert response.status_code == 400
    assert "updated_at" in response.json()["error"][0]


def test_filters_narrow_the_list(api, locations):
    claim = Claim.objects.filter(location=locations[0]).first()
    body = api.get("claims", scoped(api, locations[0], patient_id=claim.patient_id, per_page=100)).json()
    assert body["data"] and {c["patient_id"] for c in body["data"]} == {claim.patient_id}
    Payment.objects.filter(location=locations[0]).update(deleted_at="2026-01-01T00:00:00Z")
    assert api.get("payments", scoped(api, locations[0])).json()["data"] == []
    assert api.get("payments", scoped(api, locations[0], include_deleted="true")).json()["data"]


def test_a_detail_expands_only_what_include_names(api, locations):
    charge = Charge.objects.filter(location=locations[0], claims__isnull=False).first()
    plain = api.get(f"charges/{charge.pk}", {"subdomain": api.subdomain}).json()["data"]
    assert "patient" not in plain and "claims" not in plain
    full = api.get(f"charges/{charge.pk}", {"subdomain": api.subdomain, "include[]": ["patient", "claims", "totals"]})
    data = full.json()["data"]
    assert data["patient"]["id"] == charge.patient_id and data["claims"][0]["id"] == charge.claims.first().pk
    assert data["totals"]["amount_billed_to_insurance"] == {"amount": f"{charge.fee:.2f}", "currency": "USD"}


def test_another_institutions_record_is_not_found(api, locations, cast):
    from syncs.sandbox import sandbox_populate
    from institutions.models import Institution

    other = Institution.objects.create(name="Elsewhere", subdomain="elsewhere-demo", is_sandbox=True)
    sandbox_populate(institution=other)
    foreign = Procedure.objects.filter(institution=other).first()
    assert api.get(f"procedures/{foreign.pk}", {"subdomain": api.subdomain}).status_code == 404
    assert api.get("procedures", {"subdomain": "elsewhere-demo"}).status_code == 403


BUILT_IN_SQL = [resource for resource in RESOURCES if resource.sql_fields is not None]


@pytest.mark.parametrize("resource", BUILT_IN_SQL, ids=lambda r: r.path)
def test_a_list_built_by_the_database_holds_what_the_serializer_prints(sandbox, resource):
    """Every sandbox record of the kind, in a page's own order, one of them with every nullable column null (and, for
    a claim, no payouts) and one with no currency (on PostgreSQL the SQL path the list takes, elsewhere the
    fallback)."""
    import orjson

    from syncs.api_records import VIEWS

    model = resource.model
    ids = list(model.objects.filter(institution=sandbox).order_by("-id").values_list("id", flat=True))
    assert len(ids) >= 2, "the sandbox has records of every kind"
    nullable = {f.attname: None for f in model._meta.concrete_fields if f.null and f.attname != "institution_id"}
    model.objects.filter(pk=ids[0]).update(**nullable)
    if any(f.name == "currency" for f in model._meta.concrete_fields):
        model.objects.filter(pk=ids[1]).update(currency="")
    if model is Claim:  # a claim without payouts totals zero; the others sum theirs
        assert ClaimPayout.objects.filter(claim_id__in=ids[1:]).exists()
        ClaimPayout.objects.filter(claim_id=ids[0]).delete()

    built = orjson.loads(orjson.dumps(VIEWS[resource.path][0].rows_json.page(ids)))
    expected = resource.serializer(model.objects.in_bulk(ids).values(), many=True).data
    by_id = {record["id"]: record for record in expected}

    assert [record["id"] for record in built] == ids
    assert built == [dict(by_id[pk]) for pk in ids]


def test_a_procedures_body_site_reads_the_same_in_sql_whatever_the_agent_sent(sandbox):
    import orjson

    from syncs.api_records import VIEWS
    from syncs.record_serializers import ProcedureSerializer

    sites = [{}, {"tooth": ["14", "15"], "surface": "MO"}, {"tooth": "14", "surface": 3}, ["14"], {"surface": None}]
    ids = list(Procedure.objects.filter(institution=sandbox).order_by("id").values_list("id", flat=True)[:len(sites)])
    for pk, site in zip(ids, sites, strict=True):
        Procedure.objects.filter(pk=pk).update(body_site=site)

    built = orjson.loads(orjson.dumps(VIEWS["procedures"][0].rows_json.page(ids)))

    assert [record["body_site"] for record in built] == [
        {"tooth": [], "surface": ""}, {"tooth": ["14", "15"], "surface": "MO"}, {"tooth": [], "surface": ""},
        {"tooth": [], "surface": ""}, {"tooth": [], "surface": ""}]
    found = Procedure.objects.in_bulk(ids)
    assert built == list(ProcedureSerializer([found[pk] for pk in ids], many=True).data)


@pytest.mark.parametrize(("path", "extra", "in_sql"), [
    ("procedures", {}, True), ("claims", {"sort": "-updated_at"}, True), ("recall_types", {}, True),
    ("charges", {"include[]": "claim_payouts"}, False),  # an expansion takes the serializer
    ("treatment_plans", {}, False),  # nested records: declared without SQL
])
def test_on_postgresql_a_list_takes_its_json_from_the_database_unless_it_must_not(api, locations, path, extra, in_sql):
    params = scoped(api, locations[0], **extra)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path, params)
    assert response.status_code == 200, response.content[:300]
    built_by_sql = any("json_agg(json_build_object(" in query["sql"] for query in queries.captured_queries)
    assert built_by_sql == (in_sql and connection.vendor == "postgresql")
    assert response.json()["data"]
