"""Shared fixtures: the contest registry, the dialog engine, and a chat driver on a real store."""

from __future__ import annotations

import datetime as dt
import multiprocessing.forkserver
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.services
import contests.registry as contest_registry
import forms.drawing
from bot.settings import Settings
from bot.storage import choose_backend
from bot.storage.memory_lock import LocalIsolation
from bot.storage.redis.common import connect, key_prefix
from contests.editions import new_edition
from contests.events import EventKind, FileInfo, Incoming, Reply
from contests.ports import EventIsolation, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.rules import SHANGHAI, Contest, FieldType, Form, FormField
from dialogs.engine import DialogEngine, choices_as_text
from dialogs.messages import Messages
from handlers.helpdesk.answer import Helpdesk
from handlers.router import Assistant
from handlers.submit import SubmitHandler
from tests.drawing_zygote import ASYNCIO_FOR_DRAWING, ZYGOTE
from tests.parsed_once import load_contest_once, messages_once
from tests.redis_servers import redis_cluster, redis_server_missing
from validators.text import uscc_check_char

REDIS_URL = "redis://127.0.0.1:6379/0"

#: Every backend a contract suite runs on: SQLite, the Redis server, a three-node Redis Cluster.
BACKENDS = ["sqlite", "redis", "cluster"]


@pytest.fixture(scope="session", autouse=True)
def _drawing_zygote() -> Iterator[None]:
    """The warm interpreter the tests' drawing processes are forked from (started on the
    first one), ended and reaped with the session: tests/drawing_zygote.py."""
    yield
    ZYGOTE.stop()


@pytest.fixture(scope="session", autouse=True)
def _forkserver_reaped() -> Iterator[None]:
    """multiprocessing's forkserver (tests/forked.py, test_remind.py), if a test started it,
    ended and reaped with the session: the processes it forked and reaped count in the run's
    CPU, as a subprocess's would (left to exit with the worker, nobody reaped it)."""
    yield
    server = multiprocessing.forkserver._forkserver
    if server._forkserver_pid is not None:
        server._stop()


@pytest.fixture(autouse=True)
def _drawing_forked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every drawing process a test starts is forked from the zygote (~2 s of CPU less each),
    except in test_drawing.py, which tests the process and how it is started."""
    if request.module.__name__ != "tests.test_drawing":
        monkeypatch.setattr(forms.drawing, "asyncio", ASYNCIO_FOR_DRAWING)


@pytest.fixture(scope="session", autouse=True)
def _parsed_once() -> Iterator[None]:
    """Contest files parsed once per content and the message templates compiled once, for
    the services every test builds: tests/parsed_once.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(contest_registry, "load_contest", load_contest_once)
        patch.setattr(bot.services, "Messages", messages_once)
        yield


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A three-node Redis Cluster of this test session (of this xdist worker), started on first
    use: the URL of one of its nodes."""
    if (why := redis_server_missing()) is not None:
        pytest.skip(f"no Redis Cluster: {why}")
    with redis_cluster() as url:
        yield url


def redis_for(request: pytest.FixtureRequest, kind: str) -> tuple[str | None, bool]:
    """``(redis_url, redis_cluster)`` for one of :data:`BACKENDS` (no URL for SQLite)."""
    if kind == "sqlite":
        return None, False
    if kind == "cluster":
        return str(request.getfixturevalue("redis_cluster_url")), True
    return REDIS_URL, False


def beijing(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


# Inside most-cas-2024-kepu's window (2024-09-26 .. 2024-10-25); every other preset is closed.
OPEN_2024 = beijing(2024, 10, 1)


@pytest.fixture(scope="session")
def contests() -> ContestRegistry:
    return ContestRegistry.load()


@pytest.fixture(scope="session")
def helpdesk(contests: ContestRegistry) -> Helpdesk:
    """One helpdesk for the run: its index is the costly part and nothing a test does changes it."""
    desk = Helpdesk(contests)
    desk.warm()  # every notice and FAQ parses, every cite resolves
    return desk


@pytest.fixture(scope="session")
def messages() -> Messages:
    return Messages()


@pytest.fixture
def engine(contests: ContestRegistry, messages: Messages) -> DialogEngine:
    return DialogEngine(contests, messages)


class Clock:
    """A settable clock for the handler: tests move time past a deadline."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def valid_uscc() -> str:
    body = "91110108MA01ABCDE"
    return body + uscc_check_char(body)


