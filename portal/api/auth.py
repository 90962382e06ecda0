"""Bearer tokens: `POST /api/authenticates` trades an API key for a short-lived HS256 JWT."""

from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from portal.api_keys import api_key_for_token, api_key_touch
from portal.models import ApiKey, Organization

TOKEN_LIFETIME = {ApiKey.Mode.PRODUCTION: timedelta(hours=1), ApiKey.Mode.SANDBOX: timedelta(hours=24)}
ALGORITHM = "HS256"
ISSUER = "chairside"


def _signing_key() -> str:
    # Derived, so rotating SECRET_KEY also invalidates every bearer token.
    return settings.API_TOKEN_SIGNING_KEY or salted_hmac("portal.api.bearer", "v1").hexdigest()


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when the header is missing or another scheme.

    Every bearer credential reads its header here: API tokens, agent tokens and extension tokens.
    """
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_mint(api_key: ApiKey) -> str:
    now = timezone.now()
    claims = {
        "iss": ISSUER,
        "sub": str(api_key.public_id),
        "mode": api_key.mode,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME[api_key.mode]).timestamp()),
    }
    return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM)


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: an organization, through one key, in one mode."""

    api_key: ApiKey

    is_authenticated = True

    @property
    def organization(self) -> Organization:
        return self.api_key.organization

    @property
    def organization_id(self) -> int:
        return self.api_key.organization_id  # scoping filters by id: no organization row is loaded

    @property
    def sandbox(self) -> bool:
        return self.api_key.mode == ApiKey.Mode.SANDBOX


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`. The key behind the token must still be usable (not revoked or expired)."""

    def authenticate(self, request):
        token = bearer_token(request)
        if not request.META.get("HTTP_AUTHORIZATION"):
            raise exceptions.NotAuthenticated("Authorization header is missing. Use: Authorization: Bearer <token>")
        if token is None:
            raise exceptions.AuthenticationFailed("Use: Authorization: Bearer <token> (get a token from POST /api/authenticates)")
        try:
            claims = jwt.decode(token, _signing_key(), algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise exceptions.AuthenticationFailed("The bearer token expired. Request a new one from POST /api/authenticates.")
        except jwt.InvalidTokenError:
            raise exceptions.AuthenticationFailed("The bearer token is invalid.")
        api_key = api_key_for_token(claims["sub"])
        if api_key is None or not api_key.is_usable():
            raise exceptions.AuthenticationFailed("The API key behind this token was revoked or rotated.")
        api_key_touch(api_key)
        return ApiClient(api_key=api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
