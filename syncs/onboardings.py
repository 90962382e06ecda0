"""Onboardings through the API (POST /onboardings): an institution and its sync made in one call, and a setup link
for the practice's contact.

The link is a signed single-use link (portal.signed_links), expires after
LINK_TTL and is single use: the first practice-side step taken through it (credentials submitted, an install
slot booked) spends it. For a self-installer it shows the product key until the Synchronizer activates with
it; the key itself activates once. Nothing an operator's admin reserves (selecting locations, deactivating,
reading credentials) is reachable through it.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from institutions.models import Institution, InstitutionAccess
from institutions.services import institution_create, subdomain_for
from portal.signed_links import link_head, link_matches, link_token
from portal.models import ApiKey
from portal.audit import audit_record
from portal.emails import absolute_url
from syncs import scheduling, services
from syncs.catalog import SYNC_OPTIONS
from syncs.models import Onboarding, Sync, SyncStatus

LINK_TTL = timedelta(days=7)
# The reference's emr_name values; those Chairside has no Synchronizer for are refused.
EMR_NAMES = ["athena", "curve2", "cloud9", "denticon", "dentrix", "dentrixascend", "drchrono", "eaglesoft", "ecw",
             "modmed", "nextgen", "opendental"]


class LinkInvalid(Exception):
    def __init__(self, reason: str, title: str = "This link can't be used") -> None:
        super().__init__(reason)
        self.reason, self.title = reason, title


def onboarding_token(onboarding: Onboarding) -> str:
    return link_token("onboarding", onboarding.public_id, onboarding.link_nonce)


def onboarding_url(onboarding: Onboarding) -> str:
    return absolute_url(reverse("onboarding_practice", args=[onboarding_token(onboarding)]))


def onboarding_for_token(token: str) -> Onboarding:
    # An onboarding's public id is a 16-character string, not a UUID: the link's head is the id itself.
    public_id = link_head(token)
    onboarding = (Onboarding.objects.select_related("sync__institution", "organization", "created_by")
                  .filter(public_id=public_id[:16]).first())
    if onboarding is None or not link_matches("onboarding", token, public_id=onboarding.public_id,
                                              nonce=onboarding.link_nonce):
        raise LinkInvalid("We couldn't find this setup link. Check that you copied the whole link.")
    if onboarding.link_used_at is not None:
        raise LinkInvalid("This setup link was already used. Ask the developer who sent it for a new one.",
                          title="Already used")
    if timezone.now() >= onboarding.link_expires_at:
        raise LinkInvalid("This setup link expired. Ask the developer who sent it for a new one.", title="Link expired")
    return onboarding


@transaction.atomic
def onboarding_create(*, api_key: ApiKey, data: dict) -> Onboarding:
    """The institution (in the key's mode), its sync for `emr_name`, and the link. Raises ValidationError."""
    organization = api_key.organization
    option = SYNC_OPTIONS.get(data["emr_name"])
    if option is None:
        raise ValidationError({"onboarding.emr_name": f"Chairside has no Synchronizer for {data['emr_name']} yet."})
    actor = api_key.created_by
    fields = {"name": data["institution_name"], "zip_code": data.get("institution_zip_code", ""),
              "email": data.get("institution_email", ""), "contact_email": data.get("institution_email", ""),
              "website": data.get("institution_website", "")}
    subdomain = data.get("subdomain")
    if subdomain and Institution.objects.filter(subdomain=subdomain).exists():
        raise ValidationError({"onboarding.subdomain": f"The subdomain '{subdomain}' is taken."})
    if api_key.mode == ApiKey.Mode.SANDBOX:
        # A sandbox key onboards a sandbox practice: same flow, nothing real behind it.
        institution = Institution.objects.create(subdomain=subdomain_for(fields["name"]), is_sandbox=True, **fields)
        InstitutionAccess.objects.create(organization=organization, institution=institution,
                                         via=InstitutionAccess.Via.CREATED)
    else:
        institution = institution_create(organization=organization, actor=actor, data=fields)
    if subdomain:
        Institution.objects.filter(pk=institution.pk).update(subdomain=subdomain)
        institution.subdomain = subdomain
    sync = services.sync_create(institution=institution, option_key=option.key, actor=actor, organization=organization)
    onboarding = Onboarding.objects.create(organization=organization, sync=sync, emr_name=data["emr_name"],
                                           created_by=actor, link_expires_at=timezone.now() + LINK_TTL)
    audit_record(verb="onboarding.created", actor=actor, organization=organization, target=institution,
                 details={"onboarding": onboarding.public_id, "emr_name": data["emr_name"], "api_key": api_key.lookup})
    return onboarding


def _spend(onboarding: Onboarding) -> None:
    """Single use: one conditional UPDATE, so two submissions of one link cannot both go through."""
    if not Onboarding.objects.filter(pk=onboarding.pk, link_used_at__isnull=True).update(link_used_at=timezone.now()):
        raise LinkInvalid("This setup link was already used.", title="Already used")


@transaction.atomic
def onboarding_submit_credentials(*, onboarding: Onboarding, credentials: dict, ip: str | None = None) -> None:
    _spend(onboarding)
    services.sync_submit_credentials(sync=onboarding.sync, credentials=credentials, actor=None,
                                     organization=onboarding.organization, ip=ip)


@transaction.atomic
def onboarding_book_slot(*, onboarding: Onboarding, slot_id: int, ip: str | None = None) -> None:
    if onboarding.created_by is None:
        raise ValidationError("The developer's account is gone: ask them to book the installation.")
    _spend(onboarding)
    # The confirmation goes to the developer who onboarded the practice, as for bookings made in the portal.
    scheduling.slot_book(sync=onboarding.sync, slot_id=slot_id, actor=onboarding.created_by,
                         organization=onboarding.organization, ip=ip)


def practice_step(sync: Sync) -> str:
    """What the practice can do through the link now: install, credentials, schedule, or nothing (done)."""
    if sync.status == SyncStatus.AWAITING_INSTALL:
        return "install"
    if sync.status in (SyncStatus.AWAITING_CREDENTIALS, SyncStatus.CREDENTIAL_ERROR):
        return "credentials"
    if sync.status == SyncStatus.AWAITING_SCHEDULE:
        return "schedule"
    return ""
