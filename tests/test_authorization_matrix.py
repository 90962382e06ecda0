"""The authorization matrix: every URL pattern of the URLconf, with every method its view accepts, against every actor.

The URL patterns come from the URLconf (a walk of get_resolver()); the methods from the views' own declarations
(class-based views, or require_http_methods / require_POST / require_GET on function views); the expected answers
from EXPECTED below, written by hand. Nothing here reads portal.permissions or the Support group's permissions: the
table is what we promise, and the test compares the code against it. A pattern missing from the table fails.

The world (one per module, rolled back after it): Acme Dental Apps operates the shared practice Bright Smiles (an
active sync, two live locations, one of each practice record at the first: schedule, chart, ledger, insurance,
recalls, staff, a patient's alert and document); Consumer Co has approved access to Bright Smiles; Other Co operates
Far Dental and nothing else. Acme has also onboarded Harbor Dental through the API (a cloud sync whose setup link
waits for the practice's credentials). The actors:

- anonymous; developer, admin, viewer (of Acme); other_admin (admin of Other Co); consumer_admin (admin of Consumer
  Co); practice_user (staff of Bright Smiles); other_practice_user (staff of Far Dental); agent (the Synchronizer of
  Far Dental's sync, with its bearer token); support (a staff user in the Support group); superuser.
- On the API (/api/), an organization's people call with a bearer token from their organization's production key:
  the API acts with the organization's authority, whoever holds the key. Everyone else sends no API token (the agent
  sends its agent token).

Every request reaches the shared practice's objects: its subdomain, its sync's code, its location (as location_id),
its records. A refusal of a write (POST, PATCH, PUT, DELETE) must leave the database as it was: the row count of every
table and the content of the tables that matter are compared before and after.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core import mail
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from institutions.models import ConsentRequest, Institution, InstitutionAccess, PracticeMember, BulkUpload
from institutions.practice import practice_invite
from portal import crypto
from portal.api_keys import api_key_create
from portal.models import ApiKey, Membership, ProductionAccessRequest, Role, User
from portal.services import invitation_send, organization_create, organization_enable_production
from portal.support import support_group_ensure
from syncs import models as records_of
from syncs.models import (Appointment, AppointmentDescriptor, AppointmentType, EngineerSlot, LocationActivationRequest,
                          Operatory, Patient, PatientAlert, PatientDocument, Provider, WebhookDelivery,
                          WebhookEndpoint, WebhookSubscription, WorkingHour, WriteJob)
from syncs.onboardings import onboarding_create, onboarding_token
from syncs.services import _set_product_key, new_product_key
from tests.factories import LocationFactory, MembershipFactory, SyncFactory, UserFactory

ACTORS = ["anonymous", "developer", "admin", "viewer", "other_admin", "consumer_admin", "practice_user",
          "other_practice_user", "agent", "support", "superuser"]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
AGENT_TOKEN = "chs_agent_far_dental_matrix_token"

# Answers that are not a plain status code.
LOGIN = "login"              # 302 to the sign-in page (/accounts/login/?next=...)
APPS = "apps"                # 302 to the practice's Apps page: practice staff have no developer pages
ADMIN_LOGIN = "admin-login"  # 302 to the support console's sign-in
KEPT = "kept"                # 302 back with a message, and nothing changed (a refusal told in words)
REFUSALS = {LOGIN, APPS, ADMIN_LOGIN, KEPT, 400, 401, 403, 404, 405, 409, 410}


# --- the table ----------------------------------------------------------------------------------------------------

def members(developer, admin, viewer, other_admin, consumer_admin) -> dict:
    """A page for developer organizations' members: everyone else is turned away the same way everywhere."""
    return {"anonymous": LOGIN, "developer": developer, "admin": admin, "viewer": viewer, "other_admin": other_admin,
            "consumer_admin": consumer_admin, "practice_user": APPS, "other_practice_user": APPS, "agent": LOGIN,
            "support": 403, "superuser": 403}


def everyone(answer, **overrides) -> dict:
    return {**dict.fromkeys(ACTORS, answer), **overrides}


def signed_in(anonymous, signed) -> dict:
    """allauth's pages: one answer for visitors (the agent is one: it has no session), one for anyone signed in."""
    return {**dict.fromkeys(ACTORS, signed), "anonymous": anonymous, "agent": anonymous}


def api(acme, consumer, other) -> dict:
    """The developer API: Acme's key (its three people), Consumer Co's and Other Co's; nobody else has an API token."""
    return {**dict.fromkeys(ACTORS, 401), "developer": acme, "admin": acme, "viewer": acme, "consumer_admin": consumer,
            "other_admin": other}


def agent(answer) -> dict:
    """The Synchronizer protocol: only an agent token opens it, and it acts on its own sync only."""
    return {**dict.fromkeys(ACTORS, 401), "agent": answer}


def practice(practice_user, other_practice_user) -> dict:
    """The practice's own pages (signed in as practice staff)."""
    return {**dict.fromkeys(ACTORS, 403), "anonymous": LOGIN, "agent": LOGIN, "practice_user": practice_user,
            "other_practice_user": other_practice_user}


