"""Questions about the asker's own submission ("我寄的光盘收到了没", "我们的片子排第几了"): no notice
can answer them; they go to the entrant's own records or an operator.

Told apart from questions about the rule that merely name the asker ("我们的作品要通过形式审查吗",
"我寄的光盘需要写什么"): a status asked of something already sent, not what must be done.
"""

from __future__ import annotations

import re

#: The phrasings first met (the evaluation's dev questions); :func:`about_own_submission` adds the
#: general shape.
PERSONAL = re.compile(
    r"(我|我们|俺)(的|们的)?.{0,12}(收到|通过|审核|审完|审查|过审|入围|评上|获奖|落选|处理|上传成功|提交成功|报上)"
    r"(过)?(了)?(吗|没|没有|没得|嘛|么|没呢)"
    r"|(收到|通过|审核|审完|审查过|上传成功|提交成功)了(吗|没有|没)|(收到|通过)(没有|没)|我的.{0,6}(编号|进度|状态|结果|成绩)"
    r"|(我|我们)(投稿|提交|报名|交|报)的.{0,6}(编号|进度|状态|结果|成绩)"
    r"|(我|我们|俺).{0,10}(排第几|排名|多少票|票数)"
    r"|(推上去|报上去|推荐上去|交上去)(了(没|没有|没得|吗)|没|没有|没得)"  # "能全部推荐上去吗" asks the rule
    r"|(帮我|帮我们|能不能帮|可以帮).{0,10}(撤回|撤销|撤了|撤掉|撤下|换|改|删|退回|查|恢复)"
    # a change asked of what was already sent ("已经交到区县了…可不可以撤回来改了重新交")
    r"|已经(交|报|传|寄|发|提交)(到|给|上|过)?[^。？?!！]{0,24}(撤回|撤下)"
    r"|(让|允许)(我|我们|俺|俺们)(重新|再)(发|交|传|提交|寄)"
    r"|(帮我|帮我们|帮忙|麻烦).{0,4}(查|看)一?下?(我|我们|俺)|进没进|过没过|评没评上"
    # one's own paper looked over ("我的申报表是不是漏填了…你帮我看一下")
    r"|(我|我们|俺)的.{0,10}(是不是|有没有).{0,12}(你|您)?帮(我|我们|俺)(看|查|检查)一?下"
    r"|没传上|传上了没|传上去了吗|显示审核中|一直显示"
    r"|(我|我们|俺).{0,16}(哪个|哪部|哪几个|哪几部|哪些).{0,4}(评上|获奖|得奖|入围|入选|通过)了"
)

