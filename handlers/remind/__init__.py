"""Deadline reminders, organisers' broadcasts, delivery reports and 退订/订阅.

* **Reminders** (``schedule``): before each deadline (7, 3 and 1 days by default,
  ``BOT_REMIND_DAYS``; per contest ``BOT_REMIND_CONTEST_DAYS``) at ``BOT_REMIND_HOUR`` Beijing
  time, one job per contest and offset, created once (its id is fixed), to entrants with
  unfinished drafts (what is still missing) and to members whose unit has unused places.
* **Broadcasts** (``audience``, ``command``): an organiser's message to an audience (``all``,
  ``drafts``, ``members``, ``unit:<名称>``), now or at a set time, by the chat command 广播
  (held until 确认广播) or ``python -m bot broadcast``.  The audience is taken when the job
  starts, not when it is made.
* **Sending**: :class:`handlers.deliveries.Worker` over the :class:`~contests.ports.JobStore`,
  through one :class:`~handlers.deliveries.Outlet` per channel, made in ``bot/deliveries.py``
  (Telegram 30/s overall and 1/s per chat; WeChat by 客服消息 within 48 h of the user's last
  message and by 模板消息 beyond; other channels through their notifier).
* **Reports** (``report``) for the organiser: sent (and how), failed and why, skipped and why.
* **The words** a user reads are all in ``texts``; :class:`~handlers.remind.service.RemindService`
  is the use case that ties them together.

Platform rules:
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this ·
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html ·
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
"""
