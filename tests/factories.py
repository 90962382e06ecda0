import factory
from django.utils.text import slugify

from institutions.models import Institution, InstitutionAccess, Location
from portal.models import Invitation, Membership, Organization, Role, User
from syncs.models import Sync, SyncStatus


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = "correct-horse-battery"

    @classmethod
    def _create(cls, model_class, *args, verified: bool = True, **kwargs):
        """A user whose address is confirmed (as after allauth's email link), unless verified=False."""
        from allauth.account.models import EmailAddress

        user = model_class.objects.create_user(*args, **kwargs)
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
        return user


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.DEVELOPER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.DEVELOPER


class InstitutionFactory(factory.django.DjangoModelFactory):
    """A practice. `created_by=organization` also gives that organization access, as creating one does."""

    class Meta:
        model = Institution
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Practice {n}")
    subdomain = factory.LazyAttribute(lambda institution: slugify(institution.name))

    @factory.post_generation
    def created_by(institution, create, organization, **kwargs):
        if create and organization is not None:
            InstitutionAccess.objects.create(organization=organization, institution=institution,
                                             via=InstitutionAccess.Via.CREATED)


class SyncFactory(factory.django.DjangoModelFactory):
    """An active Open Dental sync (no agent behind it: set the fields a test needs), operated by the organization
    that first reached its institution, as the lifecycle records it."""

    class Meta:
        model = Sync

    institution = factory.SubFactory(InstitutionFactory)
    operator_id = factory.LazyAttribute(lambda sync: sync.institution.accesses.order_by("created_at", "pk")
                                        .values_list("organization_id", flat=True).first())
    ehr = "opendental"
    status = SyncStatus.ACTIVE


class LocationFactory(factory.django.DjangoModelFactory):
    """An office of a sync's practice, as the Synchronizer reports it (not active until selected or activated)."""

    class Meta:
        model = Location

    sync = factory.SubFactory(SyncFactory)
    institution = factory.SelfAttribute("sync.institution")
    name = factory.Sequence(lambda n: f"Office {n}")
    foreign_id = factory.Sequence(str)
