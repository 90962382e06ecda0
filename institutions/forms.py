import json

from django import forms

from institutions.models import PracticeTimeZone
from institutions.validators import US_STATES, email_clean, normalize_phone, website_clean, zip_code_clean


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
    zip_code = forms.CharField(label="ZIP code")
    # portal.js sets the zone from the state (the zone of most of its people) until the user picks one; the server
    # accepts any of the offered zones, since part of a state may keep another zone's time.
    tz = forms.ChoiceField(label="Time zone", choices=PracticeTimeZone.choices, initial=PracticeTimeZone.EASTERN,
                           help_text="Set from the state; change it if the practice keeps another zone's time.",
                           widget=forms.Select(attrs={"data-zone-from": "id_state",
                                                      "data-zones": json.dumps(PracticeTimeZone.by_state())}))
    phone_number = forms.CharField(label="Phone", max_length=30)
    email = forms.CharField(label="Practice email", required=False, max_length=254, widget=forms.EmailInput)
    website = forms.CharField(label="Website", required=False, max_length=200, widget=forms.URLInput)
    contact_name = forms.CharField(label="Contact person", max_length=200,
                                   help_text="Who at the practice (or its IT) we coordinate the installation with.")
    contact_email = forms.CharField(label="Contact email", max_length=254, widget=forms.EmailInput)

    # The rules are institutions.validators, shared with the CSV upload's row rules.
    def clean_zip_code(self) -> str:
        return zip_code_clean(self.cleaned_data["zip_code"])

    def clean_phone_number(self) -> str:
        return normalize_phone(self.cleaned_data["phone_number"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        return email_clean(email) if email else ""

    def clean_website(self) -> str:
        website = self.cleaned_data["website"]
        return website_clean(website) if website else ""

    def clean_contact_email(self) -> str:
        return email_clean(self.cleaned_data["contact_email"])
