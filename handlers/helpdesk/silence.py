"""Things entrants ask that notices often leave unsaid: fees, prize money, certificates, travel,
when the results come out.

When a question is about one of these and the contest's notice has not a word on it, the right
answer is to say so plainly (and where to ask), not to hand the question to an operator who can
only say the same.  Where the notice does mention it (cacsi's 入驻证书), the question is searched
like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from handlers.helpdesk.lexicon import ENTERED_BEFORE


@dataclass(frozen=True, slots=True)
class SilentTopic:
    asked: re.Pattern[str]  # the question is about it
    mentioned: re.Pattern[str]  # the notice says something about it
    chinese: str
    english: str
    #: What the notice does say nearby, searched for and told beside the silence ("获奖有奖金吗": no
    #: money, but cacsi's 入驻证书 and 荣誉证书).
    nearby: str = ""


def _topic(asked: str, mentioned: str, chinese: str, english: str, nearby: str = "") -> SilentTopic:
    return SilentTopic(re.compile(asked), re.compile(mentioned), chinese, english, nearby)


TOPICS: tuple[SilentTopic, ...] = (
    _topic(r"报名费|参赛费|评审费|会费|收费|费用|交费|缴费|交钱|要钱|花钱|收钱|付费|(是|要|都)?免费(的)?(吗|么|嘛)|掏钱"
           r"|\bfees?\b|\bcost\b|\bpay\b|charge",
           r"报名费|参赛费|评审费|会费|收费|免费|费用",
           "通知没有提到报名费、参赛费、会费等费用。",
           "The notice says nothing about entry fees or other charges."),
    # Money asked of a prize, not of anything that costs ("冰雪大世界门票多少钱").
    _topic(r"奖金|奖品|奖励多少|奖.{0,8}(?:多少钱|钱多少|有钱|给钱|补贴)|(?:多少钱|钱多少|有钱).{0,6}奖"
           r"|prize money|\bmoney\b|\bcash\b|bonus",
           r"奖金|奖品|\d+元|万元",
           "通知没有提到奖金或奖品。", "The notice says nothing about prize money or prizes.",
           "获奖 奖励 证书 荣誉 称号 评选出 推荐 展示"),
    # How many works win: not how many a unit may send ("能推荐几部优秀作品" is a quota).
    _topic(r"^(?!.*(?:推荐|推|报送|报|交|送|投|申报)(?:上去)?(?:几|多少))"
           r"(?:.*(?:评出|评选出|选出|评上|获奖|得奖|优秀|入选|入围|奖项).{0,10}(?:多少|几)(?:部|个|件|名|项)?"
           r"|.*(?:多少|几)(?:部|个|件|名|项).{0,8}(?:获奖|得奖|优秀|入选|入围|能评上|评上)"
           r"|.*(?:评|设|有)(?:几|多少)个?(?:奖|等奖)|.*[一二三]等奖.{0,4}(?:几|多少)"
           r"|.*how many .{0,40}(?:win|award|prize|chosen|selected|excellent))",
           r"(?:评选出|评出|评选)\s*\d+|\d+\s*部\s*(?:入围|优秀)|优秀作品\s*\d+|占比\s*\d+|\d+\s*名",
           "通知没有写明评出多少部获奖（优秀）作品。",
           "The notice does not say how many works will win or be chosen."),
    _topic(r"(?:交|提交|报|投|报名)(?:上去|了|完)?(?:以后|之后|后).{0,8}(?:修改|改|更换|替换|撤回|撤销)"
           r"|(?:撤回|撤销)(?:报名|投稿|作品)",
           r"修改|撤回|删除投稿|更换",
           "通知没有写明提交后能否修改或撤回作品。",
           "The notice does not say whether an entry can be changed or withdrawn after it is submitted."),
    _topic(r"(?:名单|结果).{0,6}(?:在哪|哪里|哪儿|什么地方|哪个网站|什么网站)"
           r"|(?:在哪|哪里|哪儿).{0,4}(?:公布|公示|发布|看|查).{0,4}(?:名单|结果)",
           r"(?:结果|名单).{0,20}(?:网站|公众号|官网|平台|网上)|(?:网站|公众号|官网|平台).{0,20}(?:公布|发布)(?:结果|名单)",
           "通知没有写明获奖名单在哪里公布。",
           "The notice does not say where the results will be published."),
    # The camera, where the notice names none (cq, most-cas, cacsi): 可以用手机拍吗.  The picture's
    # own rules (resolution, ratio) are told beside it.
    _topic(r"(?:手机|相机|摄像机|单反|微单|无人机|运动相机|平板|ipad)[^，。？?]{0,6}(?:拍|录|摄)[^，。？?]{0,6}"
           r"(?:吗|么|嘛|行不行|可以不|能不能|可不可以|行吗|可以吧|行不|[?？]|$)"
           r"|(?:拍摄|录制)设备(?:有)?(?:要求|限制|规定)|用什么(?:设备|机器)拍",
           r"手机|相机|终端|摄录|设备",
           "通知没有规定用什么设备拍摄（手机、相机都没有限制）；成片符合通知对视频的要求即可。",
           "The notice sets no rule on the camera; the finished video must meet its video rules.",
           "分辨率 画幅 格式"),
    # How many makers a form's cell may name ("主创人员那栏最多能写几个人"): no notice caps it.
    _topic(r"(?:主创|作者|署名|创作者)[^？?。]{0,10}(?:最多|最少|至多|限)?(?:能|可以)?(?:写|填|署|署名|报)?(?:几|多少)(?:个|位|名)?(?:人|名)"
           r"|(?:主创|作者|署名)[^？?。]{0,6}人数",
           r"(?:主创|作者)[^。]{0,8}(?:不超过|最多|限)\s*\d+\s*(?:人|名)",
           "通知没有规定主创人员（作者）最多能写几人。",
           "The notice sets no limit on how many makers may be named."),
    # A disc asked for where the notice takes none (most-cas alone asks for 光盘 by post).
    _topic(r"光盘|\bdiscs?\b|\bdvds?\b|\bcds?\b",
           r"光盘",
           "通知没有要求寄送光盘。",
           "The notice asks for no disc.",
           "提交方式 上传 提交"),
    # How long an account must have run ("科普号要开通运营多久才能申报"): cacsi sets its activity
    # (作品数, 粉丝量), not its age.
    _topic(r"^(?=.*(?:科普号|账号|帐号))(?:.*(?:开通|运营|注册)(?:了)?(?:多久|多长时间|几年|几个月|满.{0,3}(?:年|月))"
           r"|.*(?:运营|开通)(?:时间|年限|时长)(?:有|要求|多长|多久))",
           r"运营(?:时间|年限|满)|开通.{0,4}(?:年|月)以上",
           "通知没有规定科普号开通或运营了多久才能申报。",
           "The notice sets no minimum age for an account.",
           "活跃度 发布作品 粉丝"),
    # The address to send to, where the notice gives none (asking, not a form's 电子邮箱 field).
    _topic(r"(?:有没有|哪个|什么|啥)(?:电子)?(?:邮箱|e-?mail|电子邮件)|(?:邮箱|电子邮件)(?:地址)?(?:是|是多少|是啥|是什么|多少|给我)"
           r"|发(?:到|去)?(?:哪个|什么|啥)邮箱|\bwhich e-?mail|\be-?mail address"
           # "有没有可以发邮件咨询的邮箱", "有咨询邮箱吗"
           r"|^(?!.*[填栏项])(?:.*(?:有没有|有无)[^，,。？?]{0,10}(?:邮箱|电子邮件)|.*有(?:咨询|联系|接收)?邮箱(?:吗|么|嘛|没))",
           r"@",
           "通知没有公布接收材料或咨询的电子邮箱。",
           "The notice publishes no e-mail address."),
    # The asker's materials posted (not the certificates or prizes the organisers post back).
    _topic(r"^(?!.*(?:证书|奖杯|奖品|获奖))(?:.*?)(?:"
           r"(?:寄|邮寄|快递)(?:到|去)?.{0,6}(?:地址|哪里|哪儿|哪个地方|哪(?:[?？。]|$))|(?:收件|邮寄)地址|地址.{0,4}(?:寄|邮)"
           r"|(?:要|需要|用不用|是否|还要)(?:邮寄|寄)(?:吗|么|嘛|不)?(?:[?？。 ]|$)"
           r"|\b(?:mailing|postal) address|where .{0,20}\b(?:mail|post)\b)",
           # materials posted, not the certificates the organisers post back (hlj: 后期证书邮寄)
           r"(?<!证书)(?:寄至|寄到|邮寄)(?!将以此)|地址[:：]",
           "通知没有要求邮寄材料，也没有公布邮寄地址。",
           "The notice asks for nothing to be posted and gives no postal address.",
           # how the materials are sent instead (cacsi: a net-disk link e-mailed)
           "提交方式 报送方式 上传 网盘 链接 发送 邮箱"),
    # A number to call, where the notice prints none (asking for one, not a form's 联系电话 field).
    _topic(r"(?:有没有|有没得|有木有|有无)[^，。？?]{0,4}(?:联系|咨询)?(?:电话|热线)|(?:电话|热线)(?:是)?(?:多少|几号)"
           r"|打(?:过去|个电话)(?:问|咨询)|咨询电话|\bphone number|\bhotline",
           r"\d{3,4}-\d{7,8}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{8}(?!\d)",
           "通知没有公布咨询电话。",
           "The notice publishes no telephone number."),
    _topic(r"邮戳|\bpostmark", r"邮戳",
           "通知没有写明邮寄材料以邮戳日期还是以收到日期为准。",
           "The notice does not say whether the postmark or the date of receipt counts."),
    _topic(r"光盘.{0,10}(?:几张|几份|格式|dvd|cd|蓝光|刻录|刻成)|(?:dvd|\bcd\b|蓝光).{0,6}光盘|刻盘|刻录",
           r"(?i:DVD|CD-?R?|蓝光|刻录)|光盘\s*(?:\d|一|两)\s*[张份]",
           "通知没有规定光盘的类型、份数或刻录格式。",
           "The notice does not specify the disc's type, number of copies or format."),
    _topic(r"封面.{0,8}(?:尺寸|大小|像素|分辨率|比例|格式|多大)",
           r"封面.{0,12}(?:尺寸|像素|px|比例|分辨率|\d)",
           "通知没有规定封面图的尺寸或格式。",
           "The notice does not specify the cover image's size or format."),
    # A frame rate or a bit rate: no notice sets one ("无跳帧、漏帧" is about dropped frames).
    _topic(r"帧率|帧数|几帧|多少帧|\bfps\b|frame ?rate", r"\d+\s*(?:帧|fps|FPS)|帧率",
           "通知没有规定视频的帧率。", "The notice does not specify a frame rate."),
    _topic(r"码率|比特率|bit ?rate", r"码率|比特率|\d+\s*(?:kbps|Mbps)",
           "通知没有规定视频的码率。", "The notice does not specify a bit rate."),
    # A work entered before, where the notice has no rule on it (hlj's 历届 rule is searched).
    _topic(ENTERED_BEFORE, r"历届|往届|已参加过|曾参加|参加过",
           "通知没有说往届参加过的作品能否再次参加。",
           "The notice does not say whether a work entered in an earlier year may be entered again."),
    # How the judges weigh their criteria, where the notice names them but gives no points or shares.
    _topic(r"(?:各|分别)?占(?:多少|几)(?:分|成)|(?:各|分别)占多少|分值|权重|打分(?:标准|细则)|评分(?:标准|细则)"
           r"|how (?:much|many points) .{0,20}\b(?:worth|weigh)|\bweight(?:ing|s)?\b.{0,20}\bcriteri",
           r"\d+\s*分(?!钟)|\d+\s*[%％]|百分之",
           "通知没有给出评分标准的分值或各项所占比例。",
           "The notice gives no points or weights for the judging criteria."),
    # Where the public votes, where the notice says only "主办方指定网站".
    _topic(r"(?:投票|投)[^，。？?]{0,6}(?:哪个|什么|啥)(?:网站|平台|网址|地方)|(?:投票|投票的)?网址[^，。？?]{0,4}(?:发|给|是)"
           r"|where .{0,20}\bvote|\b(?:url|address|link)\b.{0,50}\bvot"
           r"|\bvot\w* (?:site|website|page)\b.{0,20}\b(?:url|address|link)",
           r"投票[^。]{0,30}(?:www\.|https?://|\.com|\.cn)",
           "通知只说在主办方指定网站进行投票，没有公布网站名称或网址。",
           "The notice says voting takes place on a website the organisers designate; it gives no address."),
    # How the public vote is cast: how many votes a person has, how often.
    _topic(r"(?:投|投票)[^，。？?]{0,6}(?:几|多少)票|一天[^，。？?]{0,6}投(?:几|多少)|每人[^，。？?]{0,4}(?:几|多少)票"
           r"|how many votes",
           r"每人|每天.{0,4}票|票数上限|(?:可|能)投\s*\d",
           "通知没有写明网络投票每人可投几票、多久可投一次。",
           "The notice does not say how many votes each person may cast."),
    # A public vote asked of where the notice has none at all (hlj, cq: experts alone judge).
    _topic(r"投票|点赞|(?:公众|大众|网友)(?:评选|评分)|public vote|\bvoting\b",
           r"投票|点赞|网络评选|公众评选",
           "通知没有提到网络投票或公众投票环节。",
           "The notice mentions no public or online vote."),
    # What a making unit may send to its district: the places are the district's to the organisers.
    _topic(r"(?:一个|每个|每家|我们)?(?:创作)?单位[^，。？?]{0,6}(?:报|交|送|投)(?:几|多少)[^，。？?]{0,6}(?:给|到)"
           r"(?:区|县)|(?:给|到)(?:区县|区里|县里)[^，。？?]{0,6}(?:报|交|送|投)(?:几|多少)"
           # "一个创作单位最多能报几部": the notice's word for the maker, whatever it is sent to
           r"|(?:一个|每个|每家)创作单位[^，。？?]{0,6}(?:报|交|送|投|推|申报)(?:几|多少)",
           r"每(?:个|家)(?:创作)?单位[^，。；]{0,8}(?:限|不超过|最多)",
           "通知没有限制每个创作单位向区县报送几部作品；通知规定的名额是区县向组委会择优推荐的数量。",
           "The notice does not limit how many works a making unit may send to its district; the quota is "
           "on what each district recommends to the organisers."),
    # How long the list is publicly shown, where the notice says only "经公示无异议后".
    _topic(r"公示(?:期|时间)?[^，。？?]{0,6}(?:几天|多少天|多久|多长时间|多长|几个工作日)"
           r"|how long .{0,30}public notice",
           r"公示[^。]{0,12}\d+\s*(?:天|日|个工作日)|\d+\s*(?:天|日|个工作日)[^。]{0,4}公示",
           "通知没有写明公示期的天数。", "The notice does not say how long the public notice period lasts."),
    # Sending after the deadline, where the notice says nothing of late entries.
    _topic(r"补交|补报|(?<!最)晚交|迟交|逾期|过了(?:截止)?(?:日期|时间|期限)?(?:以后|之后)?(?:还|也)?(?:能|可以|让)"
           r"|截止(?:日期|时间)?(?:以后|之后|后)(?:还|也)?(?:能|可以)(?:交|报|投|提交)"
           r"|\blate (?:entr|submission)",
           r"逾期|补交|截止(?:日期|时间)?(?:以后|之后|后)[^。]{0,10}(?:不|恕)",
           "通知没有写明截止日期之后能否补交；按通知，请在截止日期前提交。",
           "The notice says nothing about late entries: submit before the deadline."),
    # How characters are counted against a form's limit: no notice says; the dialog's own count is told.
    _topic(r"(?:标点|空格|符号)[^，。？?]{0,8}(?:算|计|占|包括|包含)"
           r"|(?:算|计|占|包括|包含)[^，。？?]{0,6}(?:标点|空格)|punctuation|spaces? count",
           r"标点[^。]{0,8}(?:计入|不计|算|包括|不包括)",
           "通知没有写明标点、空格是否计入字数。本助手核对字数时：汉字、字母、数字、标点各算1个字，空格和换行不计；"
           "如主办方另有说明，以主办方为准。",
           "The notice does not say whether punctuation or spaces count. This assistant counts each Chinese "
           "character, letter, digit and punctuation mark as one and ignores spaces and line breaks."),
    _topic(r"证书|奖状|certificate", r"证书|奖状",
           "通知没有提到是否颁发证书。", "The notice says nothing about certificates."),
    _topic(r"路费|差旅|报销|住宿|食宿|travel|accommodation", r"路费|差旅|报销|住宿|食宿",
           "通知没有提到差旅、食宿或报销。", "The notice says nothing about travel or accommodation costs."),
    _topic(r"(结果|名单|获奖).{0,6}(什么时候|啥时候|何时|几时|哪天|几月|几号|多久)(能|会|才)?(公布|出|发布|知道)?"
           r"|(什么时候|啥时候|何时|几月|哪天)(能|会|才)?(公布|出|发布|知道)(结果|名单)"
           r"|when .{0,30}\bresults?\b|\bresults?\b.{0,20}\b(announced|published|out)\b",
           r"(结果|名单|获奖).{0,20}(\d+月|上旬|中旬|下旬)|(\d+月|上旬|中旬|下旬).{0,20}(结果|名单|公布|发布)",
           "通知没有写明评选结果公布的时间。", "The notice does not say when the results will be announced."),
    _topic(r"退还|退回(光盘|作品|来|吗)|退稿|还给我|寄回|会退|退给|\breturn(ed)? (the|my) (disc|video|work)",
           r"退还|退稿|寄回|不退",
           "通知没有提到是否退还参赛作品或光盘。",
           "The notice does not say whether entries or discs are returned."),
)  # fmt: skip


def asks_a_silence(question: str) -> bool:
    """Whether ``question`` (normalised) asks about one of the topics notices often leave unsaid:
    such a part of a message asks something of its own ("截止日期是几号？过了还能补交吗")."""
    return any(topic.asked.search(question) for topic in TOPICS)


def silent_topic(question: str, said: Sequence[str]) -> SilentTopic | None:
    """The topic ``question`` (normalised) asks about that nothing ``said`` mentions: the notice's
    clauses, and the contest's own rules (a new edition's dated stages, which no lent clause has)."""
    for topic in TOPICS:
        if topic.asked.search(question) and not any(topic.mentioned.search(text) for text in said):
            return topic
    return None


#: What no notice is about, though it may name a contest's words ("帮我剪一下视频", "推荐个剪辑软件",
#: "科技馆周一开门吗"): asking the assistant to do a job, or the weather, traffic, food, a place's
#: opening hours or the way there.  Given the scope reply rather than handed to a person, unless an
#: entry answers it confidently.
#: Asking to be recommended something to watch, read, eat or buy ("推荐几部好看的自然纪录片"): no
#: notice's matter whatever words of a quota it has, so told at once, before any entry is searched.
PLAIN_ERRANDS = re.compile(
    r"好看的|好玩的|好吃的|推荐(?:几|一)(?:本|首|款|家|部好看)|推荐(?:个|一台|一款)?(?:笔记本|电脑|手机)|限号|限行"
    # tools and things to do recommended ("推荐几个好用的剪辑软件", "推荐几个在家能做的科学小实验")
    r"|推荐(?:几|一)?(?:个|款|些)[^。？?]{0,10}(?:软件|app|APP|工具|网站|小实验|游戏)|(?:剪辑|剪视频)(?:软件|工具)"
    r"|(?:剪映|\bpr\b)[^。？?]{0,10}(?:好用|哪个好)"
    # a text written for the asker ("帮我写一段弘扬科学家精神的演讲稿"), whatever the contest words in it
    r"|(?:帮我|帮我们|帮忙|替我|给我)(?:写|起草|拟|编)(?:一|个|段|篇|份|首)|演讲稿|讲话稿|发言稿"
    r"|recommend (?:me )?(?:a|an|some) (?:good |cheap |decent |nice )?"
    r"(?:laptop|computer|phone|book|movie|film|restaurant|hotel|song)",
    re.IGNORECASE,
)
OUT_OF_SCOPE = re.compile(
    PLAIN_ERRANDS.pattern
    + r"|帮我(?:剪|写|做|画|拍|改|修|翻译|配|想|编|推荐个|推荐一个|推荐一款)|写一首|写首|讲个笑话|翻译一下"
    r"|天气|下雨|气温|限行|限号|尾号|火锅|好吃|餐厅|饭店|美食|地铁|公交|打车|怎么走|怎么去|开门|营业|门票"
    r"|剪辑软件|什么软件|哪个软件|哪款软件|股票|彩票|兴趣班|怎么辅导|家长该"
    r"|帮我算|房贷|贷款|利息|鸡兔同笼|数学题|近视|眼镜|轻轨|末班|收班|(?:咋|怎么)做(?:才|好吃|能)|做法|菜谱|食谱|锅包肉"
    r"|小说|书单|(?:电影|电视剧)推荐|机票|火车票|高铁票|订票|订酒店|酒店|减肥|健身|挂号|看病|出差|住哪|交通方便"
    r"|(?:数学|语文|英语|成绩|学习)(?:不好|太差|很差)|写作业|作业怎么|(?:作业|手工|模型)[^。？?]{0,10}(?:咋|怎么|如何)做"
    r"|作业[^。？?]{0,12}(?:帮忙|帮我|想个|出个)"
    r"|汇率|\bexchange rates?\b|\bcurrenc(?:y|ies)\b|\bstock prices?\b"
    # an exam or a school place ("中科院的研究生好考吗"): no contest's notice is about admissions
    r"|考研|研究生[^。？?]{0,4}(?:好考|难考|怎么考|考试|招生)|(?:报考|招生简章|分数线|复试|调剂)"
    # another programme's business: a grant, an olympiad, a subsidy, a title review ("国家自然科学基金什么
    # 时候申报", "科技特派员的工作补贴啥时候发放", "孩子想参加信息学奥赛")
    r"|(?:自然科学|社会科学|社科)基金|奥赛|奥数|奥林匹克|(?:工作|生活|交通|下乡|误餐)补贴|职称评(?:审|定)|高考|中考"
    # a science lesson asked for ("帮我解释一下量子纠缠是什么"): the contest's notice teaches none
    r"|(?:帮我|给我|麻烦)(?:解释|讲讲|讲解|科普)|越通俗越好"
    r"|翻成(?:英文|中文|英语)|翻译成|去哪(?:儿|里)?玩|哪里好玩|景点|旅游|开园|催熟|买的太"
    r"|\bweather\b|\brestaurant|\bsubway\b|\bmetro\b|write (?:me )?a poem|tell (?:me )?a joke"
    r"|\bhotels?\b|\blaptops?\b|passport|\bvisa\b|\bflights?\b|train tickets?|\btaxi\b"
)


def out_of_scope(question: str, *, plainly: bool = False) -> bool:
    """Whether ``question`` (normalised) asks what no contest's notice is about; ``plainly``: so
    plainly (:data:`PLAIN_ERRANDS`) that no entry's match could make it a contest question."""
    return bool((PLAIN_ERRANDS if plainly else OUT_OF_SCOPE).search(question))
