"""The `garant` command: Django's management commands under the product's name.

`garant demo`, `garant serve`, `garant token create --user NAME`, `garant audit verify`
and every standard command (`garant migrate`, `garant createsuperuser`, ...).
"""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "garant.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["garant", *(sys.argv[1:] if argv is None else argv)])
    return 0