EXPECTED: dict[str, dict[str, dict]] = {
    # Health checks answer anyone: load balancers call them.
    "healthz": {"GET": everyone(200)},
    "readyz": {"GET": everyone(200)},

    # The portal. Columns: developer, admin, viewer (of Acme), other_admin, consumer_admin.
    "": {"GET": members(200, 200, 200, 200, 200)},
    "mode/": {"POST": members(302, 302, 302, 302, 302)},
    "organization/": {"POST": {**members(302, 302, 302, 404, 404), "support": 404, "superuser": 404,
                               "practice_user": 404, "other_practice_user": 404}},  # only one's own memberships
    "users/security/": {"POST": members(403, 302, 403, 302, 302)},
    "users/": {"GET": members(200, 200, 200, 200, 200)},
    "users/invite/": {"GET": members(403, 200, 403, 200, 200), "POST": members(403, 302, 403, 302, 302)},
    # Acme's invitation and Acme's developer's membership: another organization's admin cannot even find them.
    "users/invitations/<uuid:public_id>/resend/": {"POST": members(403, 302, 403, 404, 404)},
    "users/invitations/<uuid:public_id>/cancel/": {"POST": members(403, 302, 403, 404, 404)},
    "users/<uuid:public_id>/role/": {"POST": members(403, 302, 403, 404, 404)},
    "users/<uuid:public_id>/delete/": {"POST": members(403, 302, 403, 404, 404)},
    "api-keys/": {"GET": members(403, 200, 403, 200, 200), "POST": members(403, 200, 403, 200, 200)},
    # Every organization here is production-enabled already: an admin's request is refused in words.
    "production-access/": {"GET": members(200, 200, 200, 200, 200), "POST": members(403, 400, 403, 400, 400)},
    "audit/": {"GET": members(403, 200, 403, 200, 200)},
    # Acme's pending invitation: the signed link is the credential; signed in as someone else, a clear refusal.
    "invitations/<str:token>/": {"GET": everyone(200), "POST": everyone(409, anonymous=200, agent=200)},
    # Consent-request link (the practice's answer to Pending Co): the signed link is the credential, no sign-in.
    "consent/<str:token>/": {"GET": everyone(200), "POST": everyone(200)},
    "practice/apps/": {"GET": practice(200, 200), "POST": practice(302, 302)},
    # Revoking Consumer Co: only Bright Smiles' staff can; Far Dental's staff are told it has no such app.
    "practice/apps/<int:organization_id>/": {"POST": practice(302, KEPT)},
    # The practice's setup link from an onboarding (a cloud sync awaiting credentials): the signed link is the
    # credential, so whoever holds it sees the practice's step and submits the credentials, signed in or not.
    # (Single use: the first submission spends it; each cell starts from the unspent link.)
    "onboard/<str:token>/": {"GET": everyone(200), "POST": everyone(200)},
    # The practice invitation's link: signed in as someone else, a clear refusal (the invited address never matches).
    "practice/join/<str:token>/": {"GET": everyone(409, anonymous=200, agent=200),
                                   "POST": everyone(409, anonymous=200, agent=200)},

    # Institutions.
    "institutions/": {"GET": members(200, 200, 200, 200, 200)},
    "institutions/new/": {"GET": members(200, 200, 403, 200, 200), "POST": members(400, 400, 403, 400, 400)},
    "institutions/subdomain/": {"GET": members(200, 200, 403, 200, 200)},
    "institutions/upload/": {"GET": members(200, 200, 403, 200, 200), "POST": members(400, 400, 403, 400, 400)},
    "institutions/upload/sample.csv": {"GET": members(200, 200, 403, 200, 200)},
    # Acme's upload: other organizations cannot find it.
    "institutions/upload/<uuid:public_id>/": {"GET": members(200, 200, 200, 404, 404)},
    "institutions/upload/<uuid:public_id>/confirm/": {"POST": members(KEPT, KEPT, 403, 404, 404)},
    "institutions/upload/<uuid:public_id>/progress/": {"GET": members(200, 200, 200, 404, 404)},
    "institutions/upload/<uuid:public_id>/result.csv": {"GET": members(200, 200, 200, 404, 404)},
    "institutions/<slug:subdomain>/": {"GET": members(200, 200, 200, 404, 200)},
    # Deactivation ends the acting organization's own access: the consumer's admin may end Consumer Co's.
    "institutions/<slug:subdomain>/deactivate/": {"GET": members(403, 200, 403, 404, 200),
                                                  "POST": members(403, 302, 403, 404, 302)},
    # The practice has a live sync: nobody may delete it.
    "institutions/<slug:subdomain>/delete/": {"GET": members(403, 403, 403, 404, 403),
                                              "POST": members(403, 403, 403, 404, 403)},
    # The same answer for a practice one reaches, one one doesn't, or none at all.
    "institutions/<slug:subdomain>/request-access/": {"POST": members(302, 302, 403, 302, 302)},
    # Only the organization that onboarded the practice creates its syncs.
    "institutions/<slug:subdomain>/syncs/new/": {"GET": members(200, 200, 403, 404, 403),
                                                 "POST": members(302, 302, 403, 404, 403)},
    "sync-status/": {"GET": members(200, 200, 200, 200, 200)},
    # The Synchronizer holds no secret: the practice's IT downloads it from the emailed link, without an account.
    "downloads/chairside-synchronizer.pyz": {"GET": everyone(200)},

    # The shared sync: the consumer sees its health, and nothing else.
    "syncs/<str:code>/": {"GET": members(200, 200, 200, 404, 200)},
    "syncs/<str:code>/instructions/": {"POST": members(302, 302, 403, 404, 403)},
    "syncs/<str:code>/credentials/": {"POST": members(KEPT, KEPT, 403, 404, 403)},  # not a cloud sync
    "syncs/<str:code>/locations/": {"POST": members(400, 400, 403, 404, 403)},  # nothing to select: it is active
    "syncs/<str:code>/retry/": {"POST": members(KEPT, KEPT, 403, 404, 403)},  # it has not failed
    "syncs/<str:code>/downtime/": {"POST": members(403, 302, 403, 404, 403)},
    "syncs/<str:code>/reinstall/": {"POST": members(403, 302, 403, 404, 403)},
    "syncs/<str:code>/activate-locations/": {"POST": members(400, 400, 403, 404, 403)},  # every location is active
    "syncs/<str:code>/schedule/": {"GET": members(KEPT, KEPT, 403, 404, 403),  # a self-installed sync books nobody
                                   "POST": members(KEPT, KEPT, 403, 404, 403)},
    "syncs/<str:code>/schedule/cancel/": {"POST": members(KEPT, KEPT, 403, 404, 403)},

    # The developer API, asked about Bright Smiles' first location. Columns: Acme, Consumer Co, Other Co.
    "api/authenticates": {"POST": everyone(401)},  # a bearer token is not an API key
    "api/institutions": {"GET": api(200, 200, 200)},
    "api/institutions/<id:id>": {"GET": api(200, 200, 404)},  # the reference has no 403 for it
    "api/locations": {"GET": api(200, 200, 403)},
    "api/locations/<id:id>": {"GET": api(200, 200, 404)},
    "api/locations/<id:id>/appointment_descriptors": {"GET": api(200, 200, 404)},  # like the location itself
    "api/sync_status": {"GET": api(200, 200, 403)},
    "api/providers": {"GET": api(200, 200, 403)},
    "api/providers/<id:id>": {"GET": api(200, 200, 403)},
    "api/operatories": {"GET": api(200, 200, 403)},
    "api/operatories/<id:id>": {"GET": api(200, 200, 403)},
    # An empty body is refused before the scope is looked at: 400 for everyone, nothing written.
    "api/appointment_types": {"GET": api(200, 200, 403), "POST": api(400, 400, 400)},
    "api/appointment_types/<id:id>": {"GET": api(200, 200, 403), "PATCH": api(400, 400, 403),
                                      "DELETE": api(200, 200, 403)},
    "api/appointment_types/<id:id>/appointment_descriptors": {"GET": api(200, 200, 403)},
    "api/patients": {"GET": api(200, 200, 403), "POST": api(400, 400, 403)},
    "api/patients/<id:id>": {"GET": api(200, 200, 403)},
    # The patient's chart: an upload without a file, an alert without a note, a change without a value are 400s.
    "api/patients/<id:id>/documents": {"GET": api(200, 200, 403), "POST": api(400, 400, 403)},
    "api/patients/<id:id>/documents/<id:document_id>/file": {"GET": api(200, 200, 403)},
    "api/patients/<id:id>/alerts": {"GET": api(200, 200, 403), "POST": api(400, 400, 403)},
    "api/patients/<id:id>/alerts/<id:alert_id>": {"GET": api(200, 200, 403), "PATCH": api(400, 400, 403)},
    "api/appointments": {"GET": api(200, 200, 403), "POST": api(400, 400, 403)},
    "api/appointments/<id:id>": {"GET": api(200, 200, 403), "PATCH": api(400, 400, 403)},
    "api/appointments/<id:id>/appointment_descriptors": {"GET": api(200, 200, 403)},
    "api/working_hours": {"GET": api(200, 200, 403), "POST": api(400, 400, 403)},
    # A consumer writes at the locations that serve it, like the operator (one write job path for both). The
    # reference's DELETE declares no 403: another organization's subdomain is a 404 there.
    "api/working_hours/<id:id>": {"GET": api(200, 200, 403), "PATCH": api(400, 400, 403),
                                  "DELETE": api(204, 204, 404)},
    "api/available_slots": {"GET": api(400, 400, 400)},  # asked without dates: refused before the scope
    # Acme's webhook endpoint: nobody else can find it.
    "api/webhook_endpoints": {"GET": api(200, 200, 200), "POST": api(400, 400, 400)},
    "api/webhook_endpoints/<id:id>": {"GET": api(200, 404, 404), "PATCH": api(200, 404, 404),
                                      "DELETE": api(204, 404, 404)},
    "api/webhook_endpoints/<id:id>/webhook_subscriptions": {"GET": api(200, 404, 404), "POST": api(400, 404, 404)},
    "api/webhook_endpoints/<id:id>/webhook_subscriptions/<id:subscription_id>": {
        "PATCH": api(200, 404, 404), "DELETE": api(204, 404, 404)},
    # Onboardings: each organization sees only its own (Acme's here); an empty body is refused before anything.
    "api/onboardings": {"GET": api(200, 200, 200), "POST": api(400, 400, 400)},
    "api/onboardings/<slug:hashid>": {"GET": api(200, 404, 404)},
    "api/schema/": {"GET": everyone(200)},
    "api/docs/": {"GET": everyone(200)},
    "api/^(?P<path>.*)$": {method: everyone(404) for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")},

    # The Synchronizer protocol. Far Dental's agent reaches its own sync only: Bright Smiles' write job is not found.
    "synchronizer/v1/activate": {"POST": everyone(400)},  # a product key is the credential: none sent
    "synchronizer/v1/locations": {"POST": agent(400)},
    "synchronizer/v1/heartbeat": {"POST": agent(200)},
    "synchronizer/v1/records": {"POST": agent(400)},
    "synchronizer/v1/write_jobs": {"GET": agent(200)},
    "synchronizer/v1/write_jobs/<uuid:job_id>": {"POST": agent(404)},  # (its body is a valid result)
    # Bright Smiles' document job has a file: Far Dental's agent never gets it.
    "synchronizer/v1/write_jobs/<uuid:job_id>/file": {"GET": agent(404)},
    "synchronizer/v1/extension/heartbeat": {"POST": agent(401)},  # an agent token is not an extension token

    # allauth's pages: visitors vs anyone signed in.
    # (allauth's form views take PUT as POST, with no form fields: PUT sends none.)
    "accounts/login/": {"GET": signed_in(200, 302), "POST": signed_in(200, 302), "PUT": signed_in(200, 302)},
    "accounts/logout/": {"GET": signed_in(302, 200), "POST": signed_in(302, 302)},
    "accounts/inactive/": {"GET": signed_in(200, 200)},
    "accounts/signup/": {"GET": signed_in(200, 302), "POST": signed_in(200, 302), "PUT": signed_in(200, 302)},
    "accounts/reauthenticate/": {m: signed_in(LOGIN, 200) for m in ("GET", "POST", "PUT")},
    "accounts/email/": {"GET": signed_in(LOGIN, 200), "POST": signed_in(LOGIN, 302), "PUT": signed_in(LOGIN, 302)},
    "accounts/confirm-email/": {"GET": signed_in(200, 200)},
    "accounts/password/change/": {m: signed_in(LOGIN, 200) for m in ("GET", "POST", "PUT")},
    "accounts/password/set/": {m: signed_in(LOGIN, 302) for m in ("GET", "POST", "PUT")},
    # The same answer whether or not the address has an account.
    "accounts/password/reset/": {"GET": signed_in(200, 200), "POST": signed_in(302, 302), "PUT": signed_in(200, 200)},
    "accounts/login/code/confirm/": {m: signed_in(302, 302) for m in ("GET", "POST", "PUT")},
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": {"GET": signed_in(200, 200), "POST": signed_in(404, 404)},
    "accounts/password/reset/key/done/": {"GET": signed_in(200, 200)},
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": {
        m: signed_in(200, 200) for m in ("GET", "POST", "PUT")},
    "accounts/password/reset/done/": {"GET": signed_in(200, 200)},
    "accounts/2fa/": {"GET": signed_in(LOGIN, 200)},
    "accounts/2fa/authenticate/": {"GET": signed_in(302, 302), "POST": signed_in(302, 302)},
    # Nobody here has an authenticator: changing two-factor settings asks to sign in again, or finds nothing.
    "accounts/2fa/reauthenticate/": {m: signed_in(LOGIN, 302) for m in ("GET", "POST", "PUT")},
    "accounts/2fa/totp/activate/": {m: signed_in(LOGIN, 302) for m in ("GET", "POST", "PUT")},
    "accounts/2fa/totp/deactivate/": {m: signed_in(LOGIN, 404) for m in ("GET", "POST", "PUT")},
    "accounts/2fa/recovery-codes/": {"GET": signed_in(LOGIN, 404)},
    "accounts/2fa/recovery-codes/generate/": {m: signed_in(LOGIN, 302) for m in ("GET", "POST", "PUT")},
    "accounts/2fa/recovery-codes/download/": {"GET": signed_in(LOGIN, 404)},
}

