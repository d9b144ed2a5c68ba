"""Quotas as the notices set them: who an entry counts against, the atomic reservation at
confirm time, the 配额 text, and withdrawing a recommendation.

:mod:`.rules` is pure (rules from :mod:`contests.rules` data, no I/O) and :mod:`.texts` words
its results; :class:`~.service.QuotaService` joins them to the stores.  How an entry's
*holder* (the unit whose places it uses) is found:

* a recommend (or member) channel: the unit the submitting member is bound to, else the
  form's ``unit`` field matched by name (after :func:`~contests.org.normalise_name`)
  against the units the organiser imported, provided the unit's quota rule belongs to that
  channel;
* a channel with a ``self`` rule: the entrant is their own unit (one holder per chat user);
* otherwise the entry is refused with ``no_unit``: nobody could tell whose places it uses.

A channel whose form has a ``recommender`` field (cq: 报送区县) works in two steps, as its
notice does (:mod:`.district`): the entrant's confirm uses no place, it stores the entry as
submitted through the unit it names (``extra.district``, "待区县推荐"); in the channel's
``selection_stage`` that unit's member then *recommends* entries (推荐 / 取消推荐), and each
recommendation is a place reserved and committed against the unit's quota in one atomic
step of the store.

Where the notice says so, every work also *claims* its first author (一个第一作者一部) and
its title with first author (one channel per work), contest-wide, in the same atomic step.

Modules: :mod:`.rules` (limits, claims, days left, usage), :mod:`.texts` (the Chinese
wording), :mod:`.results` (what the use case takes and answers), :mod:`.district` (the
units' recommendations) and :mod:`.service` (:class:`~.service.QuotaService`).
"""
