from django import template

from institutions.consent import match_disclosure_token

register = template.Library()


@register.simple_tag(takes_context=True)
def disclosure(context, subdomain: str) -> str:
    """The signed proof, for Request access, that this practice was shown to this organization as a match."""
    return match_disclosure_token(organization=context["request"].membership.organization, subdomain=subdomain)
