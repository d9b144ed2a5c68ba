"""What every test that builds the services made again, though nothing a test does changes it:
the contest files parsed, and the dialog's message templates compiled.

``bot.services.services`` loads the contest registry (``ContestRegistry.load``: each preset's
YAML parsed and validated, ~70 ms) and compiles the message templates (``Messages()``,
~100 ms), as a process does once at start; the tests build the services ~700 times a run.
Both are immutable once made (a :class:`Contest` is a frozen model; :class:`Messages` only
renders), as the session-wide ``contests`` and ``messages`` fixtures of ``conftest.py``
already take them to be.  So for the tests (``conftest.py`` installs these for the session):

- ``contests.registry.load_contest``, as ``ContestRegistry.load`` calls it, parses each file once
  per content and path: a file written again with other content (a new edition, an edited
  preset) is parsed again, and a file that fails is parsed again each time, so every error
  is raised as before.  ``load_contest`` imported by name (``tests/test_presets.py``) is the
  function itself.
- ``Messages`` as ``bot.services`` calls it is one compiled set per locale.
"""

from __future__ import annotations

import functools
from pathlib import Path

import contests.registry
from contests.rules import Contest
from dialogs.messages import DEFAULT_LOCALE, Messages

_load_contest = contests.registry.load_contest
_parsed: dict[tuple[str, str], Contest] = {}


def load_contest_once(path: Path) -> Contest:
    """:func:`contests.registry.load_contest`, once per path and content."""
    try:
        key = (str(path), path.read_text(encoding="utf-8"))
    except Exception:  # unreadable: the real function says how
        return _load_contest(path)
    found = _parsed.get(key)
    if found is None:
        found = _parsed[key] = _load_contest(path)
    return found


@functools.cache
def messages_once(locale: str = DEFAULT_LOCALE) -> Messages:
    """One :class:`Messages` per locale."""
    return Messages(locale)
