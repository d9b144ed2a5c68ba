"""The WeChat channel against clocks it must not trust: CreateTime, the signed timestamp, and
what the process keeps in memory after many users (the harness of ``test_wechat``)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from bot.channels import wechat as wechat_module
from bot.channels.wechat import CLAIM_TTL, OutsideWindow
from bot.channels.wechat_xml import FRESHNESS
from contests.events import Reply
from contests.records import UserKey
from tests import test_wechat
from tests.fakes.wechat_server import sign
from tests.test_wechat import BACKENDS, TOKEN, Clock, Make, stored_nothing

# The workers of test_wechat (the serve app, the fake WeChat, a real store), as fixtures here.
make = test_wechat.make
contest_dir = test_wechat.contest_dir

YEAR_33658 = 999999999999  # datetime cannot hold it: ValueError before the fix
YEAR_5138 = 99999999999


def near_now(when: dt.datetime | None) -> bool:
    return when is not None and abs(when - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


# --------------------------------------------------------------------------- CreateTime


@pytest.mark.parametrize("create_time", [YEAR_33658, YEAR_5138, 0], ids=["y33658", "y5138", "epoch"])
@pytest.mark.parametrize("sample", ["text", "voice"])
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_an_implausible_create_time_is_answered_and_the_contact_time_is_ours(
    make: Make, create_time: int, sample: str, safe: bool
) -> None:
    h = await make(safe=safe)
    openid = f"oKepuTime{sample}{create_time}"
    fields = {"content": "帮助"} if sample == "text" else {"media_id": "voice-1"}
    delivery = await h.push(h.fake.xml(sample, openid, create_time=create_time, **fields))
    assert delivery.status == 200, delivery
    assert delivery.content, delivery  # answered as any message, not a 500 nor silence
    await h.channel.idle()
    # The 48-hour window runs from when we got the message, not from the client's clock.
    assert near_now(await h.services.storage.last_contact(UserKey("wechat", openid)))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_far_future_create_time_does_not_hold_the_48_hour_window_open(
    make: Make, backend: str
) -> None:
    clock = Clock()
    h = await make(backend=backend, clock=clock)
    user = UserKey("wechat", "oKepuYear5138")
    delivery = await h.push(h.fake.text(user.user_id, "帮助", create_time=YEAR_5138))
    assert delivery.status == 200 and delivery.content
    await h.channel.idle()
    clock.offset = dt.timedelta(hours=49)
    with pytest.raises(OutsideWindow):
        await h.services.notifiers["wechat"].push(user, [Reply("提醒")])
    assert h.fake.sent == []


async def test_an_event_with_an_ancient_create_time_still_gets_its_follow_up(make: Make) -> None:
    h = await make(budget=0.2)
    h.record(delay=0.5)  # the answer outlives the budget: it goes as 客服消息 in the event's quota
    delivery = await h.push(h.fake.xml("event_subscribe", "oKepuOldEvent", create_time=1))
    assert (delivery.status, delivery.body) == (200, "success")
    await h.channel.idle()
    assert any("请选择参赛渠道" in t for t in h.fake.texts_to("oKepuOldEvent"))


async def test_a_subscribe_in_the_year_33658_is_answered_not_a_500(make: Make) -> None:
    h = await make()
    delivery = await h.push(h.fake.xml("event_subscribe", "oKepuFarEvent", create_time=YEAR_33658))
    assert delivery.status == 200 and delivery.content and "请选择参赛渠道" in delivery.content


# --------------------------------------------------------------------------- signed timestamp


@pytest.mark.parametrize(
    "age",
    [10 * 365 * 86400, FRESHNESS + 60, -(FRESHNESS + 60), -10 * 365 * 86400],
    ids=["ten-years-old", "six-minutes-old", "six-minutes-ahead", "ten-years-ahead"],
)
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_a_push_signed_outside_five_minutes_is_refused_and_nothing_is_processed(
    make: Make, age: int, safe: bool
) -> None:
    h = await make(safe=safe)
    recorder = h.record()
    openid = "oKepuReplay"
    xml = h.fake.text(openid, "开始")
    query, body = h.fake.signed(xml, at=int(time.time()) - age)
    delivery = await h.fake.post(h.client, xml, query=query, body=body)
    assert delivery.status == 403, delivery
    await h.channel.idle()
    assert recorder.events == []
    await stored_nothing(h, openid)


@pytest.mark.parametrize("age", [FRESHNESS - 30, -(FRESHNESS - 30)], ids=["old", "ahead"])
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_a_push_signed_within_five_minutes_is_answered(make: Make, age: int, safe: bool) -> None:
    h = await make(safe=safe)
    xml = h.fake.text("oKepuSkew", "帮助")
    query, body = h.fake.signed(xml, at=int(time.time()) - age)
    delivery = await h.fake.post(h.client, xml, query=query, body=body)
    assert delivery.status == 200 and delivery.content


async def test_a_stale_url_verification_is_refused(make: Make) -> None:
    h = await make()
    ts, nonce = str(int(time.time()) - 86400), "1234567"
    query = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "8215651396"}
    resp = await h.client.get("/wechat", params=query)
    assert resp.status == 403 and await resp.text() != "8215651396"


def test_a_message_claim_outlasts_every_replay_the_window_lets_in() -> None:
    # First arrival at T - FRESHNESS, last replay at T + FRESHNESS: both must meet one claim.
    assert dt.timedelta(seconds=2 * FRESHNESS) <= CLAIM_TTL


async def test_a_replay_inside_the_window_is_not_processed_again(make: Make) -> None:
    h = await make()
    openid = "oKepuReplayed"
    await h.subscribe(openid)
    xml = h.fake.text(openid, "2")
    query, body = h.fake.signed(xml)
    first = await h.fake.post(h.client, xml, query=query, body=body)
    assert first.status == 200 and first.content
    await h.channel.idle()
    stored = await h.services.storage.get_draft(UserKey("wechat", openid))
    h.channel._attempts.clear()  # as after KEEP_ANSWERS: only the store's claim is left
    again = await h.fake.post(h.client, xml, query=query, body=body)
    assert again.status == 200 and again.content is None
    await h.channel.idle()
    assert await h.services.storage.get_draft(UserKey("wechat", openid)) == stored
    assert h.fake.sent == []


# --------------------------------------------------------------------------- memory after a load


async def test_after_many_users_the_kept_answers_hold_at_most_their_bound(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wechat_module, "KEEP_ANSWERS_MAX", 5, raising=False)
    h = await make()
    pushes = [h.fake.xml("voice", f"oKepuMany{i:02d}", media_id="v") for i in range(12)]
    for push in pushes:
        assert (await h.push(push)).content
    await h.channel.idle()
    assert len(h.channel._attempts) <= 5
    # The latest answers are still there for a retry whose response got lost; the dropped
    # ones are not run again (the store's claim) and get the empty success.
    retry = await h.push(pushes[-1])
    assert retry.content and "语音" in retry.content
    dropped = await h.push(pushes[0])
    assert (dropped.status, dropped.body) == (200, "success")
    await h.channel.idle()
    assert len(h.channel._attempts) <= 5
