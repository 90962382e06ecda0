"""The health record systems the Synchronizer supports (data, not tables), from the installation guide.

`name` is what the API returns as `emr.name`, what CSV uploads and the agent use: NexHealth's name
where it has one, ours for the rest.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    kind: str = "text"  # text, password, url, textarea
    help: str = ""
    url_hint: str = ""  # for url fields: what a valid address looks like
    url_host_suffixes: tuple[str, ...] = ()  # for url fields: accepted host names end with one of these


@dataclass(frozen=True)
class Ehr:
    name: str
    label: str
    hosting: str  # "server" or "cloud"
    install_path: str  # "self_installer", "scheduled" or "cloud"
    versions: str
    extension_version: str = ""
    role_guidance: str = ""
    credential_fields: tuple[CredentialField, ...] = field(default_factory=tuple)

    @property
    def emr_type(self) -> str:
        return "cloud" if self.hosting == "cloud" else "onprem"


USERNAME = CredentialField("username", "Username", help="A dedicated user that only Chairside uses.")
PASSWORD = CredentialField("password", "Password", kind="password",
                           help="Test it by signing in once before you submit. We may change it for security.")


def _url(hint: str, *suffixes: str) -> CredentialField:
    return CredentialField("ehr_url", "Practice's web address", kind="url", help=f"For example {hint}",
                           url_hint=hint, url_host_suffixes=suffixes)


CATALOG: dict[str, Ehr] = {
    ehr.name: ehr
    for ehr in [
        Ehr("dentrix", "Dentrix", "server", "self_installer", "G6.2+"),
        Ehr("eaglesoft", "Eaglesoft", "server", "self_installer", "18+ (includes n-site)"),
        Ehr("opendental", "Open Dental", "server", "self_installer", "V17+ (includes multi-clinic)"),
        Ehr("dentrix_enterprise", "Dentrix Enterprise", "server", "scheduled", "All (server)"),
        Ehr("dolphin", "Dolphin", "server", "scheduled", "All local, server only (includes multi-clinic)"),
        Ehr("practiceworks", "PracticeWorks", "server", "scheduled", "All local, server only"),
        Ehr("orthotrac", "OrthoTrac", "server", "scheduled", "All local, server only (includes multi-clinic)"),
        Ehr("athena", "athenahealth", "cloud", "cloud", "All (cloud)", "v6",
            "Give the user every role (Roles > edit roles > Select All), or at least all schedule admin, "
            "department, provider and patient chart roles.", (USERNAME, PASSWORD)),
        Ehr("curve2", "Curve Hero", "cloud", "cloud", "All (cloud)", "v2", "Role: Office Manager.",
            (_url("https://practicename.curvehero.com", ".curvehero.com"), USERNAME, PASSWORD)),
        Ehr("cloud9", "Cloud9", "cloud", "cloud", "All (cloud)", "v7",
            "Give the user every role, or at least all schedule admin, department, provider and patient chart roles.",
            (USERNAME, PASSWORD,
             CredentialField("unavailable_appointment_classes", "Appointment classes that mean unavailable time",
                             kind="textarea", help="One per line, e.g. Break. Needed for online booking."),
             CredentialField("default_appointment_type", "Default appointment type",
                             help="Used for insertions that name no appointment type; Cloud9 refuses appointments without one."))),
        Ehr("denticon", "Denticon", "cloud", "cloud", "All (cloud)", "v1", "Group: Office Manager.", (USERNAME, PASSWORD)),
        Ehr("dentrixascend", "Dentrix Ascend", "cloud", "cloud", "All (cloud)", "v3", "Role: Receptionist.",
            (_url("https://live.dentrixascend.com/login", "dentrixascend.com"),
             CredentialField("organization_alias", "Organization alias (ORG ID)"), USERNAME, PASSWORD)),
        Ehr("ecw", "eClinicalWorks", "cloud", "cloud", "v11.53+ (cloud; on-prem not supported)", "v4",
            "User type: Staff, with Patient Lookup, Create New Patient and Delete Appointment. "
            "Set “Enforce eCW URL Launcher for Login” to false.",
            (_url("https://practicename.eclinicalweb.com", ".eclinicalweb.com"), USERNAME, PASSWORD)),
        Ehr("modmed", "ModMed", "cloud", "cloud", "All (cloud)", "",
            "Two users: Clinical (Schedule, Appt Flow, Patients, Document Management) and Management "
            "(Practice Settings with Audit Event Logs, Clipboard / Kiosk / Portal Settings, Practice Management Settings).",
            (CredentialField("clinical_username", "Clinical user: username"),
             CredentialField("clinical_password", "Clinical user: password", kind="password"),
             CredentialField("management_username", "Management user: username"),
             CredentialField("management_password", "Management user: password", kind="password"),
             CredentialField("default_appointment_type", "Default appointment type",
                             help="ModMed refuses appointments without a type; this one is used when none is given."))),
    ]
}
EHR_CHOICES = [(ehr.name, ehr.label) for ehr in CATALOG.values()]


@dataclass(frozen=True)
class SyncOption:
    """One choice on the Create sync page: a system, and how it is installed."""

    key: str
    ehr: Ehr
    install_path: str
    label: str
    note: str


_PATH_NOTES = {
    "self_installer": "You get a product key; the practice's IT runs our installer on the server.",
    "scheduled": "You book an hour with a Chairside engineer, who installs the Synchronizer with the practice's IT.",
    "cloud": "You submit a dedicated user's credentials; we install, then staff add the browser extension.",
}

SYNC_OPTIONS: dict[str, SyncOption] = {
    option.key: option
    for option in [
        *(SyncOption(ehr.name, ehr, ehr.install_path, ehr.label, _PATH_NOTES[ehr.install_path]) for ehr in CATALOG.values()),
        SyncOption("opendental_middle_tier", CATALOG["opendental"], "scheduled", "Open Dental (middle-tier)",
                   "Middle-tier setups need a scheduled install with a Chairside engineer."),
    ]
}