# The practice's other records (syncs/api_records.py), asked about Bright Smiles' first location: every kind is read
# by the operator and the consumer, and refused to Other Co (403: it cannot reach the subdomain).
RECORD_KINDS = ["procedures", "adjustments", "adjustment_types", "charges", "claims", "payments", "payment_types",
                "payment_plans", "insurance_plans", "insurance_coverages", "insurance_balances", "guarantor_balances",
                "fee_schedules", "fee_schedule_procedures", "recall_types", "patient_recalls", "treatment_plans",
                "clinical_notes", "document_types", "working_hour_labels", "nex_staff"]
LIST_ONLY = {"clinical_notes", "fee_schedule_procedures", "working_hour_labels", "nex_staff"}
# Their details without a subdomain (as the reference declares them): found among the key's own locations, or not.
BY_ID_ALONE = {"payment_plans", "guarantor_balances"}
for _kind in RECORD_KINDS:
    EXPECTED[f"api/{_kind}"] = {"GET": api(200, 200, 403)}
    if _kind not in LIST_ONLY:
        EXPECTED[f"api/{_kind}/<id:id>"] = {"GET": api(200, 200, 404 if _kind in BY_ID_ALONE else 403)}
# The API accepts payments and adjustments (202 with a Location): an empty body is a 400, after the scope.
EXPECTED["api/payments"]["POST"] = api(400, 400, 403)
EXPECTED["api/adjustments"]["POST"] = api(400, 400, 403)


