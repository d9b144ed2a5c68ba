"""The organiser side (moved to :mod:`handlers.admin.service`; split into modules next)."""

from handlers.admin.service import *  # noqa: F403
from handlers.admin.service import Command as Command
from handlers.admin.service import __all__ as __all__
from handlers.admin.service import match_command as match_command
