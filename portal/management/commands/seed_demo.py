from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.api_keys import api_key_replace_for_demo
from portal.models import Membership, User
from portal.services import organization_create
from portal.support import support_group_ensure


class Command(BaseCommand):
    help = "Create (or reuse) a developer, their organization and its sandbox institution. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--organization", default="", help="Organization name (default: derived from the email domain)")
        parser.add_argument("--staff", action="store_true",
                            help="Make the user support staff: is_staff in the Support group, not a superuser "
                                 "(operators create superusers with createsuperuser)")

    @transaction.atomic
    def handle(self, *args, email: str, password: str, organization: str, staff: bool, **options):
        email = email.strip().lower()
        if "@" not in email:
            raise CommandError("--email must be an email address")
        user = User.objects.filter(email=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(email=email, password=password)
        else:
            user.set_password(password)
        if staff:
            user.is_staff, user.is_superuser = True, False
        user.save()
        if staff:
            user.groups.add(support_group_ensure())
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"primary": True, "verified": True})

        membership = Membership.objects.select_related("organization").filter(user=user).first()
        if staff and membership is None:
            self.stdout.write(f"Support staff user {email} ({'created' if created else 'updated'})")
            return
        if membership is None:
            name = organization or email.split("@", 1)[1].split(".")[0].replace("-", " ").title()
            org = organization_create(name=name, admin=user)
        else:
            org = membership.organization
        self.stdout.write(f"Developer admin {email} in organization {org.name} ({'created' if created else 'reused'})")
        issued = api_key_replace_for_demo(organization=org, created_by=user)
        # Last line, by contract: scripts read the sandbox key from here.
        self.stdout.write(f"API_KEY={issued.raw}")
