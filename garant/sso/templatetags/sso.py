from django import template

from garant.sso import config

register = template.Library()


@register.simple_tag
def sso_login_options() -> dict:
    """The providers to offer on the sign-in page, and whether the password form is only for
    break-glass accounts."""
    return {
        "providers": config.providers(),
        "breakglass": config.local_login_mode() == "breakglass",
    }


@register.filter
def sso_provider_name(key: str) -> str:
    """A provider's name from its key (the key itself if it is no longer configured)."""
    found = config.provider(key)
    return found.name if found else key