# The support console. Staff enter; everyone else is sent to sign in there. Columns: support, superuser.
SIGNED_IN_DEVELOPERS = ["developer", "admin", "viewer", "other_admin", "consumer_admin", "practice_user",
                        "other_practice_user"]

def console(support, superuser) -> dict:
    return {**dict.fromkeys(ACTORS, ADMIN_LOGIN), "support": support, "superuser": superuser}


EXPECTED.update({
    "admin/": {"GET": console(200, 200)},
    # Signed in without staff status: a refusal, not a second sign-in.
    "admin/login/": {m: {**console(200 if m == "POST" else 302, 200 if m == "POST" else 302), **dict.fromkeys(SIGNED_IN_DEVELOPERS, 403),
                         "anonymous": LOGIN, "agent": LOGIN} for m in ("GET", "POST")},
    "admin/logout/": {"POST": everyone(302, support=200, superuser=200)},
    # Support changes its own password (as anyone can in their account), never another's.
    "admin/password_change/": {"GET": console(200, 200), "POST": console(200, 200)},
    "admin/password_change/done/": {"GET": console(200, 200)},
    "admin/autocomplete/": {"GET": console(403, 403)},  # nothing asked for
    "admin/jsi18n/": {"GET": console(200, 200)},
    "admin/^(?P<app_label>auth|account|mfa|portal|institutions|syncs)/$": {"GET": console(200, 200)},
    "admin/(?P<url>.*)$": {"GET": console(404, 404)},
    "admin/portal/user/<id>/password/": {"GET": console(403, 200), "POST": console(403, 200)},
})

# What the Support group may do with each model, and what each ModelAdmin allows anyone (superusers included): "view",
# "add", "change", "delete". Written from the README's "Support staff", not read from portal.support.
SUPPORT_MAY = {
    "auth/group": set(),
    "account/emailaddress": set(),
    "mfa/authenticator": set(),
    "portal/user": {"view"},
    "portal/organization": {"view"},
    "portal/productionaccessrequest": {"view"},  # the queue; enabling production is its action
    "portal/membership": {"view"},
    "portal/invitation": {"view"},
    "portal/auditevent": {"view"},
    "portal/outboundemail": {"view"},
    "institutions/institution": {"view"},
    "institutions/institutionaccess": {"view"},
    "institutions/location": {"view", "change"},
    "institutions/consentrequest": {"view"},
    "syncs/engineerslot": {"view", "add", "change", "delete"},
    "syncs/sync": {"view", "change"},
    "syncs/locationactivationrequest": {"view", "change"},
    "syncs/webhookendpoint": {"view", "change"},
    "syncs/webhooksubscription": {"view"},
    "syncs/webhookdelivery": {"view"},
}
ALL = {"view", "add", "change", "delete"}
# Records nobody adds, changes or deletes by hand, not even a superuser.
# An empty form saves (302) where every field is read-only or optional; elsewhere it comes back with errors (200).
SAVES_EMPTY = {"portal/productionaccessrequest", "portal/outboundemail", "syncs/webhooksubscription"}
ADMIN_ALLOWS = {
    **dict.fromkeys(SUPPORT_MAY, ALL),
    "portal/productionaccessrequest": ALL - {"add"},
    "portal/auditevent": {"view"},
    "institutions/consentrequest": {"view", "delete"},
    "syncs/sync": ALL - {"add"},
    "syncs/webhookendpoint": ALL - {"add"},
    "syncs/webhooksubscription": ALL - {"add"},
    "syncs/webhookdelivery": {"view", "delete"},
}


def model_admin_answer(may: set[str], page: str, method: str, model: str = "") -> int:
    """How Django's admin answers a staff user allowed `may` on one of a model's pages (posted forms are empty)."""
    if page in ("changelist", "history"):
        return 200 if may & {"view", "change"} else 403
    if page == "add":
        return (302 if method == "POST" and model in SAVES_EMPTY else 200) if "add" in may else 403
    if page == "change":
        if method == "GET":
            return 200 if may & {"view", "change"} else 403
        return (302 if model in SAVES_EMPTY else 200) if "change" in may else 403
    if page == "delete":
        return 200 if "delete" in may else 403
    raise AssertionError(page)