_OWNER = r"(?:我|我们|俺|俺们|咱|咱们|我家|孩子|闺女|女儿|儿子|学生)"
#: Something the asker already sent ("寄过去的", "报给江北区的", "传的"), then its status asked.
_OWN_STATUS = re.compile(
    _OWNER + r"[^，,。？?!！]{0,20}"
    r"(?:寄|交|发|报|传|提交|上传|推荐|申报|报送|推)(?:过去|上去|出去|出|给[^，,。？?]{1,6}|到[^，,。？?]{1,6})?(?:的|了)"
    r"[^。？?!！]{0,20}?"
    r"(?P<status>到哪一步|哪一步|有消息|有结果|结果|怎么样了|得怎么样|分数|名次|排名|第几|票数|退回"
    r"|打开|打得开|有问题|收到|签收|看(?:得)?(?:到|着|见)|通过|入围|评上|获奖|落选|进展|进度|状态|审过|过了"
    r"|到了(?:没|没有|吗)|到没到|找不(?:着|到)了|不见了|删了|有没有(?:进|入)"
    # what was done with it there, or what went wrong with it ("寄过去的光盘好像刻坏了…检查过没有")
    r"|(?:检查|查看|看|打开|播放)过|坏了|读不出|打不开|放不了)"
)
#: Whether what the asker sent was received, the receiving said first ("组委会收到我们区7月28号发的
#: 邮件没有哦", "你们收到我寄的推荐表没有"); "收到材料后多久回复" asks the rule.
_RECEIVED_OWN = re.compile(
    r"收(?:到|着)了?" + _OWNER + r"[^，,。？?!！]{0,12}(?:寄|交|发|报|传|提交|上传|推荐|申报|报送)"
    r"(?:过去|上去|出去|过来|给[^，,。？?]{1,6}|到[^，,。？?]{1,6})?的[^，,。？?!！后会要能]{0,8}?了?"
    r"(?:没|没有|没得|吗|么|嘛)(?:哦|呢|啊|呀)?(?:[?？!！。]|$)"
)
#: One's own work and what became of it ("我的作品是不是被退回了").
_OWN_FATE = re.compile(
    _OWNER + r"(?:的|们的)?[^。？?!！]{0,8}(?:作品|片子|视频|稿子|稿件|链接|申报表|推荐表|光盘|材料)"
    r"[^。？?!！]{0,6}(?:是不是|有没有|是否)(?:被|让人给?|被人)?(?:退回|通过|入围|评上|获奖|落选|收到|失效|过期|删)了"
)
#: Whether one's own work passed a stage ("我的作品有没有通过初审", "我们的片子是不是入围了"), asked
#: without 了: "作品需要通过初审吗" asks the rule and names no owner.
_OWN_STAGE = re.compile(
    _OWNER + r"(?:的|们的)?[^。？?!！，,]{0,8}(?:作品|片子|视频|稿子|稿件|科普号)[^。？?!！，,]{0,4}"
    r"(?:有没有|是不是|是否)(?:被)?(?:通过|入围|入选|评上|获奖|落选|收到)(?:了)?"
    r"(?:初审|复审|终审|评审|审核|形式审查)?(?:[?？。]|$)"
)
#: One's own work sent back ("我的作品被退回来了，说是不符合要求，能告诉我具体哪里不行吗"): its
#: review is the entrant's record, not the notice's.
_OWN_RETURNED = re.compile(
    # not supposed ("如果我的作品被退回了，还能再交吗" asks the rule)
    r"(?<!如果)(?<!要是)(?<!假如)(?<!万一)(?<!假设)(?<!若)(?<!如)"
    + _OWNER
    + r"(?:的|们的)?[^。？?!！]{0,8}(?:作品|片子|视频|稿子|稿件|申报表|推荐表|材料)"
    r"[^。？?!！，,]{0,4}被(?:人)?(?:退回|打回|驳回|退)(?:来|去)?了"
)
#: What became of one's own work, asked in the completed aspect ("我的作品评上奖了吗", "我们推荐的
#:那部片子进会议评审名单了没有", "我们的视频拿到奖没得"); the rule asks without 了 ("要通过…吗").
_OWN_OUTCOME = re.compile(
    _OWNER + r"[^。？?!！]{0,12}(?:作品|片子|视频|稿子|科普号|那部|那个)[^。？?!！]{0,4}"
    r"(?:评上|获|拿到|得了|得到|进|入围|入选|通过|收到|上了)[^。？?!！]{0,10}?"
    r"(?:了(?:吗|么|嘛|没|没有|没得)|(?:没|没有|没得)(?:[?？。]|$))"
)
#: The status alone, its subject left to the chat ("有消息了没", "出结果了吗", "审完了没").
_BARE_STATUS = re.compile(
    r"^(?:请问|那个|老师)?[，,]?(?:现在|目前)?(?:有|出)?(?:消息|结果|回音|进展|动静)了?(?:没|没有|没得|吗|么|嘛)"
    r"|^(?:审|审核|评|看)完了?(?:没|没有|吗)"
    r"|收着(?:了)?(?:没|没有|吗)"  # 东北话: 收着没 is 收到没
    r"|(?:寄|发)出(?:来|去)(?:了)?(?:没|没有|吗)|(?:咋|怎么)还没收(?:着|到)"
    # A stage passed, asked of a work sent.
    r"|(?:初审|复审|终审|评审|审核|审查|审)过了(?:没|没有|没得|吗|么|嘛)"
)
#: The general shape behind the phrasings above, in three cues: the asker's own (我, 俺, 咱, our),
#: something already done (已经, 上周, 10月20号, 寄出去, sent) and a state asked of it (收到…没, 审…吗,
#: 通过了没); or a favour done to one's own record (帮我们改/查/撤). Each cue alone is common in
#: questions about the rule ("我们要寄光盘吗"); together they were never met in one (session 18).
_ASKER = re.compile(r"我|俺|咱|\b(?:my|our|we|i)\b", re.IGNORECASE)
_DONE = re.compile(
    r"已经|早就|早已|上周|上礼拜|上星期|昨天|前天|前两天|前几天|上个月|上月|月底|月初|月中|刚才|刚刚|之前|当时|那天"
    r"|\d+\s*[月/.]\s*\d+\s*[日号]?"
    r"|(?:寄|交|报|传|发|提交|上传|投|推|递|推荐)(?:出去|过去|上去|出|过|了|完)|(?:寄|交|报|传|提交|上传|推荐)的"
    r"|\b(?:sent|submitted|uploaded|emailed|mailed|posted)\b",
    re.IGNORECASE,
)
_STATE_ASKED = re.compile(
    r"(?:收到|收着|签收|到了|到没|通过|过了|过没|审|结果|进度|状态|消息|动静|回复|回音|名单|入围|入选|评上|获奖"
    r"|得奖|票|排名|第几|分数|多少分|好多分|几分|打开|能看|看得到|看到|找不|不见|显示|登记|处理)"
    r"[^。？?!！]{0,8}(?:没|没有|吗|(?<![怎什])么|嘛|不|没得|呢|[?？])"
    r"|\b(?:received|arrived|approved|accepted|passed|status|checked|confirmed)\b",
    re.IGNORECASE,
)
#: A state asked in the completed aspect ("审核了没", "通过了吗", "有消息了没", "到哪一步了"): of
#: one's own, enough without a date.
_STATE_REACHED = re.compile(
    r"(?:收到|收着|签收|到|通过|过|审|审核|审查|审完|评|评上|入围|入选|获奖|得奖|处理|登记|回复|传上|推上去"
    r"|报上去|交上去|出来)了?(?:没|没有|没得|了吗|了么|了嘛|了没|不了)(?![^。？?!！]{0,3}(?:关系|问题))"
    r"|(?:有|出)(?:消息|结果|回音|动静|回复)了?(?:没|吗)|(?:到|在)哪(?:一步|个阶段)了?|怎么样了|咋样了"
    r"|咋还没|怎么还没|一直没(?:消息|动静|回复|回音)|(?:作品|片子|视频|稿子|投稿|[一二两三四五几]部)[^。？?!！]{0,6}还在(?:吗|么|嘛|不|没)"
    # "How many votes has my video got", "Has our entry been accepted"
    r"|\b(?:has|have|did)\s+(?:my|our)\b[^.?!]{0,30}\b(?:got|gotten|received|passed|been|won|made)\b"
    r"|\bvotes?\s+(?:has|have|did)\s+(?:my|our)\b"
)
_FAVOUR = r"(?:帮我|帮我们|帮忙|麻烦|能不能帮|可不可以帮|可以帮|能帮|替我)[^。？?!！]{0,12}"
#: A change made to one's record is personal by itself; a look ("帮我看一下时长有什么要求") only
#: when something was already done or a state is asked.
_CHANGE_ASKED = re.compile(
    _FAVOUR + r"(?:改|换|删|撤|恢复|核对|更正|更新|替换)|\b(?:can|could) you (?:change|fix|correct|update)"
    r"|把(?:我|我们|俺|咱)[^。？?!！]{0,16}(?:改|换|删|撤|更正)",
    re.IGNORECASE,
)
_LOOK_ASKED = re.compile(
    _FAVOUR + r"(?:查|看看|看一下|看下|瞅|确认)|\b(?:can|could) you (?:check|confirm|look)",
    re.IGNORECASE,
)