def valid_answer(field: FormField, contest: Contest) -> str:
    """A correct answer for any field of any preset, as an entrant would type it."""
    match field.type:
        case FieldType.PHONE:
            return "13800138000"
        case FieldType.EMAIL:
            return "entrant@example.cn"
        case FieldType.USCC:
            return valid_uscc()
        case FieldType.URL:
            return "https://pan.baidu.com/s/1AbCdEfG?pwd=k3p9"
        case FieldType.DATE:
            window = contest.window(field.window) if field.window else None
            # Without a window, a day that has passed by any test's clock (a 播出时间 still to come is
            # refused): New Year's Day of the year before the deadline, or today if that is later.
            day = (
                (window.end or window.start)
                if window and (window.end or window.start)
                else min(dt.date(contest.deadline.year - 1, 1, 1), dt.date.today())
            )
            if window is not None and window.start is not None and window.start <= dt.date.today() < day:
                day = dt.date.today()  # a work's date is one that has passed (an open edition's window)
            return f"{day.year}年{day.month}月{day.day}日"
        case FieldType.INTEGER:
            return str(field.min_value or 1)
        case FieldType.PEOPLE:
            return "张三、李四"
        case FieldType.CHOICE:
            return "1"
        case FieldType.PLEDGE:
            return "同意"
    if field.must_contain_url:
        return "哔哩哔哩 https://www.bilibili.com/video/BV1xx411c7mD"
    if field.role == "cover":
        return "封面.jpg"
    text = "科学精神照亮前行之路"
    if field.min_chars:
        text = text * (field.min_chars // len(text) + 1)
    return text[: field.max_chars] if field.max_chars else text


def asked_fields(form: Form, channel_id: str) -> list[FormField]:
    """The fields of ``form`` the dialog asks on the channel ``channel_id``: not those the channel
    leaves one answer to (cacsi 其他机构和个人自荐: 是否为会员 “否”), which are filled in and told."""
    return [f for f in form.fields if len(f.channel_options.get(channel_id, ())) != 1]


def video_answer(contest: Contest) -> str:
    if "link" in contest.delivery.accepts:
        return "https://video.example.cn/works/kepu.mp4"
    return "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9"


class ChatDriver:
    """Talks to :class:`SubmitHandler` as one user would, through the front door
    (:class:`Assistant`, which takes the user's turn) and a real store.  ``front``: the
    service's own front door (with its helpdesk), instead of a bare one."""

    def __init__(
        self,
        handler: SubmitHandler,
        user: UserKey,
        isolation: EventIsolation | None = None,
        *,
        front: Assistant | None = None,
    ) -> None:
        self.handler = handler
        self.front = front or Assistant(handler, handler.storage, isolation or LocalIsolation())
        self.user = user
        self.last: list[Reply] = []

    async def send(self, event: Incoming, hint: str | None = None) -> str:
        self.last = await self.front.handle(event, contest_hint=hint)
        return "\n".join(choices_as_text(r) for r in self.last)

    async def say(self, text: str) -> str:
        return await self.send(Incoming(self.user, EventKind.TEXT, text=text))

    async def start(self, hint: str | None = None) -> str:
        return await self.send(Incoming(self.user, EventKind.START), hint)

    async def press(self, payload: str) -> str:
        return await self.send(Incoming(self.user, EventKind.CHOICE, choice=payload))

    async def upload(self, name: str, size: int, mime: str = "video/mp4", path: str = "") -> str:
        info = FileInfo(name, size, mime, "ref-1", path=path)
        return await self.send(Incoming(self.user, EventKind.FILE, file=info))

    async def draft(self) -> dict[str, Any] | None:
        d = await self.handler.storage.get_draft(self.user)
        return d.data if d else None


async def drop_redis_prefix(prefix: str, url: str = REDIS_URL, cluster: bool = False) -> None:
    """Delete every key a test wrote under ``prefix`` (each test has a unique one)."""
    client = connect(url, cluster=cluster, decode=False)
    try:
        keys = [k async for k in client.scan_iter(match=f"{key_prefix(prefix, cluster=cluster)}:*")]
        for key in keys:  # one by one: a cluster refuses a DEL of keys in several slots
            await client.delete(key)
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", "redis"])
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Storage, EventIsolation]]:
    """Both backends, real: SQLite in a temp folder, Redis on 127.0.0.1:6379 under a unique
    prefix (the contract suites run on the cluster too; the tests using this open other
    stores on the same plain prefix)."""
    prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
    url, cluster = redis_for(request, request.param)
    storage, isolation = await choose_backend(
        data_dir=tmp_path, redis_url=url, redis_prefix=prefix, redis_cluster=cluster
    ).open_storage()
    yield storage, isolation
    await isolation.close()
    await storage.close()
    if url:
        await drop_redis_prefix(prefix, url, cluster)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[tuple[Storage, EventIsolation]]:
    storage, isolation = await choose_backend(data_dir=tmp_path, redis_url=None).open_storage()
    yield storage, isolation
    await isolation.close()
    await storage.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(OPEN_2024)


@pytest.fixture
def make_chat(
    engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation], clock: Clock
) -> Callable[[str], ChatDriver]:
    storage, isolation = sqlite_store
    handler = SubmitHandler(engine, storage, clock=clock)
    return lambda user="alice": ChatDriver(handler, UserKey("terminal", user), isolation)


OPEN_ID = "most-cas-tg-kepu"


def write_open_edition(folder: Path, new_id: str = OPEN_ID, prefix: str | None = None) -> Contest:
    """This year's edition of the 2024 contest, open today (the dialog runs on the real clock).
    A second one in the same folder needs a ``prefix`` of its own (one sequence per contest)."""
    source = ContestRegistry.load().get("most-cas-2024-kepu")
    assert source is not None
    today = dt.date.today()
    deadline, opens = today + dt.timedelta(days=60), today - dt.timedelta(days=10)
    data = new_edition(source, new_id, deadline, opens=opens, prefix=prefix)
    return dump_contest(data, folder / f"{new_id}.yaml")


@pytest.fixture(params=["sqlite", "redis"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Service settings with one open contest, on SQLite or on Redis under a unique prefix."""
    prefix = f"kepu-test-svc-{uuid.uuid4().hex[:12]}"
    redis = request.param == "redis"
    write_open_edition(tmp_path / "contests")
    yield Settings(
        _env_file=None,
        data_dir=tmp_path,
        contests_dir=tmp_path / "contests",
        redis_url=REDIS_URL if redis else None,
        redis_prefix=prefix,
    )
    if redis:
        await drop_redis_prefix(prefix)