for _model in SUPPORT_MAY:
    _support, _all = SUPPORT_MAY[_model] & ADMIN_ALLOWS[_model], ADMIN_ALLOWS[_model]
    for _page, _route, _methods in [("changelist", "", ("GET", "POST")), ("add", "add/", ("GET", "POST")),
                                    ("history", "<path:object_id>/history/", ("GET",)),
                                    ("delete", "<path:object_id>/delete/", ("GET", "POST")),
                                    ("change", "<path:object_id>/change/", ("GET", "POST"))]:
        EXPECTED[f"admin/{_model}/{_route}"] = {
            m: console(model_admin_answer(_support, _page, m, _model), model_admin_answer(_all, _page, m, _model)) for m in _methods}
    # The old-style object URL redirects to the change page, for anyone: the change page decides.
    EXPECTED[f"admin/{_model}/<path:object_id>/"] = {m: everyone(302) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
EXPECTED["admin/r/<path:content_type_id>/<path:object_id>/"] = {"GET": console(404, 404)}  # syncs have no public page


# --- reading the URLconf ------------------------------------------------------------------------------------------

def url_patterns(resolver=None, prefix: str = ""):
    """(route, name, callback) for every pattern, with its full route as written in the URLconf."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern.name, pattern.callback


def declared_methods(callback) -> list[str] | None:
    """The methods a view declares: a class-based view's handlers, or require_http_methods' list (found on the chain
    of decorators through __wrapped__). None when a function view declares nothing."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return sorted(m.upper() for m in view_class.http_method_names
                      if m not in ("head", "options") and hasattr(view_class, m))
    view = callback
    while view is not None:
        code = getattr(view, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = view.__closure__[code.co_freevars.index("request_method_list")]
            return sorted(m for m in cell.cell_contents if m != "HEAD")
        view = getattr(view, "__wrapped__", None)
    return None


# Django's and allauth's own function views (admin pages and one allauth page), with the methods they serve.
FOREIGN_METHODS = {
    "admin:index": ["GET"], "admin:login": ["GET", "POST"], "admin:logout": ["POST"],
    "admin:password_change": ["GET", "POST"], "admin:password_change_done": ["GET"], "admin:autocomplete": ["GET"],
    "admin:jsi18n": ["GET"], "admin:view_on_site": ["GET"], "admin:app_list": ["GET"], "admin:": ["GET"],
    "account_email_verification_sent": ["GET"], "admin:auth_user_password_change": ["GET", "POST"],
}
OURS = ("portal", "institutions", "syncs")


def methods_of(route: str, name: str | None, callback) -> list[str] | None:
    declared = declared_methods(callback)
    if declared is not None:
        return declared
    if route.startswith("admin/"):
        for page, methods in [("_changelist", ["GET", "POST"]), ("_add", ["GET", "POST"]), ("_history", ["GET"]),
                              ("_delete", ["GET", "POST"]), ("_change", ["GET", "POST"])]:
            if name and name.endswith(page):
                return methods
        return FOREIGN_METHODS.get(f"admin:{name or ''}")
    return FOREIGN_METHODS.get(name or "")


PATTERNS = list(url_patterns())
CELLS = [(route, method, actor) for route, name, callback in PATTERNS
         for method in (methods_of(route, name, callback) or ["UNDECLARED"]) for actor in ACTORS]


def test_every_view_of_ours_declares_the_methods_it_accepts():
    undeclared = [route for route, name, callback in PATTERNS
                  if callback.__module__.split(".")[0] in OURS and declared_methods(callback) is None
                  and not route.startswith("admin/")]
    assert undeclared == []


def test_the_table_names_no_url_the_urlconf_lacks():
    routes = {route for route, _, _ in PATTERNS}
    assert sorted(set(EXPECTED) - routes) == []
    declared = {(route, method) for route, method, _ in CELLS}
    assert sorted((route, method) for route in EXPECTED for method in EXPECTED[route]
                  if (route, method) not in declared) == []


# --- the world ----------------------------------------------------------------------------------------------------

@dataclass
class World:
    sessions: dict[str, str]        # actor -> session key
    bearer: dict[str, str]          # actor -> Authorization header for /api/ and /synchronizer/
    kwargs: dict[str, dict]         # route -> URL kwargs
    query: str                      # the API's scope: Bright Smiles' subdomain and first location
    data: dict[str, dict]           # route -> posted form fields, or JSON bodies on /api/ and /synchronizer/
    snapshot_queries: list[str] = None
    before: tuple = None            # the database as built: every cell starts from it


def _api_token(raw_key: str) -> str:
    response = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw_key)
    assert response.status_code == 201, response.content
    return response.json()["data"]["token"]


