"""``python -m lifileucel_analysis`` is the ``lifileucel-eap`` command."""

from .cli import main

raise SystemExit(main())