#: What still asks the rule, whatever was done before ("我们已经报名了，评审结果什么时候出", "我们提交后
#: 还能修改作品名称吗", "截止时间到了没", "报名通道还在不"): these veto the cues, not the phrasings above.
_RULE_STILL = re.compile(
    r"什么时候|啥时候|多久|会不会|会[^。？?]{0,8}吗|还能|能不能|需要|要不要|是否|算不算|算.{0,8}吗|怎么|如何"
    r"|截止|通道|入口|\b(?:is (?:that|it) (?:ok|acceptable|allowed)|when|how (?:do|does|can|should|long))\b",
    re.IGNORECASE,
)


def _own_state_asked(question: str) -> bool:
    if not _ASKER.search(question) or _RULE_STILL.search(question):
        return False
    done, asked = _DONE.search(question), _STATE_ASKED.search(question)
    looked_up = _LOOK_ASKED.search(question) and (done or asked)
    return bool(
        (done and asked) or _STATE_REACHED.search(question) or _CHANGE_ASKED.search(question) or looked_up
    )


#: What must be done, not what happened: "要通过形式审查吗", "需要先经过审核吗".
_RULE_ASKED = re.compile(
    r"(?:要|需要|必须|须|得|应该|应当|能不能|可以|能否)(?:先)?(?:通过|经过|审核|审查|收到|写|填|附)"
    r"(?:(?!了)[^。？?!！]){0,10}(?:吗|么|嘛|不|[?？]|$)"
)


