from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction

from portal.audit import client_ip
from portal.services import organization_create


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Sign-up creates the user, their organization, its admin membership and sandbox, or nothing."""
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            organization_create(name=form.cleaned_data["organization_name"], admin=user, ip=client_ip(request))
        return user

    def get_client_ip(self, request) -> str:
        """allauth's rate limits count per client address: the same one as audit events (TRUSTED_PROXIES)."""
        return client_ip(request) or super().get_client_ip(request)
    def send_mail(self, template_prefix, email, context):
        # Account emails name the product and the portal's public address, never the host a request came in on.
        super().send_mail(template_prefix, email, {**context, "portal_url": settings.PORTAL_BASE_URL})

    def format_email_subject(self, subject):
        return f"Chairside: {subject}"

    def get_reset_password_from_key_url(self, key: str) -> str:
        return self._on_portal(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return self._on_portal(super().get_email_confirmation_url(request, emailconfirmation))

    @staticmethod
    def _on_portal(url: str) -> str:
        """The same path on the portal's public address (PORTAL_BASE_URL)."""
        parts = urlsplit(url)
        return settings.PORTAL_BASE_URL + urlunsplit(("", "", parts.path, parts.query, parts.fragment))
