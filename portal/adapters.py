from allauth.account.adapter import DefaultAccountAdapter
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
