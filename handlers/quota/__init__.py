"""Quotas (moved to :mod:`handlers.quota.service`; split into modules next)."""

from handlers.quota.service import *  # noqa: F403
from handlers.quota.service import __all__ as __all__
from handlers.quota.service import utcnow as utcnow