def build_world() -> World:
    alice = UserFactory(email="alice@acme.example")
    acme = organization_create(name="Acme Dental Apps", admin=alice)
    bob = UserFactory(email="bob@acme.example")
    MembershipFactory(user=bob, organization=acme, role=Role.DEVELOPER)
    vera = UserFactory(email="vera@acme.example")
    MembershipFactory(user=vera, organization=acme, role=Role.VIEWER)
    carol = UserFactory(email="carol@consumer.example")
    consumer = organization_create(name="Consumer Co", admin=carol)
    olivia = UserFactory(email="olivia@other.example")
    other = organization_create(name="Other Co", admin=olivia)
    pending = organization_create(name="Pending Co", admin=UserFactory(email="paul@pending.example"))
    for organization in (acme, consumer, other, pending):
        organization_enable_production(organization=organization, actor=None)
    Membership.objects.update(test_mode=False)

    bright = Institution.objects.create(name="Bright Smiles", subdomain="bright-smiles", zip_code="78701",
                                        contact_email="it@bright.example")
    InstitutionAccess.objects.create(organization=acme, institution=bright, via=InstitutionAccess.Via.CREATED)
    InstitutionAccess.objects.create(organization=consumer, institution=bright, via=InstitutionAccess.Via.CONSENT)
    sync = SyncFactory(institution=bright)
    _set_product_key(sync, new_product_key())
    sync.save()
    first = LocationFactory(sync=sync, name="Bright North", active=True)
    LocationFactory(sync=sync, name="Bright South", active=True)
    records = {"institution": bright, "location": first, "foreign_id": "1"}
    provider = Provider.objects.create(**records, first_name="Dana", last_name="Lee")
    operatory = Operatory.objects.create(**records, name="Op 1")
    appointment_type = AppointmentType.objects.create(**records, name="Cleaning", minutes=60)
    patient = Patient.objects.create(**records, first_name="Sam", last_name="Ray")
    start = timezone.now() + timedelta(days=2)
    appointment = Appointment.objects.create(**records, patient=patient, provider=provider, operatory=operatory,
                                             start_time=start, end_time=start + timedelta(hours=1))
    job = WriteJob.objects.create(sync=sync, location=first, appointment=appointment)
    descriptor = AppointmentDescriptor.objects.create(**records, descriptor_type="Procedure Code", name="D1110")
    descriptor.appointment_types.add(appointment_type)
    descriptor.appointments.add(appointment)
    hour = WorkingHour.objects.create(**records, provider=provider, begin_time="08:00", end_time="17:00")
    alert = PatientAlert.objects.create(**records, patient=patient, note="Allergic to latex")
    document = PatientDocument(**records, patient=patient, filename="xray.txt", content_type="text/plain")
    document.file.save("xray.txt", ContentFile(b"not really an x-ray"), save=False)
    document.save()
    document_job = WriteJob.objects.create(sync=sync, location=first, kind=WriteJob.Kind.PATIENT_DOCUMENT_INSERTION,
                                           record_type=PatientDocument._meta.label, record_id=document.pk)
    # One record of every other kind, with its people where it has them.
    person = {"patient": patient, "provider": provider, "guarantor": patient}
    kinds = {}
    for kind, model, extra in [
        ("procedures", "Procedure", {}), ("adjustments", "Adjustment", {}),
        ("adjustment_types", "AdjustmentType", {"name": "Courtesy"}), ("charges", "Charge", {}),
        ("claims", "Claim", {}), ("payments", "Payment", {}), ("payment_types", "PaymentType", {"name": "Card"}),
        ("payment_plans", "PaymentPlan", {"created_date": start.date(), "first_payment_due_date": start.date()}),
        ("insurance_plans", "InsurancePlan", {}), ("insurance_coverages", "InsuranceCoverage", {}),
        ("insurance_balances", "InsuranceBalance", {}), ("guarantor_balances", "GuarantorBalance", {}),
        ("fee_schedules", "FeeSchedule", {"name": "Standard"}), ("recall_types", "RecallType", {"name": "Cleaning"}),
        ("patient_recalls", "PatientRecall", {}), ("treatment_plans", "TreatmentPlan", {}),
        ("document_types", "DocumentType", {"name": "X-ray"}),
    ]:
        model = getattr(records_of, model)
        fields = {name: value for name, value in person.items() if any(f.name == name for f in model._meta.fields)}
        kinds[kind] = model.objects.create(**records, **fields, **extra)
    records_of.FeeScheduleProcedure.objects.create(**records, fee_schedule=kinds["fee_schedules"], code="D1110")
    records_of.ClinicalNote.objects.create(**records, patient=patient, content="Healthy gums")
    records_of.WorkingHourLabel.objects.create(**records, name="Hygiene")
    records_of.StaffMember.objects.create(**records)

    far = Institution.objects.create(name="Far Dental", subdomain="far-dental")
    InstitutionAccess.objects.create(organization=other, institution=far, via=InstitutionAccess.Via.CREATED)
    far_sync = SyncFactory(institution=far, agent_token_hash=crypto.fingerprint(AGENT_TOKEN))
    LocationFactory(sync=far_sync, name="Far Main", active=True)

    pat = UserFactory(email="pat@bright.example")
    PracticeMember.objects.create(user=pat, institution=bright)
    pia = UserFactory(email="pia@far.example")
    PracticeMember.objects.create(user=pia, institution=far)
    support = UserFactory(email="sue@chairside.example", is_staff=True)
    support.groups.add(support_group_ensure())
    root = User.objects.create_superuser(email="root@chairside.example", password="correct-horse-battery")

    invitation = invitation_send(actor_membership=Membership.objects.get(user=alice), email="newbie@acme.example",
                                 role=Role.DEVELOPER)
    InstitutionAccess.objects.create(organization=pending, institution=bright, via=InstitutionAccess.Via.CONSENT,
                                     status=InstitutionAccess.Status.PENDING)
    consent = ConsentRequest.objects.create(institution=bright, organization=pending, recipient="it@bright.example",
                                            expires_at=timezone.now() + timedelta(days=14))
    practice_invitation = practice_invite(institution=bright, email="frontdesk@bright.example")
    upload = BulkUpload.objects.create(organization=acme, uploaded_by=bob, filename="practices.csv", sha256="0" * 64)
    endpoint = WebhookEndpoint(organization=acme, mode=ApiKey.Mode.PRODUCTION, target_url="https://hooks.acme.example/")
    endpoint.secret_key = "whsec_matrix"
    endpoint.save()
    subscription = WebhookSubscription.objects.create(endpoint=endpoint, institution=bright, resource_type="Appointment",
                                                      event="appointment_insertion.complete")
    WebhookDelivery.objects.create(endpoint=endpoint, subscription=subscription, event=subscription.event, payload={})
    slot_start = timezone.now() + timedelta(days=7)
    slot = EngineerSlot.objects.create(engineer="Eve", starts_at=slot_start, ends_at=slot_start + timedelta(hours=1))
    activation = LocationActivationRequest.objects.create(sync=sync, organization=acme, requested_by=bob)
    ProductionAccessRequest.objects.create(organization=pending, requester_email="paul@pending.example",
                                           company_name="Pending Co", expected_practices=3, use_case="Reminders")
    from allauth.mfa.models import Authenticator
    Authenticator.objects.create(user=User.objects.get(email="paul@pending.example"), type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00", "used_mask": 0})

    keys = {organization.pk: api_key_create(actor_membership=Membership.objects.get(user=admin, organization=organization),
                                            mode=ApiKey.Mode.PRODUCTION).raw
            for organization, admin in ((acme, alice), (consumer, carol), (other, olivia))}
    tokens = {pk: f"Bearer {_api_token(raw)}" for pk, raw in keys.items()}
    # Acme onboards a cloud practice through the API: its setup link waits for the practice's credentials.
    onboarding = onboarding_create(api_key=ApiKey.objects.get(organization=acme, mode=ApiKey.Mode.PRODUCTION),
                                   data={"emr_name": "denticon", "institution_name": "Harbor Dental",
                                         "subdomain": "harbor-dental"})

    people = {"developer": bob, "admin": alice, "viewer": vera, "other_admin": olivia, "consumer_admin": carol,
              "practice_user": pat, "other_practice_user": pia, "support": support, "superuser": root}
    sessions = {}
    for actor, user in people.items():
        client = Client()
        client.force_login(user)
        sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value
    bearer = {"developer": tokens[acme.pk], "admin": tokens[acme.pk], "viewer": tokens[acme.pk],
              "consumer_admin": tokens[consumer.pk], "other_admin": tokens[other.pk], "agent": f"Bearer {AGENT_TOKEN}"}

    kwargs = {
        "users/invitations/<uuid:public_id>/resend/": {"public_id": invitation.public_id},
        "users/invitations/<uuid:public_id>/cancel/": {"public_id": invitation.public_id},
        "users/<uuid:public_id>/role/": {"public_id": Membership.objects.get(user=bob).public_id},
        "users/<uuid:public_id>/delete/": {"public_id": Membership.objects.get(user=bob).public_id},
        "invitations/<str:token>/": {"token": invitation.token},
        "consent/<str:token>/": {"token": __import__("institutions.consent", fromlist=["x"]).consent_token(consent)},
        "practice/apps/<int:organization_id>/": {"organization_id": consumer.pk},
        "practice/join/<str:token>/": {
            "token": __import__("institutions.practice", fromlist=["x"]).practice_invitation_token(practice_invitation)},
        "api/institutions/<id:id>": {"id": bright.pk},
        "api/locations/<id:id>": {"id": first.pk},
        "api/providers/<id:id>": {"id": provider.pk},
        "api/operatories/<id:id>": {"id": operatory.pk},
        "api/appointment_types/<id:id>": {"id": appointment_type.pk},
        "api/patients/<id:id>": {"id": patient.pk},
        "api/appointments/<id:id>": {"id": appointment.pk},
        "api/webhook_endpoints/<id:id>": {"id": endpoint.pk},
        "api/webhook_endpoints/<id:id>/webhook_subscriptions": {"id": endpoint.pk},
        "api/webhook_endpoints/<id:id>/webhook_subscriptions/<id:subscription_id>": {
            "id": endpoint.pk, "subscription_id": subscription.pk},
        "onboard/<str:token>/": {"token": onboarding_token(onboarding)},
        "api/locations/<id:id>/appointment_descriptors": {"id": first.pk},
        "api/appointment_types/<id:id>/appointment_descriptors": {"id": appointment_type.pk},
        "api/appointments/<id:id>/appointment_descriptors": {"id": appointment.pk},
        "api/patients/<id:id>/documents": {"id": patient.pk},
        "api/patients/<id:id>/documents/<id:document_id>/file": {"id": patient.pk, "document_id": document.pk},
        "api/patients/<id:id>/alerts": {"id": patient.pk},
        "api/patients/<id:id>/alerts/<id:alert_id>": {"id": patient.pk, "alert_id": alert.pk},
        "api/working_hours/<id:id>": {"id": hour.pk},
        **{f"api/{kind}/<id:id>": {"id": record.pk} for kind, record in kinds.items()},
        "api/onboardings/<slug:hashid>": {"hashid": onboarding.public_id},
        "api/^(?P<path>.*)$": {"path": "nothing-here"},
        "synchronizer/v1/write_jobs/<uuid:job_id>": {"job_id": job.public_id},
        "synchronizer/v1/write_jobs/<uuid:job_id>/file": {"job_id": document_job.public_id},
        "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": {"key": "not-a-key"},
        "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": {"uidb36": "1", "key": "not-a-key"},
        "admin/portal/user/<id>/password/": {"id": bob.pk},
        "admin/r/<path:content_type_id>/<path:object_id>/": {
            "content_type_id": __import__("django.contrib.contenttypes.models", fromlist=["x"])
            .ContentType.objects.get_for_model(sync.__class__).pk, "object_id": sync.pk},
        "admin/^(?P<app_label>auth|account|mfa|portal|institutions|syncs)/$": {"app_label": "syncs"},
        "admin/(?P<url>.*)$": {"url": "nothing-here/"},
    }
    for route in EXPECTED:
        if "<slug:subdomain>" in route:
            kwargs[route] = {"subdomain": bright.subdomain}
        elif route.startswith("syncs/<str:code>"):
            kwargs[route] = {"code": sync.code}
        elif route.startswith("institutions/upload/<uuid:public_id>"):
            kwargs[route] = {"public_id": upload.public_id}
    for model_admin in admin.site._registry.values():
        label = f"{model_admin.model._meta.app_label}/{model_admin.model._meta.model_name}"
        first_row = model_admin.model._default_manager.order_by("pk").first()
        assert first_row is not None, f"the world has no {label} for the admin's pages"
        for page in ("<path:object_id>/history/", "<path:object_id>/delete/", "<path:object_id>/change/",
                     "<path:object_id>/"):
            kwargs[f"admin/{label}/{page}"] = {"object_id": first_row.pk}

    data = {
        "mode/": {"test_mode": "on"},
        "organization/": {"organization": str(acme.public_id)},
        "users/security/": {"require_mfa": "on"},
        "users/invite/": {"email": "mallory@evil.example", "role": "admin"},
        "users/<uuid:public_id>/role/": {"role": "admin"},
        "api-keys/": {"mode": "sandbox"},
        "production-access/": {"company_name": "Acme", "expected_practices": "5", "use_case": "Reminders"},
        "consent/<str:token>/": {"decision": "approve"},
        "practice/apps/": {"email": "mallory@evil.example"},
        "practice/apps/<int:organization_id>/": {"decision": "revoke"},
        "institutions/new/": {"name": "Sneaky Dental"},
        "institutions/upload/<uuid:public_id>/confirm/": {},
        "institutions/<slug:subdomain>/deactivate/": {"scope": "institution", "confirm_name": "Bright Smiles"},
        "institutions/<slug:subdomain>/syncs/new/": {"system": "opendental"},
        "syncs/<str:code>/instructions/": {"email": "mallory@evil.example"},
        "syncs/<str:code>/downtime/": {"downtime_schedule": "nights"},
        "syncs/<str:code>/schedule/": {"slot_id": str(slot.pk)},
        "accounts/login/": {"login": "alice@acme.example", "password": "wrong"},
        "accounts/password/reset/": {"email": "alice@acme.example"},
        "api/appointments?": f"&start={timezone.now().isoformat()}&end={(timezone.now() + timedelta(days=7)).isoformat()}"
                             .replace("+", "%2B"),
        "synchronizer/v1/write_jobs/<uuid:job_id>": {"status": "failed", "error": "The chair was taken"},
        "onboard/<str:token>/": {"username": "chairside", "password": "a-long-secret"},
        "api/patients/<id:id>/documents": {"document_type_id": str(kinds["document_types"].pk)},  # and no file
    }
    del activation
    return World(sessions=sessions, bearer=bearer, kwargs=kwargs, data=data,
                 query=f"subdomain={bright.subdomain}&location_id={first.pk}")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at the end; each cell runs in a savepoint."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            built = build_world()
            built.snapshot_queries = _snapshot_queries()
            # Each cell starts with an empty outbox (pytest-django clears it per test); so does the reference point,
            # whatever the test that ran before this module left in it.
            mail.outbox = []
            built.before = snapshot(built.snapshot_queries)
            yield built
            transaction.set_rollback(True)


# --- the cells ----------------------------------------------------------------------------------------------------

# Tables whose content a refused write must leave exactly as it was (every table's row count is compared too).
WATCHED = ["portal.Organization", "portal.Membership", "portal.Invitation", "portal.User", "portal.ApiKey",
           "institutions.Institution", "institutions.InstitutionAccess", "institutions.Location",
           "institutions.LocationDeactivation", "institutions.ConsentRequest", "institutions.PracticeMember",
           "institutions.BulkUpload", "syncs.Sync", "syncs.EngineerSlot", "syncs.Appointment", "syncs.AppointmentType",
           "syncs.Patient", "syncs.WriteJob", "syncs.WebhookEndpoint", "syncs.WebhookSubscription",
           "syncs.WorkingHour", "syncs.PatientAlert", "syncs.PatientDocument", "syncs.Onboarding",
           "auth.Group", "account.EmailAddress"]
VOLATILE = {"portal.ApiKey": {"last_used_at"}, "portal.User": {"last_login"}}
UNCOUNTED = {"django_session"}


def _snapshot_queries() -> list[str]:
    """One query counting every table's rows, then one per watched table selecting its content (raw SQL: fast)."""
    quote = connection.ops.quote_name
    tables = sorted(set(connection.introspection.table_names()) - UNCOUNTED)
    queries = [" UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {quote(t)}" for t in tables)]
    for label in WATCHED:
        model = apps.get_model(label)
        columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields
                            if f.attname not in VOLATILE.get(label, set()))
        queries.append(f"SELECT {columns} FROM {quote(model._meta.db_table)} ORDER BY {quote(model._meta.pk.column)}")
    return queries


