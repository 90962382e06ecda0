"""Derive a compact NexHealth API compatibility fixture from the public OpenAPI reference.

This script is run BY HAND, from the repository root, against the reference specification (a copy is
vendored in tests/contract/reference/, which the fuzz test reads); its output is committed:

    python3 scripts/derive_nexhealth_contract.py \\
        tests/contract/reference/nexhealth-openapi-v20240412.json \\
        > tests/contract/nexhealth_contract.json

Standard library only. The fixture is printed to stdout (sorted keys, indent=1); a short summary
is printed to stderr.

Notation of a "type node" in the fixture (also stored under the fixture's "_notation" key):

* a plain JSON type: "string", "integer", "number", "boolean", "object" or "array";
* a list of types when the reference allows several, e.g. ["string", "null"] for `nullable`;
* a dict {"type": <plain type or list>, ...} when more is known: "format" (only "date-time" and
  "date"), "enum", "properties" (name -> type node) and "required" for objects, "items" (a type
  node) for arrays.

Objects are expanded to a limited depth (see RESPONSE_NESTING and REQUEST_NESTING); deeper
objects are recorded by their type only. `$ref` is resolved; `allOf`, `oneOf` and `anyOf` are
merged (properties are united; for `allOf` the required lists are united, for `oneOf`/`anyOf` a
property keeps only what every branch requires); `nullable` and `x-nullable` add "null".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

JSONDict = dict[str, Any]
TypeNode = str | list[str] | JSONDict

# The operations our API must stay wire-compatible with: (path, method).
OPERATIONS: list[tuple[str, str]] = [
    ("/authenticates", "post"),
    ("/institutions", "get"),
    ("/institutions/{id}", "get"),
    ("/locations", "get"),
    ("/locations/{id}", "get"),
    ("/sync_status", "get"),
    ("/providers", "get"),
    ("/providers/{id}", "get"),
    ("/operatories", "get"),
    ("/operatories/{id}", "get"),
    ("/appointment_types", "get"),
    ("/appointment_types", "post"),
    ("/appointment_types/{id}", "get"),
    ("/appointment_types/{id}", "patch"),
    ("/appointment_types/{id}", "delete"),
    ("/patients", "get"),
    ("/patients", "post"),
    ("/patients/{id}", "get"),
    ("/appointments", "get"),
    ("/appointments", "post"),
    ("/appointments/{id}", "get"),
    ("/appointments/{id}", "patch"),
    ("/working_hours", "get"),
    ("/available_slots", "get"),
    ("/webhook_endpoints", "get"),
    ("/webhook_endpoints", "post"),
    ("/webhook_endpoints/{id}", "patch"),
    ("/webhook_endpoints/{id}", "delete"),
    ("/webhook_endpoints/{id}/webhook_subscriptions", "get"),
    ("/webhook_endpoints/{id}/webhook_subscriptions", "post"),
    ("/webhook_endpoints/{id}/webhook_subscriptions/{subscription_id}", "patch"),
    ("/webhook_endpoints/{id}/webhook_subscriptions/{subscription_id}", "delete"),
    ("/adjustments", "get"),
    ("/adjustments", "post"),
    ("/adjustments/{id}", "get"),
    ("/appointment_types/{id}/appointment_descriptors", "get"),
    ("/appointments/{id}/appointment_descriptors", "get"),
    ("/charges", "get"),
    ("/charges/{id}", "get"),
    ("/document_types", "get"),
    ("/document_types/{id}", "get"),
    ("/insurance_plans", "get"),
    ("/insurance_plans/{id}", "get"),
    ("/locations/{id}/appointment_descriptors", "get"),
    ("/nex_staff", "get"),
    ("/patients/{id}/documents", "get"),
    ("/patients/{id}/documents", "post"),
    ("/patients/{id}/alerts", "post"),
    ("/patients/{id}/alerts", "get"),
    ("/patients/{id}/alerts/{alert_id}", "get"),
    ("/patients/{id}/alerts/{alert_id}", "patch"),
    ("/patient_recalls", "get"),
    ("/patient_recalls/{id}", "get"),
    ("/payment_plans", "get"),
    ("/payment_plans/{id}", "get"),
    ("/payments", "get"),
    ("/payments", "post"),
    ("/payments/{id}", "get"),
    ("/procedures", "get"),
    ("/procedures/{id}", "get"),
    ("/recall_types", "get"),
    ("/recall_types/{id}", "get"),
    ("/adjustment_types", "get"),
    ("/adjustment_types/{id}", "get"),
    ("/clinical_notes", "get"),
    ("/fee_schedule_procedures", "get"),
    ("/fee_schedules", "get"),
    ("/fee_schedules/{id}", "get"),
    ("/guarantor_balances", "get"),
    ("/guarantor_balances/{id}", "get"),
    ("/insurance_balances", "get"),
    ("/insurance_balances/{id}", "get"),
    ("/claims", "get"),
    ("/claims/{id}", "get"),
    ("/insurance_coverages", "get"),
    ("/insurance_coverages/{id}", "get"),
    ("/onboardings", "get"),
    ("/onboardings", "post"),
    ("/onboardings/{hashid}", "get"),
    ("/payment_types", "get"),
    ("/payment_types/{id}", "get"),
    ("/treatment_plans", "get"),
    ("/treatment_plans/{id}", "get"),
    ("/working_hour_labels", "get"),
    ("/working_hours", "post"),
    ("/working_hours/{id}", "get"),
    ("/working_hours/{id}", "patch"),
    ("/working_hours/{id}", "delete"),
]

# How many levels of objects nested below the root (the data item, the request body) are
# expanded into "properties".
RESPONSE_NESTING = 2
REQUEST_NESTING = 3

# Envelope fields every NexHealth response may carry.
ENVELOPE_FIELDS = ("code", "description", "data", "error", "count", "page_info")
RECORDED_FORMATS = ("date-time", "date")
JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")

NOTATION = (
    "A type node is a JSON type string, a list of types (e.g. [\"string\", \"null\"] when "
    "nullable), or a dict with \"type\" plus any of \"format\" (date-time/date only), \"enum\", "
    "\"properties\"/\"required\" (objects) and \"items\" (arrays). Response data items expand "
    f"objects nested up to {RESPONSE_NESTING} levels below the item, request bodies up to "
    f"{REQUEST_NESTING} levels below the body; deeper objects are given by type only."
)


class Spec:
    """The loaded OpenAPI document with `$ref` resolution and schema normalisation."""

    def __init__(self, document: JSONDict) -> None:
        self.document = document
        self.warnings: list[str] = []

    def deref(
        self, node: JSONDict, stack: tuple[str, ...] = ()
    ) -> tuple[JSONDict, tuple[str, ...]]:
        """Follow `$ref` chains (local refs only); sibling keys override the target's."""
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref is supported, got {ref!r}")
            if ref in stack:
                raise RecursionError(f"cyclic $ref {ref!r}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            node = {**target, **siblings}
            stack = (*stack, ref)
        return node, stack

    def normalise(
        self, schema: JSONDict, stack: tuple[str, ...] = ()
    ) -> tuple[JSONDict, tuple[str, ...]]:
        """Resolve `$ref` and flatten `allOf`/`oneOf`/`anyOf` into one schema."""
        schema, stack = self.deref(schema, stack)
        for keyword in ("allOf", "oneOf", "anyOf"):
            if keyword not in schema:
                continue
            branches = [self.normalise(branch, stack)[0] for branch in schema[keyword]]
            base = {key: value for key, value in schema.items() if key != keyword}
            schema = merge_schemas([base, *branches], every_required=keyword != "allOf")
        return schema, stack

    def schema_name(self, schema: JSONDict) -> str | None:
        ref = schema.get("$ref")
        return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def merge_schemas(schemas: list[JSONDict], every_required: bool) -> JSONDict:
    """Merge already-normalised schemas; `every_required` intersects the branches' required."""
    merged: JSONDict = {}
    types: list[str] = []
    properties: dict[str, JSONDict] = {}
    required_sets: list[set[str]] = []
    for schema in schemas:
        for key, value in schema.items():
            if key in ("type", "properties", "required", "nullable", "x-nullable"):
                continue
            merged.setdefault(key, value)
        for schema_type in schema_types(schema):
            if schema_type not in types:
                types.append(schema_type)
        for name, prop in schema.get("properties", {}).items():
            if name in properties and properties[name] != prop:
                properties[name] = {"anyOf": [properties[name], prop]}
            else:
                properties[name] = prop
        if schema.get("properties") or schema.get("required"):
            required_sets.append(set(schema.get("required", [])))
    if types:
        merged["type"] = types[0] if len(types) == 1 else types
    if properties:
        merged["properties"] = properties
    if required_sets:
        if every_required:
            required = set.intersection(*required_sets)
        else:
            required = set.union(*required_sets)
        if required:
            merged["required"] = sorted(required)
    return merged


def schema_types(schema: JSONDict) -> list[str]:
    """The JSON types a normalised schema allows, "null" included when nullable."""
    declared = schema.get("type")
    if isinstance(declared, list):
        types = [str(item) for item in declared]
    elif isinstance(declared, str):
        types = [declared]
    elif "properties" in schema:
        types = ["object"]
    elif "items" in schema:
        types = ["array"]
    else:
        types = []
    if (schema.get("nullable") is True or schema.get("x-nullable") is True) and "null" not in types:
        types.append("null")
    return types


def compact_type(types: list[str]) -> str | list[str]:
    """One type as a string, several as a list with "null" last; "any" when untyped."""
    ordered = [t for t in types if t != "null"] + [t for t in types if t == "null"]
    if not ordered:
        return "any"
    return ordered[0] if len(ordered) == 1 else ordered


def type_node(spec: Spec, schema: JSONDict, nesting: int, stack: tuple[str, ...] = ()) -> TypeNode:
    """Describe `schema`; objects get "properties" while `nesting` >= 0."""
    try:
        schema, stack = spec.normalise(schema, stack)
    except RecursionError:
        return "object"
    types = schema_types(schema)
    for schema_type in types:
        if schema_type not in JSON_TYPES:
            spec.warnings.append(f"unexpected type {schema_type!r}")
    if not types:
        spec.warnings.append(f"schema without a type: {sorted(schema)}")
    described: JSONDict = {}
    if schema.get("format") in RECORDED_FORMATS:
        described["format"] = schema["format"]
    if "enum" in schema:
        described["enum"] = list(schema["enum"])
    if "object" in types and schema.get("properties") and nesting >= 0:
        described["properties"] = {
            name: type_node(spec, prop, nesting - 1, stack)
            for name, prop in schema["properties"].items()
        }
        if schema.get("required"):
            described["required"] = sorted(schema["required"])
    if "array" in types and isinstance(schema.get("items"), dict):
        described["items"] = type_node(spec, schema["items"], nesting, stack)
    if not described:
        return compact_type(types)
    return {"type": compact_type(types), **described}


def properties_of(spec: Spec, schema: JSONDict, nesting: int) -> JSONDict:
    """Type nodes of an object schema's properties (the root level itself is always expanded)."""
    node = type_node(spec, schema, nesting)
    if isinstance(node, dict):
        return node if "properties" in node else {**node, "properties": {}}
    return {"type": node, "properties": {}}


def parameter_entry(spec: Spec, parameter: JSONDict) -> JSONDict:
    schema, _ = spec.normalise(parameter.get("schema", {}))
    entry: JSONDict = {
        "name": parameter["name"],
        "in": parameter["in"],
        "required": bool(parameter.get("required", False)),
        "type": compact_type(schema_types(schema)),
    }
    if "array" in schema_types(schema) and isinstance(schema.get("items"), dict):
        items, _ = spec.normalise(schema["items"])
        entry["items"] = compact_type(schema_types(items))
        if "enum" in items:
            entry["enum"] = list(items["enum"])
    if "enum" in schema:
        entry["enum"] = list(schema["enum"])
    if schema.get("format") in RECORDED_FORMATS:
        entry["format"] = schema["format"]
    if "default" in schema:
        entry["default"] = schema["default"]
    return entry


def operation_parameters(spec: Spec, path_item: JSONDict, operation: JSONDict) -> list[JSONDict]:
    """Path-level parameters overridden by operation-level ones (keyed by name and location)."""
    by_key: dict[tuple[str, str], JSONDict] = {}
    for raw in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter, _ = spec.deref(raw)
        by_key[(parameter["name"], parameter["in"])] = parameter
    return list(by_key.values())


def success_response(spec: Spec, response: JSONDict) -> JSONDict:
    """The resolved envelope of a 2xx response."""
    response, _ = spec.deref(response)
    content: JSONDict = response.get("content", {})
    entry: JSONDict = {"content_types": sorted(content)}
    if not content:
        return entry
    raw_schemas = [media.get("schema", {}) for media in content.values()]
    if any(raw != raw_schemas[0] for raw in raw_schemas[1:]):
        spec.warnings.append("a response has different schemas per content type; using the first")
    raw = raw_schemas[0]
    name = spec.schema_name(raw)
    if name:
        entry["schema"] = name
    envelope, _ = spec.normalise(raw)
    fields: JSONDict = envelope.get("properties", {})
    entry["envelope_keys"] = sorted(fields)
    entry["has_count"] = "count" in fields
    entry["has_page_info"] = "page_info" in fields
    if "data" not in fields:
        entry["data_type"] = None
        return entry
    data, _ = spec.normalise(fields["data"])
    data_types = schema_types(data)
    entry["data_type"] = compact_type(data_types)
    item = data["items"] if "array" in data_types and "items" in data else fields["data"]
    entry["data_schema"] = spec.schema_name(item) or spec.schema_name(fields["data"])
    if "array" in data_types or "object" in data_types:
        entry["data_item"] = properties_of(spec, item, RESPONSE_NESTING)["properties"]
    return entry


def request_body_entry(spec: Spec, raw_body: JSONDict) -> JSONDict:
    body, _ = spec.deref(raw_body)
    content: JSONDict = body.get("content", {})
    entry: JSONDict = {
        "required": bool(body.get("required", False)),
        "content_types": sorted(content),
    }
    if content:
        raw = next(iter(content.values())).get("schema", {})
        name = spec.schema_name(raw)
        if name:
            entry["schema"] = name
        described = properties_of(spec, raw, REQUEST_NESTING)
        entry["properties"] = described["properties"]
        entry["required_fields"] = described.get("required", [])
    return entry


def operation_entry(spec: Spec, path: str, method: str) -> JSONDict:
    path_item: JSONDict = spec.document["paths"][path]
    operation: JSONDict = path_item[method]
    parameters = operation_parameters(spec, path_item, operation)
    responses: JSONDict = operation.get("responses", {})
    entry: JSONDict = {
        "operation_id": operation.get("operationId"),
        "parameters": [
            parameter_entry(spec, p) for p in parameters if p["in"] in ("query", "path")
        ],
        "headers": [parameter_entry(spec, p) for p in parameters if p["in"] == "header"],
        "responses": {
            code: success_response(spec, response)
            for code, response in sorted(responses.items())
            if code.startswith("2")
        },
        "error_statuses": sorted(code for code in responses if not code.startswith("2")),
        "response_content_types": sorted(
            {
                content_type
                for response in responses.values()
                for content_type in spec.deref(response)[0].get("content", {})
            }
        ),
    }
    if "security" in operation:
        entry["security"] = operation["security"]
    if "requestBody" in operation:
        entry["request_body"] = request_body_entry(spec, operation["requestBody"])
    elif method in ("post", "patch", "put"):
        entry["request_body"] = None
    return entry


def example_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def envelope_summary(spec: Spec, operations: JSONDict) -> JSONDict:
    """The union of the envelope fields' types over the covered operations' responses."""
    seen: dict[str, list[TypeNode]] = {}
    page_info_keys: dict[str, str] = {}
    error_fields: dict[str, list[TypeNode]] = {}
    for path, method in OPERATIONS:
        for code, raw in spec.document["paths"][path][method].get("responses", {}).items():
            response, _ = spec.deref(raw)
            for media in response.get("content", {}).values():
                envelope, _ = spec.normalise(media.get("schema", {}))
                target = seen if code.startswith("2") else error_fields
                for name, field in envelope.get("properties", {}).items():
                    if name == "data" and code.startswith("2"):
                        node: TypeNode = compact_type(schema_types(spec.normalise(field)[0]))
                    else:
                        node = type_node(spec, field, 0)
                    if node not in target.setdefault(name, []):
                        target[name].append(node)
                    if name == "page_info":
                        example = spec.normalise(field)[0].get("example", {})
                        for key, value in example.items():
                            page_info_keys[key] = example_type(value)

    def collapse(nodes: list[TypeNode]) -> TypeNode:
        if len(nodes) == 1:
            return nodes[0]
        if all(isinstance(node, str) for node in nodes):
            return sorted(str(node) for node in nodes)
        return {"one_of": nodes}

    fields = {name: collapse(nodes) for name, nodes in seen.items()}
    if "page_info" in fields and page_info_keys:
        fields["page_info"] = {
            "type": "object",
            "properties": page_info_keys,
            "derived_from": "example (the reference gives no page_info properties)",
        }
    with_count = sorted(
        key
        for key, op in operations.items()
        if any(r.get("has_count") for r in op["responses"].values())
    )
    with_page_info = sorted(
        key
        for key, op in operations.items()
        if any(r.get("has_page_info") for r in op["responses"].values())
    )
    return {
        "fields": fields,
        "error_fields": {name: collapse(nodes) for name, nodes in error_fields.items()},
        "operations_with_count": with_count,
        "operations_with_page_info": with_page_info,
    }


def derive(spec_path: Path) -> tuple[JSONDict, list[str]]:
    raw_bytes = spec_path.read_bytes()
    spec = Spec(json.loads(raw_bytes))
    info: JSONDict = spec.document.get("info", {})
    operations: JSONDict = {}
    for path, method in OPERATIONS:
        if method not in spec.document["paths"].get(path, {}):
            raise SystemExit(f"{method.upper()} {path} is missing from {spec_path}")
        operations[f"{method.upper()} {path}"] = operation_entry(spec, path, method)
    fixture: JSONDict = {
        "_notation": NOTATION,
        "source": {
            "file": spec_path.name,
            "openapi": spec.document.get("openapi"),
            "title": info.get("title"),
            "version": info.get("version"),
            "sha256": hashlib.sha256(raw_bytes).hexdigest(),
        },
        "security": {
            "global": spec.document.get("security", []),
            "schemes": spec.document.get("components", {}).get("securitySchemes", {}),
        },
        "envelope": envelope_summary(spec, operations),
        "operations": operations,
    }
    return fixture, sorted(set(spec.warnings))


def summary_lines(fixture: JSONDict) -> list[str]:
    lines = []
    for key, op in fixture["operations"].items():
        success = ",".join(op["responses"]) or "-"
        props = [len(r.get("data_item", {})) for r in op["responses"].values()]
        lines.append(
            f"{key:32} params={len(op['parameters']):2} success={success:7} "
            f"data_props={'/'.join(map(str, props)) or '-'}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="path to nexhealth-openapi-*.json")
    args = parser.parse_args(argv)
    fixture, warnings = derive(args.spec)
    text = json.dumps(fixture, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    sys.stdout.write(text)
    for line in summary_lines(fixture):
        print(line, file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"fixture size: {len(text.encode())} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
