from urllib.parse import urlsplit

from django import forms

from syncs.catalog import SYNC_OPTIONS, CredentialField, Ehr
from syncs.models import DowntimeSchedule


class CreateSyncForm(forms.Form):
    system = forms.ChoiceField(label="Health record system", choices=[(k, o.label) for k, o in SYNC_OPTIONS.items()],
                               widget=forms.RadioSelect, error_messages={"required": "Choose the practice's health record system."})


class InstructionsEmailForm(forms.Form):
    email = forms.EmailField(label="IT contact's email", help_text="They get the installer steps and this sync's product key.")


def _url_validator(spec: CredentialField):
    def validate(value: str) -> None:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not any(host == s.lstrip(".") or host.endswith(s) for s in spec.url_host_suffixes):
            raise forms.ValidationError(f"Enter the practice's own address, like {spec.url_hint}.")
    return validate


def credentials_form_class(ehr: Ehr) -> type[forms.Form]:
    """A form with exactly the fields this cloud system needs (from the catalog)."""
    fields: dict[str, forms.Field] = {}
    for spec in ehr.credential_fields:
        if spec.kind == "url":
            field = forms.URLField(label=spec.label, help_text=spec.help, assume_scheme="https",
                                   validators=[_url_validator(spec)])
        elif spec.kind == "password":
            field = forms.CharField(label=spec.label, help_text=spec.help, max_length=200, strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
        elif spec.kind == "textarea":
            field = forms.CharField(label=spec.label, help_text=spec.help, max_length=2000, required=False,
                                    widget=forms.Textarea(attrs={"rows": 3}))
        else:
            field = forms.CharField(label=spec.label, help_text=spec.help, max_length=200)
        fields[spec.name] = field
    return type(f"{ehr.name.title()}CredentialsForm", (forms.Form,), fields)


class SelectLocationsForm(forms.Form):
    locations = forms.MultipleChoiceField(label="Locations to sync", widget=forms.CheckboxSelectMultiple,
                                          error_messages={"required": "Select at least one location."})

    def __init__(self, *args, sync, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["locations"].choices = [
            (str(loc.pk), f"{loc.name} — {loc.street_address}, {loc.city}") for loc in sync.locations.order_by("name")
        ]


class DowntimeForm(forms.Form):
    downtime_schedule = forms.ChoiceField(label="Expected downtime", choices=DowntimeSchedule.choices,
                                          help_text="In the practice's time zone. Gaps inside it show as expected downtime and don't alert.")


class ActivateLocationsForm(forms.Form):
    locations = forms.MultipleChoiceField(label="Locations to activate", widget=forms.CheckboxSelectMultiple,
                                          error_messages={"required": "Select at least one location to activate."})

    def __init__(self, *args, locations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["locations"].choices = [(str(loc.pk), f"{loc.name} — {loc.street_address}, {loc.city}") for loc in locations]
