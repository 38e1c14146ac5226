"""`python -m ablate [overrides]` (see `ablate.cli`)."""

from ablate.cli import entry

entry()
