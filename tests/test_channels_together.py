"""``serve`` with both chat channels at once, on SQLite and on Redis: one dialog, one store."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.channels import Channel
from bot.channels.telegram import TelegramSettings
from bot.channels.telegram import create as create_telegram
from bot.channels.wechat import WechatChannel
from bot.channels.wechat_notifier import WechatSettings
from bot.keys import SERVICES
from bot.settings import Settings
from contests.records import UserKey
from tests.fakes.telegram_api import TOKEN as TG_TOKEN
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wechat_server import FakeWechat
from tests.test_telegram import SECRET, WEBHOOK_URL
from tests.test_wechat import APP_ID, APP_SECRET, PUBLIC
from tests.test_wechat import TOKEN as WX_TOKEN


def both_channels(settings: Settings, tg: FakeTelegram, wx: FakeWechat) -> tuple[Channel, WechatChannel]:
    """The Telegram (webhook) and WeChat channels of ``serve``, pointed at the two fakes."""
    telegram = create_telegram(
        settings,
        TelegramSettings(
            _env_file=None,
            token=TG_TOKEN,
            mode="webhook",
            api_server=tg.url,
            webhook_url=WEBHOOK_URL,
            webhook_secret=SECRET,
        ),
    )
    assert telegram is not None
    wechat = WechatChannel(
        settings,
        WechatSettings(
            _env_file=None,
            token=WX_TOKEN,
            app_id=APP_ID,
            app_secret=APP_SECRET,
            api_base=wx.base_url,
            public_base_url=PUBLIC,
        ),
    )
    return telegram, wechat


async def test_serve_runs_telegram_and_wechat_at_once(settings: Settings) -> None:
    tg_fake = FakeTelegram()
    await tg_fake.start()
    wx_fake = await FakeWechat(WX_TOKEN, APP_ID, APP_SECRET, None).start()
    try:
        telegram, wechat = both_channels(settings, tg_fake, wx_fake)
        app = create_app(settings, channels=[telegram, wechat])
        async with TestClient(TestServer(app)) as client:
            health = await (await client.get("/healthz")).json()
            assert health["channels"] == ["telegram", "wechat"]
            assert health["storage"] == ("redis" if settings.redis_url else "sqlite")

            resp = await client.post(
                "/telegram",
                json=tg_fake.text(4242, "/start"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert resp.status == 200
            assert any("请选择参赛渠道" in t for t in tg_fake.texts(4242))

            delivery = await wx_fake.post(client, wx_fake.text("oBothChannels", "开始"))
            assert delivery.status == 200
            assert delivery.content is not None and "请选择参赛渠道" in delivery.content

            store = app[SERVICES].storage
            tg_draft = await store.get_draft(UserKey("telegram", "4242"))
            wx_draft = await store.get_draft(UserKey("wechat", "oBothChannels"))
            assert tg_draft is not None and wx_draft is not None
            assert tg_draft.data["step"] == wx_draft.data["step"] == "channel"
            # The two channels' users are reachable through one services object.
            assert set(app[SERVICES].notifiers) >= {"telegram", "wechat"}
    finally:
        await wx_fake.close()
        await tg_fake.close()
    tg_fake.assert_clean()
    wx_fake.assert_clean()