#: One's own submissions looked up, withdrawn or counted, said as an order ("查查我的投稿有没有通过
#: 初审", "查一下我的投稿现在是什么状态", "我想撤回已经自荐的那部作品", "我这个账号下现在一共交了
#: 几部作品"): the record, not the notice.  "我的投稿在哪" (hlj's page of that name) asks the rule.
_OWN_RECORD = re.compile(
    r"^(?:请|麻烦|帮忙)?(?:查查|查一下|查下|看看|看一下|看下|瞅瞅)"
    + _OWNER
    + r"(?:的|申报的|提交的|交的|报的|投的)"
    r"[^。？?!！]{0,16}(?:没有|没|吗|么|状态|进度|结果|情况|怎么样|什么样)"
    r"|" + _OWNER + r"(?:想|要|打算|准备)(?:把)?[^。？?!！，,]{0,6}(?:撤回|撤销|撤下|撤掉)[^。？?!！]{0,4}"
    r"(?:已经|之前|刚才|刚|那部|那个|作品|片子|视频)"
    r"|" + _OWNER + r"(?:报|交|提交|投|申报|推荐|上传)的[^。？?!！，,]{0,10}(?:想|要)(?:撤回|撤销|撤下|撤掉)"
    r"|" + _OWNER + r"[^。？?!！，,]{0,8}(?:一共|总共|已经)(?:交|提交|报|投|上传|申报)了"
    r"(?:几|多少)(?:部|个|条)"
)


#: One's own entry gone from view ("我的投稿怎么看不到了", "我的作品找不到了"): its record, not the page.
_OWN_GONE = re.compile(
    _OWNER
    + r"的(?:投稿|作品|片子|视频|稿子)[^，,。？?!！]{0,6}(?:看不到|看不见|找不到|找不着|不见|没了|消失)"
)


_HOW = re.compile(r"怎么|怎样|如何|在哪|哪里|能不能|能否|可以吗|可不可以|行吗|还能")


def about_own_submission(question: str) -> bool:
    """Whether ``question`` (normalised) asks the state of the asker's own submission."""
    if _RULE_ASKED.search(question):
        return False
    own = (
        PERSONAL,
        _OWN_STATUS,
        _RECEIVED_OWN,
        _OWN_FATE,
        _OWN_STAGE,
        _OWN_RETURNED,
        _OWN_OUTCOME,
        _BARE_STATUS,
        _OWN_GONE,
    )
    # "我想撤回作品，怎么操作" asks how it is done (hlj's 删除投稿), not for it to be done.
    ordered = _OWN_RECORD.search(question) and not _HOW.search(question)
    return any(pattern.search(question) for pattern in own) or bool(ordered) or _own_state_asked(question)
