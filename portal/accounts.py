"""Whether a user's sign-in address is proven (allauth's EmailAddress), and marking it so."""

from allauth.account.models import EmailAddress

from portal.models import User


def email_verified(user: User) -> bool:
    """The user's sign-in address was confirmed: by allauth's email link or by accepting an invitation sent to it."""
    return bool(user and user.is_authenticated) and EmailAddress.objects.filter(
        user=user, email__iexact=user.email, verified=True).exists()


def email_mark_verified(*, user: User) -> None:
    """An invitation link reached this address, which proves it as well as allauth's confirmation email would."""
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
