"""The organisers' and units' web console, as use cases: signing in with a one-time link sent
in the chat (:mod:`.login`), and what each viewer may list, open, download and decide
(:mod:`.service`).  The pages themselves are :mod:`bot.web.console`."""