def snapshot(queries: list[str]) -> tuple:
    """A digest per query (the first counts every table's rows), so a failure names what changed."""
    digests = []
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute(query)
            # UNION ALL promises no order: once the planner runs the counts as a parallel append (after the rest of the
            # suite has grown the tables) they arrive shuffled, so the counts are compared sorted.
            rows = sorted(cursor.fetchall()) if "UNION" in query else cursor.fetchall()
            digests.append((query.split(" FROM ")[1].split()[0] if query.startswith("SELECT ") and "UNION" not in query
                            else "row counts", hashlib.sha256(repr(rows).encode()).hexdigest()[:12],
                            rows if "UNION" in query else len(rows)))
    return tuple(digests), len(mail.outbox)


# API uploads are multipart forms, never JSON.
MULTIPART = {"api/patients/<id:id>/documents"}


def request_for(world: World, route: str, method: str, actor: str):
    from django.urls import reverse

    name = next(name for r, name, _ in PATTERNS if r == route)
    namespace = "admin:" if route.startswith("admin/") else ("institutions:" if route.startswith("institutions/")
                                                             else "syncs:" if route.startswith("syncs/") else "")
    kwargs = world.kwargs.get(route, {})
    if name:
        url = reverse(namespace + name, kwargs=kwargs)
    else:  # unnamed patterns (catch-alls and the admin's object redirects): fill the route by hand
        url = "/" + route
        for key, value in kwargs.items():
            url = url.replace(f"<path:{key}>", str(value))
        url = url.replace("^(?P<path>.*)$", kwargs.get("path", "")).replace("(?P<url>.*)$", kwargs.get("url", ""))
    client = Client()
    if actor in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
    headers = {}
    if route.startswith(("api/", "synchronizer/")):
        headers["HTTP_NEX_API_VERSION"] = "v20240412"
        if actor in world.bearer:
            headers["HTTP_AUTHORIZATION"] = world.bearer[actor]
        if route.startswith("api/"):
            url += "?" + world.query + world.data.get(f"{route}?", "")
        if route in MULTIPART and method == "POST":
            return client.post(url, world.data.get(route, {}), **headers)
        if method != "GET" and not (route.startswith("api/") and method == "DELETE"):
            body = json.dumps(world.data.get(route, {}))
            return getattr(client, method.lower())(url, body, content_type="application/json", **headers)
    if method == "POST":
        return client.post(url, world.data.get(route, {}), **headers)
    return getattr(client, method.lower())(url, **headers)


