"""The aiohttp application's keys: what ``bot.app`` puts on the app and the pages read."""

from __future__ import annotations

from aiohttp import web

from bot.services import Services
from bot.settings import Settings

SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
