from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from portal.models import Role, User


class SignupForm(forms.Form):
    """Extra field on allauth's sign-up: the first user of a company names its organization."""

    organization_name = forms.CharField(
        label="Company name", max_length=120, help_text="Your company's name, as your team knows it."
    )

    field_order = ["organization_name", "email", "password1", "password2"]

    def signup(self, request, user) -> None:
        """allauth hook; the organization is created by the adapter, in the same transaction as the user."""


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.DEVELOPER,
                             help_text="Developers onboard practices; admins also manage users, API keys and "
                                       "deactivation; viewers only look (no secrets, no changes).")


class ProductionAccessForm(forms.Form):
    company_name = forms.CharField(label="Company name", max_length=200)
    company_website = forms.URLField(label="Company website", required=False, assume_scheme="https",
                                     error_messages={"invalid": "Enter a web address, like https://acme.example."})
    company_address = forms.CharField(label="Company address", max_length=300, required=False,
                                      help_text="Where your company is registered.")
    expected_practices = forms.IntegerField(label="Practices you expect to onboard in the first year", min_value=1,
                                            max_value=100000, error_messages={"min_value": "Enter 1 or more."})
    use_case = forms.CharField(label="What your software does with practice data", max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 4}),
                               help_text="For example: online booking that reads open slots and writes appointments.")


class InvitationSignupForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords don't match.")
        elif p1:
            try:
                validate_password(p1, user=User(email=self.email, first_name=cleaned.get("first_name", "")))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when it names one, else at the top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
