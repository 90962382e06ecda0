"""The health record systems the Synchronizer supports (data, not tables).

`name` is what the API returns as `emr.name`, what CSV uploads and the agent use: NexHealth's name
where it has one, ours for the rest.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Ehr:
    name: str
    label: str
    hosting: str  # "server" or "cloud"
    install_path: str  # "self_installer", "scheduled" or "cloud"

    @property
    def emr_type(self) -> str:
        return "cloud" if self.hosting == "cloud" else "onprem"


CATALOG: dict[str, Ehr] = {
    ehr.name: ehr
    for ehr in [
        Ehr("dentrix", "Dentrix", "server", "self_installer"),
        Ehr("eaglesoft", "Eaglesoft", "server", "self_installer"),
        Ehr("opendental", "Open Dental", "server", "self_installer"),
        Ehr("dentrix_enterprise", "Dentrix Enterprise", "server", "scheduled"),
        Ehr("dolphin", "Dolphin", "server", "scheduled"),
        Ehr("practiceworks", "PracticeWorks", "server", "scheduled"),
        Ehr("orthotrac", "OrthoTrac", "server", "scheduled"),
        Ehr("athena", "athenahealth", "cloud", "cloud"),
        Ehr("curve2", "Curve Hero", "cloud", "cloud"),
        Ehr("cloud9", "Cloud9", "cloud", "cloud"),
        Ehr("denticon", "Denticon", "cloud", "cloud"),
        Ehr("dentrixascend", "Dentrix Ascend", "cloud", "cloud"),
        Ehr("ecw", "eClinicalWorks", "cloud", "cloud"),
        Ehr("modmed", "ModMed", "cloud", "cloud"),
    ]
}
EHR_CHOICES = [(ehr.name, ehr.label) for ehr in CATALOG.values()]
