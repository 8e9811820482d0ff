from garant import __version__
from garant.core import permissions


def garant(request):
    user = getattr(request, "user", None)
    return {
        "GARANT_VERSION": __version__,
        "can_audit": permissions.can(user, "audit"),
        "can_manage": permissions.can(user, "manage"),
        "can_add": permissions.can(user, "add"),
        "can_import": permissions.can(user, "import"),
    }
