"""Django's manage.py for the example: run it from the repository root.

python -m examples.django.manage runserver
python -m examples.django.manage process_orders
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    root = str(Path(__file__).resolve().parents[2])  # so `examples.django` imports
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
