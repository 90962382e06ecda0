"""Is this practice already live with the Synchronizer? Then the developer requests access instead of installing.

A match is an institution with an active sync that the organization does not reach yet, and that shares with
the candidate:

- the same normalized name (lowercase, no punctuation, without words like "dental", "dds", "pc", "llc", "the")
  and the same ZIP code (first five digits) or street address;
- or the same phone number;
- or the same email or website domain (free mail domains and shared site hosts such as gmail.com or
  facebook.com say nothing about the practice and are ignored).

One query per call (per 500 candidates for `find_matches_many`): SQL narrows the live institutions down to
those sharing a ZIP code, phone, domain or street with a candidate (IN lists only, no per-candidate LIKE);
Python compares the rest.
"""

import operator
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from urllib.parse import urlsplit

from django import forms
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Concat, Left, Lower, Replace, StrIndex, Substr

from institutions.validators import normalize_phone
from institutions.models import Institution, InstitutionAccess
from portal.models import Organization
from syncs.models import Sync, SyncStatus

NAME_NOISE = frozenset("""
    the a an and of at on in
    dental dentistry dentist dentists dds dmd md pc pllc llc llp lp inc incorporated co corp corporation ltd pa
    office offices practice group associates assoc
""".split())
STREET_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "boulevard": "blvd", "lane": "ln",
    "court": "ct", "place": "pl", "parkway": "pkwy", "highway": "hwy", "suite": "ste", "north": "n", "south": "s",
    "east": "e", "west": "w", "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
    "circle": "cir", "terrace": "ter", "square": "sq", "building": "bldg", "floor": "fl", "apartment": "apt",
}
FREE_MAIL_DOMAINS = frozenset("""
    gmail.com googlemail.com yahoo.com ymail.com rocketmail.com hotmail.com outlook.com live.com msn.com aol.com
    icloud.com me.com mac.com protonmail.com proton.me pm.me gmx.com gmx.us mail.com zoho.com yandex.com
    comcast.net att.net sbcglobal.net verizon.net bellsouth.net cox.net charter.net earthlink.net optonline.net
    frontier.com windstream.net centurylink.net q.com
""".split())
SHARED_SITE_HOSTS = frozenset("""
    facebook.com m.facebook.com fb.com instagram.com linkedin.com twitter.com x.com youtube.com google.com
    sites.google.com goo.gl business.site wixsite.com weebly.com squarespace.com godaddysites.com wordpress.com
    yelp.com healthgrades.com zocdoc.com linktr.ee example.com
""".split())
CHUNK = 500  # candidates per query (a few thousand parameters at most)


@dataclass(frozen=True)
class Match:
    """A live institution the candidate may be, and why we think so (in words, for the developer)."""

    institution: Institution
    reasons: tuple[str, ...]
    access_pending: bool = False  # the organization already asked this practice for access

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def as_dict(self) -> dict:
        """JSON-safe, for storing with a CSV row."""
        institution = self.institution
        return {"institution_id": institution.pk, "subdomain": institution.subdomain, "name": institution.name,
                "city": institution.city,
                "state": institution.state, "reasons": list(self.reasons), "access_pending": self.access_pending}


def normalize_name(name: str) -> str:
    """'The Bright Smiles Dental, P.C.' -> 'bright smiles'."""
    words = _words(name)
    return " ".join(word for word in words if word not in NAME_NOISE)


def normalize_street(street: str) -> str:
    """'12 Main Street, Suite 4' -> '12 main st ste 4'."""
    return " ".join(STREET_WORDS.get(word, word) for word in _words(street))


def zip5(zip_code: str) -> str:
    digits = re.sub(r"\D", "", zip_code or "")
    return digits[:5] if len(digits) >= 5 else ""


def phone_digits(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except forms.ValidationError:
        return ""


def format_phone(digits: str) -> str:
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def email_domain(email: str) -> str:
    _, at, domain = (email or "").strip().lower().rpartition("@")
    domain = domain.strip().rstrip(".")
    return domain if at and "." in domain and domain not in FREE_MAIL_DOMAINS else ""


def website_domain(website: str) -> str:
    """'https://www.BrightSmiles.com/contact' -> 'brightsmiles.com'; shared hosts (facebook.com, ...) -> ''."""
    website = (website or "").strip().lower()
    if not website:
        return ""
    if "://" not in website:
        website = "https://" + website
    try:
        host = urlsplit(website).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".").removeprefix("www.")
    if "." not in host or host in SHARED_SITE_HOSTS or host in FREE_MAIL_DOMAINS:
        return ""
    return host


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower().replace("&", " and ")
    text = re.sub(r"[.\u2019']", "", text)  # "P.C." -> "pc", "O'Neil" -> "oneil"
    return re.findall(r"[a-z0-9]+", text)


def street_keys(street: str) -> set[str]:
    """How the street may be stored, lowercased without dots and commas: as typed, abbreviated and spelled out.

    SQL compares these with the stored street (one IN), so a name and street match is found without a scan per
    candidate; Python then compares the normalized streets.
    """
    words = _words(street)
    if not words:
        return set()
    plain = re.sub(r"[.,]", "", " ".join((street or "").lower().split()))
    return {plain, " ".join(STREET_WORDS.get(w, w) for w in words), " ".join(SPELLED_OUT.get(w, w) for w in words)}


