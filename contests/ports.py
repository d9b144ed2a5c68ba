"""Every port of the domain in one place: what the use cases need from a store or a channel.

The adapters in ``bot/`` implement them (``bot/storage/``, ``bot/channels/``); one contract
suite per protocol (``tests/test_*_contract.py``) runs over every backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from contests.audit import AuditEntry
from contests.deliveries import (
    BeginResult,
    Delivery,
    DeliveryKey,
    DeliveryState,
    Job,
    JobState,
    Outcome,
    Recipient,
)
from contests.events import Document, Placement, Reply
from contests.org import (
    DEFAULT_HOLD_TTL,
    AttemptLimit,
    Invite,
    Membership,
    Place,
    QuotaRefusal,
    RedeemResult,
    Reservation,
    Track,
    Unit,
)
from contests.records import (
    Draft,
    FingerprintRecord,
    FollowUp,
    InboundClaim,
    Submission,
    Turn,
    UserKey,
)
from contests.tickets import Ticket, TicketStatus


@runtime_checkable
class Storage(Protocol):
    """Drafts, submissions and submission numbers.  All methods are safe to call concurrently."""

    async def get_draft(self, user: UserKey) -> Draft | None:
        """The user's draft, or None."""

    async def save_draft(
        self, draft: Draft, *, claim: InboundClaim | None = None, turn: Turn | None = None
    ) -> Draft:
        """Store ``draft`` if its ``version`` is the stored one (0 for a new draft).

        Returns the draft with its new version and ``updated_at``; its ``data`` is the caller's
        own dict, not a copy read back from the store (a tuple in it stays a tuple, where
        :meth:`get_draft` would give a list).  Raises :class:`StaleDraftError` when someone
        saved in between.  With ``claim``, the save also makes :meth:`claim_inbound`'s claim
        and contact record, all or nothing: :class:`AlreadyClaimed` (nothing saved) when the
        key is claimed already, checked before the version.  With ``turn`` (held by this
        store's own isolation and marked :attr:`~Turn.may_end_in_save`), a store that can
        ends the turn in the same write and sets :attr:`~Turn.ended`; one that cannot, or a
        save that raised, leaves the turn to its isolation.
        """

    async def delete_draft(self, user: UserKey) -> bool:
        """Drop the user's draft; True when there was one."""

    async def list_drafts(self) -> list[Draft]:
        """Every stored draft, ordered by user (reminders go to the unfinished ones)."""

    async def create_submission(
        self,
        *,
        prefix: str,
        contest_id: str,
        user: UserKey,
        channel_id: str,
        form_id: str,
        answers: dict[str, Any],
        video: dict[str, Any],
        now: dt.datetime,
        extra: dict[str, Any] | None = None,
        draft_version: int | None = None,
        turn: Turn | None = None,
        next_draft: dict[str, Any] | None = None,
        follow_up: FollowUp | None = None,
    ) -> Submission:
        """Store a submission with the next number for ``prefix`` (``KP2024-000001``, ...) and
        drop the user's draft, both or neither.  ``extra`` is stored with it (the unit whose
        place it uses), so it needs no second write; keys set to None are left out, as
        :meth:`update_submission` removes them.

        With ``next_draft``, the draft is replaced by it instead, in the same write, its
        ``"number"`` key set to the new number and its version one past the dropped draft's
        (1 when there was none): the scan step's draft, which a worker dying right after the
        submission would otherwise lose.  With ``follow_up``, that is stored too, under the new
        number (its own ``number`` is ignored): the form owed to the submission, which another
        worker takes over if this one dies (:meth:`take_follow_ups`).

        With ``draft_version`` (the version of the draft the submission was made from), nothing
        is stored and :class:`StaleDraftError` raised unless the user's draft is still at it:
        two turns that confirmed the same draft (one whose lock expired under it, and the one
        that took over) store one submission.  With ``turn`` (the user's, held by this store's
        own isolation), a store whose turns can be lost also refuses once this one's lock has
        expired or passed to another turn."""

    async def get_submission(self, number: str) -> Submission | None:
        """One submission by its number."""

    async def list_submissions(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Submission]:
        """Submissions, oldest first, filtered by contest and/or owner."""

    async def update_submission(
        self,
        number: str,
        *,
        status: str | None = None,
        video: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        answers: dict[str, Any] | None = None,
        history: dict[str, Any] | None = None,
    ) -> Submission:
        """Change a stored submission in one atomic step: a new ``status``, ``video`` or
        ``answers`` (a resubmission after 退回修改), ``extra`` keys merged into its ``extra`` (a
        key set to None is removed), and ``history`` appended to ``extra["history"]`` (who
        changed what, when: the record both the entrant and the organisers see).  Raises
        :class:`KeyError` when there is no such submission."""

    async def submissions_version(self) -> int:
        """A number that grows whenever any submission is created or changed, by any worker
        sharing this store: a reader may keep what it derived from the submissions for as long
        as it stays the same (the console's list of 10,000 works, bench/bench_console.py)."""

    async def submissions_changed(self, contest_id: str, since: int) -> tuple[int, list[Submission]]:
        """The current :meth:`submissions_version` and the contest's submissions created or
        changed after version ``since`` (0: all), oldest first; may include some changed just
        after the version was read, never misses one made before."""

    async def take_follow_ups(
        self, owner: str, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[FollowUp]:
        """Up to ``limit`` follow-ups whose ``due`` has passed by ``now`` (their owner died, or
        stalled past its lease) become ``owner``'s until ``now + lease`` (to the millisecond),
        oldest due first; two workers never take the same one at once."""

    async def keep_follow_up(self, follow_up: FollowUp) -> bool:
        """Store ``follow_up``'s ``data`` and ``due`` (a renewal, or a step done), only while
        it is held by its ``owner``; False (nothing changed) when it is not, or is gone."""

    async def finish_follow_up(self, number: str, owner: str) -> bool:
        """Drop the follow-up of ``number``, done, only while ``owner`` holds it; False (nothing
        changed) when another worker took it over, or it is gone."""

    async def claim_once(self, key: str, ttl: dt.timedelta) -> bool:
        """True for the first claim of ``key`` within ``ttl``, False for every later one: how a
        message retried by the platform (same MsgId) is processed exactly once."""

    async def claim_first(self, keys: Sequence[str], ttl: dt.timedelta) -> int | None:
        """The index of the first key of ``keys`` that was free and is now claimed (as
        :meth:`claim_once` would, in the same key space), or None when all are taken; one round
        trip.  Keys after the claimed one are left alone."""

    async def claim_inbound(
        self,
        key: str,
        ttl: dt.timedelta,
        user: UserKey,
        when: dt.datetime,
        *,
        turn: Turn | None = None,
        contact: bool = True,
    ) -> bool:
        """:meth:`claim_once` of ``key`` and, only when this call claimed it, :meth:`touch_contact`
        of ``user`` at ``when``: what every incoming WeChat message needs, in one round trip
        (a text message that only changes the draft makes both in :meth:`save_draft`).  Without
        ``contact`` (an event, not something the user wrote), only the claim.

        With ``turn`` (``user``'s, held), the claim stays pending until the turn ends, and is
        added to :attr:`Turn.claims`.  Where several workers share the store, a claim still
        pending when another turn of the user claims the same message was left by a worker
        that died mid-event: it is taken over (True) while the user's draft is as it was when
        claimed (the dead worker's effects never landed), else settled as handled (False).  It
        is taken over only once the turn it is pending in has ended (its lock expired or was
        released): a claim pending in a turn that still holds the user's lock (the caller lost
        its own lock to that turn) is not ours (False) and stays pending."""

    async def touch_contact(self, user: UserKey, when: dt.datetime) -> None:
        """Record that the user wrote at ``when`` (WeChat lets us reply for 48 h after)."""

    async def last_contact(self, user: UserKey) -> dt.datetime | None:
        """When the user last wrote, or None."""

    async def list_contacts(self) -> list[UserKey]:
        """Everyone who ever wrote (:meth:`touch_contact`), ordered by user."""

    async def open_session(self, token_hash: str, user: UserKey, ttl: dt.timedelta) -> None:
        """Keep a web session for ``ttl``: ``token_hash`` (:func:`session_hash` of the cookie,
        never the cookie itself) names ``user``.  The user id is the store's, not a secret, so
        that a link or a log naming the user hands over no session."""

    async def session_user(self, token_hash: str) -> UserKey | None:
        """The user of a live session, or None (unknown, closed or expired)."""

    async def close_session(self, token_hash: str) -> None:
        """End a session (its cookie was replaced, or the user signed out)."""

    async def ping(self) -> None:
        """Return when the store answers; raise when it cannot be reached (the health check)."""

    async def close(self) -> None:
        """Release connections.  The store is unusable afterwards."""


@runtime_checkable
class EventIsolation(Protocol):
    """Serialises the handling of one user's events: one at a time, also across workers."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold while one event of ``key`` is handled."""

    def turn(self, key: str, user: UserKey) -> AbstractAsyncContextManager[Turn]:
        """Hold ``key`` (as :meth:`lock`) for one event of ``user``.  The isolation may read
        the user's draft in the same step (:attr:`Turn.draft_read`), and does not release a
        turn that the store ended with its save (:attr:`Turn.ended`)."""

    async def close(self) -> None: ...


@runtime_checkable
class OrgStore(Protocol):
    """Units, roles, invite codes and quota places.  Every method is safe to call concurrently."""

    # -- units ---------------------------------------------------------------------------
    async def put_units(self, contest_id: str, units: list[Unit]) -> None:
        """Add or replace (by normalised name) the units of a contest, all or none."""

    async def list_units(self, contest_id: str) -> list[Unit]:
        """The contest's units, in import order."""

    async def get_unit(self, contest_id: str, name: str) -> Unit | None:
        """A unit by name (compared after :func:`normalise_name`)."""

    # -- roles ---------------------------------------------------------------------------
    async def add_invite(self, invite: Invite) -> None:
        """Store a new invite (its ``code_hash`` must be new)."""

    async def redeem_invite(self, code_hash: str, user: UserKey, now: dt.datetime) -> RedeemResult:
        """Use an invite once: on success the user's membership in its contest is set (replacing
        any earlier one) in the same atomic step, so a code can never bind two users."""

    async def get_membership(self, user: UserKey, contest_id: str) -> Membership | None: ...

    async def count_attempt(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> dt.datetime | None:
        """Atomically count one attempt under every limit, unless one of them is reached already:
        then nothing is counted and the result is when the last reached window ends (the
        earliest moment another attempt can count).  None: counted."""

    async def list_memberships(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Membership]:
        """Memberships filtered by contest and/or user."""

    # -- places --------------------------------------------------------------------------
    async def reserve(
        self,
        *,
        contest_id: str,
        holder: str,
        track: Track,
        limit: int | None,
        claims: tuple[str, ...],
        owner: UserKey,
        now: dt.datetime,
        ttl: dt.timedelta = DEFAULT_HOLD_TTL,
        turn: Turn | None = None,
    ) -> Reservation | QuotaRefusal:
        """Atomically: drop the holder's expired pending places, refuse if a claim is held by a
        live place (``claimed``) or ``limit`` places of ``holder``/``track`` count (``full``),
        else hold a new pending place and its claims (:attr:`Reservation.used` counts it).
        ``limit`` None: no limit.

        With ``turn`` (``owner``'s, held), the place is held in it; a pending place of the same
        owner, holder and track that holds one of ``claims`` and was held in another turn of
        that owner which has ended (its lock expired or was released: its worker died between
        reserving and committing or releasing) is dropped instead of refusing, so that the
        redelivered 确认提交 is not refused by its own dead attempt."""

    async def commit(self, reservation: Reservation, number: str, now: dt.datetime) -> bool:
        """Make the reservation permanent for submission ``number``.  False when it was lost
        (expired and its place or a claim taken since); the place is then released."""

    async def release(self, reservation: Reservation) -> bool:
        """Give back a place that was reserved but not committed; True if it was still held."""

    async def withdraw(self, contest_id: str, number: str, now: dt.datetime) -> Place | None:
        """Free the committed place of ``number`` and its claims.  Returns the place (state
        ``withdrawn``) or None when no committed place has that number."""

    async def place_of(self, contest_id: str, number: str) -> Place | None:
        """The place (committed or withdrawn) of a submission."""

    async def list_places(self, contest_id: str, *, holder: str | None = None) -> list[Place]:
        """Places of a contest that are not released, oldest first; filter with ``.counts(now)``."""

    async def close(self) -> None: ...


@runtime_checkable
class JobStore(Protocol):
    """Jobs, deliveries, worker liveness, opt-outs and quotas.  Every method is safe to call
    concurrently, from any number of workers."""

    # -- jobs -----------------------------------------------------------------------------
    async def create_job(self, job: Job) -> bool:
        """Store a new job; False (and nothing changed) when its id exists: how a reminder is
        created only once however often the scheduler runs."""

    async def get_job(self, job_id: str) -> Job | None: ...

    async def list_jobs(
        self, *, contest_id: str | None = None, states: Collection[JobState] | None = None
    ) -> list[Job]:
        """Jobs, oldest first."""

    async def confirm_job(self, job_id: str) -> bool:
        """``held`` → ``scheduled``; False when the job is not held."""

    async def cancel_job(self, job_id: str, now: dt.datetime) -> Job | None:
        """Cancel a held, scheduled or running job: its pending deliveries become skipped
        ``cancelled`` (those being sent finish as they go).  None when there is no such job;
        a job already done or cancelled is returned unchanged."""

    async def due_jobs(self, now: dt.datetime) -> list[Job]:
        """Scheduled jobs whose time has come."""

    async def start_job(self, job_id: str, recipients: Sequence[Recipient], now: dt.datetime) -> bool:
        """``scheduled`` → ``running`` with one pending delivery per recipient (deduplicated by
        user, first kept), all or nothing; ``done`` at once when there are none.  False (and
        nothing changed) when the job was not scheduled: another worker started it."""

    # -- deliveries -----------------------------------------------------------------------
    async def claim(self, worker: str, now: dt.datetime, limit: int) -> list[Delivery]:
        """Up to ``limit`` pending deliveries due by ``now`` become ``claimed`` by ``worker``."""

    async def release(self, worker: str, keys: Sequence[DeliveryKey], not_before: dt.datetime) -> int:
        """``claimed`` (by ``worker``) → ``pending`` again, due at ``not_before``.  Returns how many."""

    async def begin(self, worker: str, key: DeliveryKey, now: dt.datetime) -> int | BeginResult:
        """``claimed`` (by ``worker``) → ``sending``, written just before the platform call.
        Returns the attempt number (1, 2, ...), :attr:`BeginResult.LOST` when the delivery is
        not claimed by ``worker``, or :attr:`BeginResult.CANCELLED` (nothing changed) when its
        job was cancelled."""

    async def finish(
        self, worker: str, key: DeliveryKey, attempt: int, outcome: Outcome, now: dt.datetime
    ) -> bool:
        """Record ``outcome``: from ``claimed`` when ``attempt`` is 0, else from ``sending``
        with that attempt number (or from ``failed``/``uncertain`` of that attempt, which a
        recovery wrote while the call was in fact still running).  A final state counts the
        delivery off its job (the job is ``done`` with the last); ``pending`` puts it back
        due after ``outcome.retry_after``.  False when ``worker`` no longer holds it."""

    async def get_delivery(self, key: DeliveryKey) -> Delivery | None: ...

    async def deliveries(
        self, job_id: str, *, states: Collection[DeliveryState] | None = None
    ) -> list[Delivery]:
        """The job's deliveries in recipient order."""

    async def stats(self, job_id: str) -> dict[str, int]:
        """Counts: ``sent:<via>``, ``failed:<reason>``, ``skipped:<reason>`` and, for those not
        final, ``pending``, ``claimed``, ``sending``."""

    # -- workers --------------------------------------------------------------------------
    async def heartbeat(self, worker: str, now: dt.datetime, lease: float, *, register: bool = False) -> bool:
        """Keep ``worker`` alive for ``lease`` seconds.  ``register`` adds it; otherwise False
        when it had been given up for dead (its claims are gone)."""

    async def recover(self, now: dt.datetime, *, resend_uncertain: bool) -> int:
        """Give up workers whose lease ran out: their ``claimed`` deliveries go back to
        pending; their ``sending`` ones become failed ``uncertain``, or pending again when
        ``resend_uncertain``.  Returns how many deliveries moved."""

    async def retire(self, worker: str, now: dt.datetime, *, resend_uncertain: bool) -> int:
        """A worker's clean exit: the same as :meth:`recover` for ``worker`` alone, at once."""

    # -- opt-outs and quotas --------------------------------------------------------------
    async def set_opt_out(self, user: UserKey, out: bool, now: dt.datetime) -> bool:
        """Opt the user out of (True) or back into (False) reminders and broadcasts; True when
        this changed anything."""

    async def opted_out(self, users: Sequence[UserKey]) -> set[UserKey]:
        """Those of ``users`` who opted out."""

    async def take_quota(self, key: str, cap: int, ttl: dt.timedelta) -> bool:
        """Take one unit of the counter ``key`` (created with lifetime ``ttl``) if fewer than
        ``cap`` are taken: the daily cap of WeChat template messages, across workers."""

    async def close(self) -> None: ...


@runtime_checkable
class TicketStore(Protocol):
    """Tickets with their status.  Every method is safe to call concurrently."""

    async def create(
        self, *, contest_id: str | None, user: UserKey, question: str, suggestion: str, now: dt.datetime
    ) -> Ticket:
        """Store a new open ticket with the next id (``HD-000001``, ...)."""

    async def get(self, ticket_id: str) -> Ticket | None:
        """One ticket, or None."""

    async def list_tickets(
        self,
        *,
        status: TicketStatus | None = None,
        contest_id: str | None = None,
        user: UserKey | None = None,
    ) -> list[Ticket]:
        """Tickets, oldest first, filtered by status, contest and/or entrant."""

    async def answer(self, ticket_id: str, *, reply: str, operator: str, now: dt.datetime) -> Ticket:
        """Record an operator's reply (status ``answered``; a later reply replaces it).

        Raises :class:`TicketNotFoundError` or :class:`TicketClosedError`."""

    async def close_ticket(self, ticket_id: str, *, now: dt.datetime) -> Ticket:
        """Close the ticket (closing a closed one changes nothing).  Raises :class:`TicketNotFoundError`."""

    async def close(self) -> None:
        """Release connections.  The store is unusable afterwards."""


@runtime_checkable
class AuditLog(Protocol):
    """Who viewed, downloaded, exported or decided what: append-only, there is no update or
    delete.  Every method is safe to call concurrently."""

    async def append(self, entry: AuditEntry) -> AuditEntry:
        """Store ``entry`` (its ``seq`` must be 0) and return it with the store's next ``seq``,
        strictly greater than every earlier one (numbers may be skipped)."""

    async def list_entries(
        self,
        *,
        contest_id: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        action_prefix: str | None = None,
        after_seq: int = 0,
        limit: int = 200,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        """Up to ``limit`` (at least 1) entries with ``seq > after_seq`` matching every filter
        given (``action_prefix``: the action starts with it, case-sensitive), ordered by ``seq``:
        the newest ones first by default, else the oldest ones first."""

    async def close(self) -> None:
        """Release connections.  The store is unusable afterwards."""


@runtime_checkable
class FingerprintStore(Protocol):
    """One fingerprint per accepted video, by contest and submission number, listed across a
    contest's editions.  Every method is safe to call concurrently."""

    async def put(self, record: FingerprintRecord) -> None:
        """Store ``record``, replacing the one of the same contest and number (a video
        replaced by a resubmission)."""

    async def get(self, contest_id: str, number: str) -> FingerprintRecord | None:
        """The fingerprint of one submission, or None."""

    async def list_lineage(self, lineage: str) -> list[FingerprintRecord]:
        """Every fingerprint of the contests of ``lineage`` (this edition and the others),
        ordered by contest and number."""

    async def remove(self, contest_id: str, number: str) -> bool:
        """Forget a submission's fingerprint (its video is gone); True when there was one."""

    async def close(self) -> None:
        """Release connections.  The store is unusable afterwards."""


class Notifier(Protocol):
    """Sends replies to a user outside of a reply to their own message."""

    async def push(self, user: UserKey, replies: list[Reply]) -> None: ...


@runtime_checkable
class PlansDocuments(Protocol):
    """A notifier whose channel hands out documents as links, and can give the links before
    the documents are drawn (WeChat): the entrant gets them in the reply to 确认提交, with no
    客服消息 to wait for."""

    def plan_documents(self, files: Sequence[tuple[str, str]]) -> list[tuple[Document, Placement]] | None:
        """For each ``(file name, MIME type)``, the document to put in a reply and where to draw
        it; None when links cannot be given (then the documents are pushed once drawn)."""


class Sender(Protocol):
    """One channel's way out for deliveries (reminders, broadcasts).  ``route`` decides how
    (or whether) a delivery can go, without side effects; ``send`` makes the one platform
    call and says what happened."""

    async def route(self, job: Job, delivery: Delivery, now: dt.datetime) -> str | Outcome: ...

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome: ...


class OwnedSender(Sender, Protocol):
    """A sender holding a connection of its own, released by :meth:`aclose`."""

    async def aclose(self) -> None: ...


@runtime_checkable
# bench/README.md 'WeChat' session 5: aiogram cost seconds of CPU at start.
class HandsSender(Protocol):
    """A notifier whose channel makes the sender of deliveries itself: the platform's library
    is then imported only where that channel runs (aiogram costs seconds of CPU)."""

    def delivery_sender(self) -> OwnedSender:
        """A new sender; the caller closes it (:meth:`OwnedSender.aclose`)."""