def check(response, expected) -> None:
    location = response.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302 and location.startswith("/accounts/login/"), (response.status_code, location)
    elif expected == APPS:
        assert response.status_code == 302 and location == "/practice/apps/", (response.status_code, location)
    elif expected == ADMIN_LOGIN:
        assert response.status_code == 302 and location.startswith("/admin/login/"), (response.status_code, location)
    elif expected == KEPT:
        assert response.status_code == 302, response.status_code
    else:
        assert response.status_code == expected, (response.status_code, location)


@pytest.mark.parametrize(("route", "method", "actor"), CELLS, ids=[f"{m} /{r} as {a}" for r, m, a in CELLS])
def test_cell(world, db, route, method, actor):
    assert route in EXPECTED, f"/{route} is not in the authorization table: say who may do what there"
    assert method in EXPECTED[route], f"{method} /{route} is not in the authorization table (or its view accepts it)"
    expected = EXPECTED[route][method][actor]
    refused_write = method in WRITES and expected in REFUSALS

    response = request_for(world, route, method, actor)

    check(response, expected)
    if refused_write:
        assert snapshot(world.snapshot_queries) == world.before, "a refused write changed the database"


def test_the_snapshot_sees_an_allowed_write(world, db):
    """The refusals' "nothing changed" could not fail if the snapshot missed writes: the admin's downtime change shows."""
    response = request_for(world, "syncs/<str:code>/downtime/", "POST", "admin")

    assert response.status_code == 302
    assert snapshot(world.snapshot_queries) != world.before


def test_the_matrix_covers_every_actor_and_hundreds_of_urls():
    assert {actor for _, _, actor in CELLS} == set(ACTORS)
    assert len({route for route, _, _ in CELLS}) > 200