SPELLED_OUT = {short: long for long, short in STREET_WORDS.items() if long not in ("av",)}


@dataclass
class _Candidate:
    name: str
    street: str
    zip: str
    phone: str
    email_domain: str
    site_domain: str
    street_keys: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, data: Mapping) -> "_Candidate":
        name = normalize_name(data.get("name") or data.get("institution_name") or "")
        street = data.get("street_address", "")
        return cls(name=name, street=normalize_street(street),
                   zip=zip5(data.get("zip_code", "")), phone=phone_digits(data.get("phone_number", "")),
                   email_domain=email_domain(data.get("email", "")), site_domain=website_domain(data.get("website", "")),
                   street_keys=street_keys(street) if name else set())

    def reasons_against(self, institution: Institution) -> list[str]:
        reasons = []
        if self.name and self.name == normalize_name(institution.name):
            if self.zip and self.zip == zip5(institution.zip_code):
                reasons.append("Same name and ZIP code")
            elif self.street and self.street == normalize_street(institution.street_address):
                reasons.append("Same name and street address")
        if self.phone and self.phone == phone_digits(institution.phone_number):
            reasons.append(f"Same phone number {format_phone(self.phone)}")
        their_domains = {email_domain(institution.email), website_domain(institution.website)} - {""}
        if self.site_domain and self.site_domain in their_domains:
            reasons.append(f"Same website domain {self.site_domain}")
        if self.email_domain and self.email_domain in their_domains and self.email_domain != self.site_domain:
            reasons.append(f"Same email domain {self.email_domain}")
        return reasons


def find_matches(*, organization: Organization, name: str, street_address: str, zip_code: str, phone_number: str,
                 email: str, website: str) -> list[Match]:
    """Live institutions (an active sync) this organization does not reach yet that look like this practice.

    Best match first. One query.
    """
    return find_matches_many(organization=organization, candidates=[{
        "name": name, "street_address": street_address, "zip_code": zip_code, "phone_number": phone_number,
        "email": email, "website": website}])[0]


def find_matches_many(*, organization: Organization, candidates: Sequence[Mapping]) -> list[list[Match]]:
    """`find_matches` for many practices at once (a CSV upload): one query per 500 candidates.

    Each candidate is a mapping with name (or institution_name), street_address, zip_code, phone_number, email,
    website; the result lists each candidate's matches in the same order.
    """
    results: list[list[Match]] = []
    for start in range(0, len(candidates), CHUNK):
        results.extend(_match_chunk(organization, [_Candidate.of(c) for c in candidates[start:start + CHUNK]]))
    return results


def _match_chunk(organization: Organization, chunk: list[_Candidate]) -> list[list[Match]]:
    zips = {c.zip for c in chunk if c.zip}
    phones = {c.phone for c in chunk if c.phone}
    domains = {d for c in chunk for d in (c.email_domain, c.site_domain) if d}
    streets = {key for c in chunk for key in c.street_keys}
    conditions = []
    if zips:
        conditions.append(Q(zip5__in=zips))
    if phones:
        conditions.append(Q(phone_number__in=phones))
    if domains:
        hosts = domains | {f"www.{d}" for d in domains}
        conditions.append(Q(mail_domain__in=domains) | Q(site_host__in=hosts))
    if streets:  # same name and street when the ZIP differs (a typo, a move within the city)
        conditions.append(Q(street_key__in=streets))
    if not conditions:
        return [[] for _ in chunk]
    prefilter = reduce(operator.or_, conditions)

    # Starts from the live ones (IN, not a correlated EXISTS: SQLite would scan every institution for it).
    live = Sync.objects.filter(status=SyncStatus.ACTIVE).values("institution_id")
    reached = InstitutionAccess.objects.filter(organization=organization, status=InstitutionAccess.Status.ACTIVE)
    pending = InstitutionAccess.objects.filter(organization=organization, institution=OuterRef("pk"),
                                               status=InstitutionAccess.Status.PENDING)
    institutions = list(
        Institution.objects.filter(pk__in=live, is_sandbox=False)
        .exclude(pk__in=reached.values("institution_id"))
        .annotate(
            zip5=Left("zip_code", 5),
            mail_domain=Lower(Substr("email", StrIndex("email", Value("@")) + 1)),
            site_host=_site_host_expression(),
            street_key=Replace(Replace(Lower("street_address"), Value("."), Value("")), Value(","), Value("")),
            access_pending=Exists(pending),
        )
        .filter(prefilter)
        .order_by()
        .only("pk", "name", "subdomain", "street_address", "city", "state", "zip_code", "phone_number", "email",
              "website")
    )
    matches = []
    for candidate in chunk:
        found = []
        for institution in institutions:
            reasons = candidate.reasons_against(institution)
            if reasons:
                found.append(Match(institution=institution, reasons=tuple(reasons),
                                   access_pending=institution.access_pending))
        found.sort(key=lambda m: (-len(m.reasons), m.institution.name.lower(), m.institution.pk))
        matches.append(found)
    return matches


def _site_host_expression():
    """lower(website) without the scheme and anything after the host: 'https://www.a.com/x' -> 'www.a.com'."""
    bare = Replace(Replace(Lower(F("website")), Value("https://"), Value("")), Value("http://"), Value(""))
    return Left(bare, StrIndex(Concat(bare, Value("/")), Value("/")) - 1)
