from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def when(value, empty: str = "Never"):
    """'12 minutes ago', with the exact UTC time on hover, in a <time> element."""
    if not value:
        return empty
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(), value.strftime("%a %d %b %Y, %H:%M:%S UTC"), naturaltime(value),
    )


@register.simple_tag(takes_context=True)
def nav_class(context, *prefixes: str) -> str:
    path = context["request"].path
    return "active" if any(path == p or (p != "/" and path.startswith(p)) for p in prefixes) else ""


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")


@register.filter
def postal_address(place) -> str:
    """'12 Main St, Suite 4, Austin, TX 78701': no stray commas when a part is missing."""
    street = ", ".join(part for part in (place.street_address, place.street_address_2, place.city) if part)
    region = " ".join(part for part in (place.state, place.zip_code) if part)
    return ", ".join(part for part in (street, region) if part)
