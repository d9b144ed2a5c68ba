"""The organiser side: units import, invite codes, binding by code, roles, visibility, exports.

Roles are per contest: *organiser*, *member* (the representative of one imported unit), and
everybody else an *entrant*.  A user becomes a member or organiser only by sending an invite
code that an organiser (or the operator, ``python -m bot invite``) created: codes carry 80
random bits, are single-use, expire, and are stored only as a hash.

:class:`~.commands.OrgCommands` recognises the chat commands (绑定 / 配额 / 撤回 / 导出, and
for the units that choose among the works submitted through them, cq's 区县: 推荐列表 / 推荐 /
取消推荐 / 推荐表) and answers them with :class:`~contests.events.Reply` lists, so a channel
routes a message to it before the submission dialog.

Modules: :mod:`.invites` (codes, binding limits), :mod:`.units` (the units file),
:mod:`.service` (:class:`~.service.AdminService`: roles, invites, binding, visibility and
exports) and :mod:`.commands` (the chat commands).
"""
