import re
from zoneinfo import available_timezones

from django import forms

US_TIME_ZONES = [
    ("America/New_York", "Eastern (New York)"), ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"), ("America/Phoenix", "Mountain, no DST (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"), ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
]
US_STATES = ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
             "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR").split()


def normalize_phone(raw: str) -> str:
    """10 US digits (a leading 1 is dropped), or a validation error that says what is expected."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":
        raise forms.ValidationError("Enter a 10-digit US phone number, like (512) 555-0100.")
    return digits


class InstitutionForm(forms.Form):
    name = forms.CharField(label="Practice name", max_length=200,
                           help_text="For a multi-location group (DSO/MSO), enter the parent organization or corporate office.",
                           widget=forms.TextInput(attrs={
                               "hx-get": "/institutions/subdomain/", "hx-trigger": "input changed delay:300ms",
                               "hx-target": "#subdomain-preview", "aria-describedby": "subdomain-preview"}))
    is_parent_organization = forms.BooleanField(label="This is a multi-location group (DSO/MSO)", required=False)
    street_address = forms.CharField(label="Street address", max_length=200)
    street_address_2 = forms.CharField(label="Suite, unit", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    state = forms.ChoiceField(choices=[("", "Choose a state")] + [(s, s) for s in US_STATES])
    zip_code = forms.RegexField(label="ZIP code", regex=r"^\d{5}(-\d{4})?$",
                                error_messages={"invalid": "Enter a 5-digit ZIP code, like 78701."})
    tz = forms.ChoiceField(label="Time zone", choices=US_TIME_ZONES, initial="America/New_York",
                           help_text="Installation times are shown in the practice's time zone.")
    phone_number = forms.CharField(label="Phone", max_length=30)
    email = forms.EmailField(label="Practice email", required=False)
    website = forms.URLField(label="Website", required=False, assume_scheme="https",
                             error_messages={"invalid": "Enter a web address, like https://smiles.example.com."})
    contact_name = forms.CharField(label="Contact person", max_length=200,
                                   help_text="Who at the practice (or its IT) we coordinate the installation with.")
    contact_email = forms.EmailField(label="Contact email")

    def clean_phone_number(self) -> str:
        return normalize_phone(self.cleaned_data["phone_number"])

    def clean_tz(self) -> str:
        tz = self.cleaned_data["tz"]
        if tz not in available_timezones():
            raise forms.ValidationError("Choose a time zone from the list.")
        return tz
