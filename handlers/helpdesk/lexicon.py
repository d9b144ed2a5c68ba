"""The helpdesk's lexicon: the words entrants use for the notices' own (synonyms), the phrases
that imply an intent without its word, rewrites of slips and regional words, stop words and the
domain terms jieba must keep whole.  Tables only; :mod:`handlers.helpdesk.analyzer` reads them."""

from __future__ import annotations

import re

# Written from the notices' vocabulary and the issue's sample questions; see bench/README.md
# ("Helpdesk") for which changes came from the dev split and how the test split was kept out.


def words_of(text: str) -> tuple[str, ...]:
    """A whitespace-separated word list: Chinese vocabularies read better as prose than as tuples."""
    return tuple(text.split())


def _groups(text: str) -> dict[str, tuple[str, ...]]:
    """``canonical: variant variant …`` lines into a mapping; a canonical may take several lines."""
    groups: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        canonical, _, variants = line.partition(":")
        groups[canonical.strip()] = groups.get(canonical.strip(), ()) + words_of(variants)
    return groups


#: canonical term -> the words entrants (and notices) use for it.  Applied to questions and entries alike.
SYNONYMS: dict[str, tuple[str, ...]] = _groups("""
    大小: 多大 兆 mb mib gb 容量 体积 文件大小 大小
    时长: 多长 几分钟 多少分钟 时长 长度 时间长度 多长时间
    截止: 截止 截至 截止日期 截止时间 最晚 最迟 最后一天 deadline ddl 截稿 期限
    开始: 开始 起始 开放 启动
    盖章: 盖章 公章 印章 盖公章 加盖 签章 章
    签字: 签字 签名 手签 签 代签 替签 代为签字
    手写: 手写 亲笔 打印 电子签 电子签名 电子签章 打字
    人工智能: ai aigc 人工智能 chatgpt 生成式 ai生成
    分辨率: 分辨率 清晰度 高清 像素 画质 4k 1080p 720p 超清
    画幅: 画幅 横屏 竖屏 横版 竖版 画面比例 宽高比 比例 横向 竖向
    格式: 格式 mp4 mov avi wmv mkv flv 文件格式
    联系: 联系 电话 联系方式 联系电话 联系人 咨询 热线 手机号
    科技厅: 科技厅 科学技术厅
    科技局: 科技局 科学技术局
    科委: 科委 科学技术委员会
    邮箱: 邮箱 email 邮件 电子邮箱 e-mail mail
    网盘: 网盘 百度云 百度网盘 云盘
    出镜: 出镜 露脸 露面 上镜 出境
    解说: 解说 画外音 旁白
    链接: 链接 分享链接 链接地址 分享
    终端: 终端 设备 器材 拍摄设备
    语言: 语言 方言 普通话 英语 英文 外语 粤语 四川话 广东话 上海话 东北话 闽南话 客家话 少数民族语言 中文
    语言: 汉语
    名额: 名额 配额 限额
    视频: 视频 片子 影片 短片 短视频 微视频 片 视屏 video
    提交: 提交 报送 投稿 递交 上交 交 发送 发给 发 报 送 交上去 发到 交到 送到
    修改: 修改 改 更改 更正 编辑 改动 写错 填错 弄错 搞错 打错 输错 敲错
    奖项: 奖项 奖金 奖励 奖品 获奖 得奖 奖 好处
    评分: 评分 打分 评分标准 评审标准 评选标准 分值 权重 评分细则 计分 评分表 打分表 评分规则 评审规则
    播出: 播出 播映 播放 公开播映 上线 首播 播过
    制作: 制作 拍摄 拍 做好 拍好 完成 做 做成 整完 弄完 搞完 剪完
    原创: 原创 抄袭 剽窃 搬运 洗稿
    权利: 权利 播放权 使用权 永久使用权 展播权
    音乐: 音乐 配乐 配音乐 配个音乐 配点音乐 背景音乐 bgm 歌 歌曲 流行歌 流行歌曲 流行音乐
    水印: 水印 logo 台标
    审核: 审核 审查 把关 初审 审
    其他: 其他 其它 别的 另外的
    他人: 他人 别人 其他人 人家
    去除: 去除 去掉 删掉 拿掉 抹掉
    动画: 动画 动画片 动漫 卡通
    时间范围: 时间范围 时间段 期间 时段
    个人: 个人 公民 自然人 本人
    邮寄: 邮寄 寄 快递 寄送 寄到 寄过去 寄去 寄出 寄出去 寄给
    命名: 命名 起名 取名 名字怎么起
    有效: 有效 有效期 失效 过期
    参加: 参加 参赛 参与 报名参加
    字数: 字数
    要求: 要求 条件 规定 标准 限制 资格 门槛 讲究 说道 规矩 门道
    材料: 材料 资料
    共同: 共同 合拍 合作拍 一起拍 联合 联合制作 两家 几家 多家 多个单位
    重复: 重复 两条路 各报 都报 同时报 再报 重复推荐
    用途: 用途 干什么用 干啥用 干啥 拿去 使用权 无偿用于
    带货: 带货 卖货 卖东西 推销 卖产品 直播带货 直播卖 电商
    评选: 评选 评出 选出
    网络: 网络 网上 线上 在线 互联网 online 线下
    名称: 名称 名字 题目 片名 标题
    上传: 上传 传 传到 放 放到 放进 存 存到
    注明: 注明 标注 标明
    噪音: 噪音 噪声 杂音 嘈杂 吵 吵闹 底噪 电流声
    法定代表人: 法定代表人 法人 法人代表 法定代表
    发现: 发现 查出 查出来 被查 查到
    同意: 同意 点头 答应 允许
    依据: 依据 根据
    构成: 构成 组成 组成部分 结构
    报道: 报道 新闻 新闻报道
    举办: 举办 举行 办
    简体: 简体 简体字 繁体 繁体字 繁体中文
    介绍: 介绍 内容介绍 简介 文字介绍
    年龄: 年龄 年纪 岁数
    纠纷: 纠纷 争议 官司 打官司
""")

#: A work entered in an earlier edition ("前年参加过你们活动的作品", "参加过一次，还能再报吗"): an
#: intent of its own here, and a silence where a notice has no 历届 rule (``silence.py``).
ENTERED_BEFORE = (
    r"(?:参加|参赛|报|投)过[^，。？?]{0,14}(?:活动|比赛|大赛|评选|征集)|往届|上届|上一届|前几届|以前参加过"
    r"|(?:参加|参赛)过(?:一次|一回|了)?[^？?]{0,10}(?:还能|能不能|可以|再)"
    # a work that won before ("去年得过奖的片子今年还能再报不")
    r"|(?:得|获|拿)过(?:奖|奖项)[^？?]{0,12}(?:还能|能不能|可以|再)"
)

#: Phrases that say an intent without its keyword; matched on the question only, each adds its terms.
QUERY_PHRASES: tuple[tuple[str, str], ...] = (
    # A video too big for e-mail asks the other way to send it (most-cas: 如需在线传送，请联系QQ).
    (r"(太大|过大|超大|发不了|发不出|传不了|传不上|塞不下|超过)[^。？?]{0,8}(邮箱|邮件)"
     r"|(邮箱|邮件)[^。？?]{0,8}(太大|过大|发不了|发不出|传不了|传不上|超过|有限制|限制大小)", "在线传送"),
    (r"(什么时候|啥时候|何时|哪天|几号|几月几[号日])(之前|以前|前)?(要)?(交|提交|报送|投稿|截止|结束|停止)",
     "截止"),
    (r"(几号|哪天|哪一天)(之前|以前|前)|截[止至]?到?(哪天|几号|什么时候)", "截止"),
    # A guess at the deadline to confirm ("征集是到5月底对吧", "截止是不是6月底"): the deadline asked.
    (r"(征集|报名|投稿|提交|截止)[^，。？?]{0,4}(到|截至|截止到?|是不是)\s*(\d{1,2}|[一二三四五六七八九十]+)\s*月"
     r"(底|初|中|末|\d{1,2}\s*[日号])?\s*(对吧|是吧|吗|对不对|是不是|没错吧)?", "截止"),
    # Judged online or in a room ("今年是线下评审还是线上"): how the activity is held.
    (r"(线上|线下|现场|网上)[^，。？?]{0,4}(评审|评选|举办|进行|开展)|(评审|评选)[^，。？?]{0,6}(线上|线下|现场)",
     "线上 形式 举办"),
    # 好久 is "when" in Chongqing and Sichuan: "要在好久之前交".
    (r"好久(之前|以前|前|交|报|截止)", "截止"),
    # 好大/好长 ask "how big/long" there too: "最大可以传好大", "片子要拍好长".
    (r"(可以|能|传|有|是|要|得)好大|好大(嘛|哦|喃|噻|[?？，,]|$)", "大小"),
    (r"(可以|能|拍|剪|有|是|要|得)好长", "时长"),
    (r"(推荐|推|报|报送|申报|自荐|投|交|送)了?(几|多少|好几)(?!天|分|秒|号|月|年|兆|个?字|个?税|本|票)(部|个|件)?|名额"
     r"|(都|全部|全)(能|可以)(推荐|报|推)"
     # "能三条都报吗": every work the asker has, counted
     r"|(两|三|四|五|六|\d+)(条|部|个)(?!路|渠道|途径|通道|方式)[^，。？?]{0,3}都(能|可以|要)?(推荐|报|推|交)",
     "名额"),
    (r"多少(兆|m|mb|g)|几(兆|个?g)|多大", "大小"),
    # How many works an account must have published ("科普号要发多少作品才行"): its 活跃度 minimum, not
    # how many works a unit may send.
    (r"(发|发布|更新|发过)了?[^，。？?]{0,4}(多少|几)[^，。？?]{0,3}(作品|条|部|个视频|期)", "发布 活跃度"),
    # Whether the organisers may show the work: their rights over it ("主办方能随便播俺们的片子吗").
    (r"(能|可以|会|有权|随便|随意|免费|无偿)[^，。？?]{0,4}(播|放|展播|用)(?!出|过|了)[^，。？?]{0,6}(片子|作品|视频)",
     "权利"),
    (r"多长(时间)?|几分钟|多少分钟|多少秒|时间多长", "时长"),
    (r"(多少|几)个?字", "字数"),
    (r"(多少|几)个?(天|工作日)", "天数"),
    # "找谁" as the last word asks whom to contact; "找谁审核" asks who reviews.
    (r"(找谁|问谁)[?？。!！]*$|(找谁|问谁)(咨询|联系|问)|联系谁|打(什么|哪个|谁的)?电话|电话(号码)?(是)?多少"
     r"|咨询电话|电话给|怎么联系|联系方式(是)?(多少|什么)|(哪位|谁)(负责|老师|接收)"
     r"|(有没有|有没得|有无)[^，。？?]{0,4}(联系|咨询)?(电话|热线)|打过去(问|咨询)",
     "联系 联系方式"),
    (r"(在哪|哪里|哪儿|怎么|如何|怎样|通过什么|什么方式|什么渠道|什么途径)(里|儿)?(报名|提交|报送|交|投稿|寄|上传|发)",
     "提交方式"),
    (r"盖(个)?章", "盖章"),
    # "该谁报 / 谁来交": who of several makers submits, which the notices answer with 第一….
    (r"(该|由|应该|应由)谁(来|去)?(报|提交|交|申报|自荐|报送)|谁(来|去)(报|提交|交|申报|自荐|报送)", "第一"),
    # Several people made it together ("我和同事俩人一起做的"): the notices' 多人参与制作.
    (r"(俩人|仨人|两人|两个人|三个人|几个人|多个人|多人|俺们仨|我们仨|[两三四五几]位|我和[^，。？?]{1,4})"
     r"[^，。？?]{0,6}(一起|一块|合作|共同|联合|合拍)",
     "多人 参加"),
    # Which cloud drive ("网盘用哪家", "阿里云盘行不"): the notice names the one it takes.
    (r"(网盘|云盘).{0,4}(用|选)?(哪家|哪个|哪种|什么|啥)|用(哪家|哪个|什么|啥)(网盘|云盘)"
     r"|(阿里|夸克|天翼|迅雷|腾讯微云|微云|115)(云盘|网盘)?[，,]?(行|能|可以)",
     "提交方式"),
    # Someone of another unit on camera ("请隔壁大学的教授一起出镜"): who the work may feature.
    (r"(其他|别的|别个|外|隔壁|兄弟)[^，。？?]{0,6}(单位|大学|学校|公司|医院|研究所|研究院)[^，。？?]{0,12}"
     r"(出镜|一起|参与|宣传|作为|合作|专家|人员|教授|出现)"
     r"|(出镜|一起|参与|宣传|作为|拍|出现|请|找)[^，。？?]{0,6}(其他|别的|别个|外)(单位|大学|学校|公司)",
     "宣传主体 其他 单位"),
    # What goes behind a form ("区县推荐表后面要附啥材料"): the notices' 附后.
    (r"(后面|后边|之后)[^，。？?]{0,4}附|附[^，。？?]{0,2}(在)?(后面|后边)"
     r"|除了[^，。？?]{1,10}(还要|还得|还需要)附|(还要|还得|需要)附(上)?(啥|什么|哪些)", "附后"),
    # One author, two works ("同一个作者能报两部吗"): the once-only rule, not a unit's places.
    (r"同一(个|位)?(作者|人)[^，。？?]{0,6}(报|申报|推荐|投|交)[^，。？?]{0,3}(两|二|2|几|多)", "重复"),
    # "线上搞还是线下搞": how the event is held (搞 alone only frames).
    (r"(线上|线下|网上)(搞|弄|进行|举行)", "举办"),
    # Never published ("还没在网上发过"): the notices' 播出 (发 alone is sending an entry).
    # (questions are lower-cased before these are matched: b站)
    (r"(网上|网络|平台|抖音|b站|快手|视频号|公众号)[^，。？?]{0,4}(发过|发布过|发布|播过|上线|放过|发呢|发出)"
     r"|没(往|在|上)?(网上|网络|平台)[^，。？?]{0,2}(发|播|放)", "播出"),
    # Submitting online or on paper ("线下交材料还是线上"): how entries are delivered.
    (r"(?=.*(交|报送|投稿|寄|材料|报名))(线上|线下|网上)[^，。？?]{0,8}还是[^，。？?]{0,8}(线上|线下|网上)",
     "提交方式"),
    # "主办方能拿去播吗": the organiser's rights to the work.
    (r"(拿去|拿来|用来?|用于)(播|放映|展播|展示|宣传)|(能|可以|会)(不能|不会)?(拿去)?(播|播放|展播)(吗|么|嘛|不)",
     "权利"),
    # What the entrant sends, not what comes back ("获奖证书寄到哪儿").
    (r"^(?!.*(?:证书|奖状|奖杯|奖品))(?:.*(交|报|送|寄|发)(给|到)(哪|谁|什么))", "提交方式"),
    (r"(多|再)(推|报|推荐)(一|1|几)(?![次遍回])"
     r"|(自荐|推荐|推|报|交|投)(一两|两三|三五|两|三|四|五|六|\d+)((到|至|-|—|~)(两|三|四|五|六|\d+))?(部|个)",
     "名额"),
    # "一共几部" is a quota unless it counts the winners ("评出来的优秀作品一共几部").
    (r"^(?!.*(?:评出|评选出|选出|获奖|得奖|优秀作品|入围))(?:.*(?:一共|总共|共|最多|最少)(能|可以)?(推|报)?(几|多少)(部|个))",
     "名额"),
    (r"(评|选|评选|评出|选出|进|入围)(出)?了?(几|多少)", "评选"),
    # Whether the public vote counts ("网友投票算分吗 还是走个过场", "投票不算进成绩吧"): envoy's
    # 公众评选结果作为作品成绩的一部分.
    (r"(投票|网友|公众|票数)[^？?]{0,12}(算分|算不算|计分|算进|算入|计入|成绩|凑热闹|过场|有用|占)",
     "网友投票 公众 成绩"),
    # A change after sending ("提交完发现作品名称打错了，能直接改吗"): how a sent entry is changed.
    (r"(提交|交|报|传|上传)(完|了|好|上去|以后|之后|后)[^？?]{0,24}(改|修改|更正|换)", "提交 修改 删除 重新"),
    # Who judges ("谁来评", "评委是谁", "谁当评委"): the judges, not a person to call.
    (r"(?<![找请让])(由|是)?谁(来|去)?(评|打分|评审|评选)|评委(都)?是谁|谁(当|做|是)评委", "评审 专家"),
    # Both routes for one work ("既让单位推荐，又自己再自荐一份"): the once-only rule.
    (r"既[^，。？?]{0,10}(推荐|报|自荐)[^，。？?]{0,8}又[^，。？?]{0,8}(自荐|推荐|报)"
     r"|(推荐|报)了[^？?]{0,10}(还能|还可以|能不能|可不可以)[^，。？?]{0,4}(再)?(自荐|报|推荐)"
     r"|(已经|已)(推荐|报|推)[^？?]{0,16}(再|又)[^，。？?]{0,8}(自荐|报|推荐)", "重复"),
    # "再自荐一次" asks whether one work may go twice; 一次 alone is no word of the notices.
    (r"再[^，。？?]{0,8}一(次|遍|回)", "重复"),
    # A work entered before ("前年参加过你们活动的作品"): the notices' 历届 rule, not the production window.
    (ENTERED_BEFORE, "历届"),
    # What becomes of a copied work ("算抄袭会有什么后果"): the clauses that cancel and pursue.
    (r"后果|处罚|惩罚|(怎么|咋|如何)处理|会(怎样|怎么样|咋样)", "取消"),
    # Someone of another body filmed ("把重大那边的教授也一起拍进去"): who may be the 宣传主体.
    (r"(那边|那头|外面|外边|外单位|别的单位|其他单位|隔壁|合作)[^，。？?]{0,4}(的)?(教授|专家|老师|研究员|科学家|博士|人员)"
     r"|不(是|在)(我们|咱们|俺们|本|我)单位(的)?(人|员工|职工|人员)?",
     "其他 单位 人员"),
    # No person on screen ("片子里可以不出现人吗", "纯动画没人出镜行吗", "只拍大棚和果树"): envoy's
    # 有真人出镜.
    (r"(不|没有?|无)(出现|拍|露)(真)?人|(没|没有|无)(真)?人出镜|不拍人|(纯|全用|全是|只用)(动画|航拍|风景|空镜)"
     r"|只拍(风景|景色|大棚|果树|庄稼|田|空镜)",
     "出镜 真人"),
    # The people filmed agreeing ("要不要被拍的科学家本人点头同意", "拍人之前要不要对方同意",
    # "采访他和家里人要走啥程序"): the 参与主体's consent.
    (r"(被拍|拍摄对象|出镜|本人|科学家|对方|采访对象|人家)[^，。？?]{0,8}(同意|点头|答应|授权|允许)"
     r"|(采访|拍摄?)[^，。？?]{0,12}(程序|手续)",
     "参与主体 同意"),
    # The person filmed by age or rank ("宣传对象有没有年龄、职称的要求", "非得拍院士那种大科学家"):
    # cq's 不受其年龄、领域、职位的限制.
    # (the person filmed must be said: "我退休了，能参加吗" asks whether the asker may enter)
    (r"^(?=.*(?:宣传主体|宣传对象|主角|主人公|被拍|拍摄对象|拍的人|想拍|拍个|拍一个|拍一位|拍我们|出镜))"
     r".*(年龄|年纪|岁数|职称|职位|级别|资历|院士|大科学家|博士后|博后|年轻|退休)[^？?]{0,16}(要求|限制|才行|不行|可以|能|吗|吧)",
     "年龄 职位 限制"),
    # A form sent as a file or on paper ("推荐表直接传Word电子版行不行", "交原件还是扫描件"): the
    # notices' 纸质版扫描件.
    (r"(word|电子版|电子档|原件|纸质版?|扫描件?)[^，。？?]{0,8}(还是|行不行|行吗|可以吗|就行|可不可以|吧)"
     r"|(还是|直接)[^，。？?]{0,4}(word|电子版|原件|纸质版?|扫描件?)",
     "纸质版 扫描件"),
    # The judging as a whole ("作品是怎么评的", "评选流程大概是怎样的", "整个评选分几个阶段走").
    (r"(怎么|如何|怎样|咋)(个)?评(的|选|审)?(?!分)|评(选|审)(的)?(流程|程序|过程|步骤|办法|机制)|评选分几",
     "评选 程序 评审"),
    # How long the organisers may use a work ("组委会可以用好久"): its 使用权.
    (r"(用|使用)(好久|多久|多长时间|几年)|版权(咋|怎么)(个)?算|版权归", "使用权 永久"),
    # Judged together or apart ("推荐的和自荐的放一起比吗"): the notice's 分组.
    (r"(放|混|搁)(在)?(一起|一块)(比|评)|分开(评|比)|分组", "分组 评选"),
    # Passed up to the national contest ("评上的片子能往国家那边推不").
    (r"(往|向|到|去)?(国家|全国)(那边|那里|层面|级)?(推|推荐|送|报|参评|参赛)|推(到|向|去|给)(国家|全国)",
     "全国 推荐"),
    # Students and teachers of a university (te: 特别鼓励…院校师生).
    (r"(研究生|大学生|本科生|学生|老师|教师|师生)[^，。？?]{0,8}(参加|参赛|报名|可以|能)", "院校师生"),
    # An old work ("前几年的老作品还能报吗"): when it was made.
    (r"前几年|老作品|旧作品|以前的作品|以前拍的", "年份"),
    # Going to the judging in person ("评审要到现场去不"): how the event is held (线上).
    (r"(到|去|来)现场|现场(去|参加|评)|要不要去", "举办 线上"),
    # A college that is no university ("高职专科学校", "大专"): who may enter.
    (r"高职|专科|大专|职业(技术)?学院|职业院校", "院校 参加"),
    # Both routes ("两种方式都报"); the notices' "通过以下两种方式提交材料" is two ways of delivering.
    (r"(两种方式|两个渠道|两种渠道|两条路)[^，。？?]{0,2}都", "重复"),
    # One author's second work ("一个作者能报两部吗"), or one work by both routes ("推荐和自荐能同时走吗").
    (r"(一个|同一|每个|一位)作者[^，。？?]{0,6}(两|2|几|多)部", "同一 作者 重复"),
    (r"推荐[^，。？?]{0,3}(和|跟|与|又)[^，。？?]{0,3}自荐[^，。？?]{0,6}(同时|都|两条)", "重复 方式"),
    (r"推荐[^。？?]{0,10}(同时|又|再)[^。？?]{0,8}自荐", "重复 方式"),
    # "今年" is the contest's own year ("今年主题是啥"), not a question about when a work was made.
    (r"20\d\d年?|去年|前年|明年|往年", "年份"),
    (
        r"(什么|啥)时候(的|拍的|做的|制作的|播的|完成的|拍摄的|出的)|哪(一)?年(的|拍的|做的|播的|完成的)",
        "年份 制作",
    ),
    (r"自己(报名|报|参加|申报|投稿|投)|个人.{0,3}(报名|参加|参赛|申报|投稿)", "自荐"),
    # "Can I / who may take part": eligibility, which the channels and the audience answer.
    # A person or a body as the subject: "动画片可以参加吗" asks about a kind of work, not eligibility.
    (r"(我|我们|个人|单位|学生|老师|公司|机构|企业|学校|团队|协会|外省|外地|港澳|外国|中学|小学|大学|高校|医院"
     r"|研究生|大学生|本科生|师生|教师|退休|自由职业)"
     r"[^，。？?]{0,8}(能|可以|可不可以|是否可以|有没有资格)(不能)?(参加|参赛|报名|自荐|投稿|申报|报(?=吗|不|嘛|么|[?？]|$))"
     r"|谁(能|可以)|哪些(人|单位)",
     "参加 资格"),
)  # fmt: skip

#: The analyzer's own names for what questions mean (canonical synonyms, the terms phrases imply).
INTENTS = frozenset(SYNONYMS) | frozenset(t for _, terms in QUERY_PHRASES for t in terms.split())

#: Words of any contest's business: a question with one of them is not off-topic, even if the
#: notice has nothing on it ("结果几月份出").
CONTEST_WORDS = re.compile(
    r"结果|评|奖|作品|视频|片|报名|通知|赛|征集|投稿|提交|材料|表|盖章|审|截止|名额|推荐|自荐|邮|寄|网盘|字幕|格式"
    r"|时长|主办|承办|联系|公示|投票|参加|参赛|合拍|各报|重复报"
)

#: Rewrites of the question alone: what it says by negation ("不是会员" asks about the route for others).
QUERY_REWRITES: tuple[tuple[str, str], ...] = (
    (r"(?<!是)不是(协会的?)?会员|非会员|没(有)?入会", " 其他机构和个人 自荐 "),
    # No unit is a person on one's own, not 单位 (which finds the units' places).
    (r"(没有|没得|没|无|不属于任何|不在任何)(工作)?单位", " 个人 自荐 "),
    # Chongqing's 好多 after a verb asks how many ("占好多分", "区里能推好多个"), not "a lot of";
    # 开头 of a video is its 片头.
    (r"(?<=[占有要得给是推报交送荐投共写填评选发拿])好多", "多少"),
    (r"(视频|片子|作品)(的)?开头", r"\1片头"),
    # A prize's 比例 is its share of the works (cq: 三等奖占比25%), not the picture's.
    (r"(等奖|优秀奖|获奖)(的)?比例", r"\1占比"),
    # The original's, or the borrowed part's ("原创比例多少", "非原创的比例是多少": cas's 非原创部分不得
    # 超过视频总时长的10%) is that part's, neither the picture's 16:9 nor a prize's 占比.
    (r"原创(部分|内容)?(的)?(比例|比重)", "原创部分"),
    (r"(借用|引用|素材)(部分|内容|素材)?(的)?(比例|比重)", r"\1\2"),
    (r"片头上", "片头"),
    # What a district sends "to the city" goes to the contest's 组委会 (cq: 报送至大赛组委会); said
    # by no district ("我们要先报到市里吗"), 市里 is no contest's body.
    (
        r"(区县|区里|县里)([^，。？?]{0,10}?)(报|交|送|推荐|报送|推)(到|给|至|去)市里(?!组委会)",
        r"\1\2\3\4组委会",
    ),
    # Being told one infringed is the pledges' 纠纷 (a dispute the author answers for); being
    # infringed oneself is no notice's matter.
    (r"(说|告|指控|投诉|举报)(我们|我|咱们|俺们)[^，。？?]{0,4}侵权", r"\1\2 纠纷"),
    (r"颁奖(?:典礼|大会|会)", "颁奖仪式"),
    (r"删投稿|删除报名|删掉投稿", "删除投稿"),
    (r"jie ?zhi", "截止"),
    # Real words a keyboard or speech input picks for the notices' own (a table, not a rule: a rule
    # by sound rewrote 县上, 寓言, 时常 and thirty more words people mean).
    (r"油箱", "邮箱"),
    (r"东奥", "冬奥"),
    # not a score's part ("总分100分中题材内容占多少": of the 100 points)
    (r"(?<=[\d一二三四五六七八九十两半])分中(?![^，,。？?]*?(?:占|得分|扣))", "分钟"),
    (r"偏头", "片头"),
    (r"偏尾", "片尾"),
    (r"隔世", "格式"),
    (r"(网盘|百度云|百度|分享|有效期|有效)连接", r"\1链接"),
    (r"连接(有效|地址|失效|过期|发)", r"链接\1"),
    (r"(加|配|有|带|打)字母", r"\1字幕"),
    (r"字母(和|跟)配音", r"字幕\1配音"),
    # "the country's contest" a provincial notice recommends its winners to is the national one.
    (r"国家(级)?(的|那个|那边的?)?(比赛|大赛|评选)|国赛", "全国科普微视频大赛"),
    (r"写(得)?(那么|这么|这样)?细", "仔细填写"),
    (r"瞅", "看"),
    # "交错了" is a wrong entry handed in, not jieba's 交错 (interlaced).
    (r"交错了", "提交 写错了"),
    # Slips jieba knows as words of their own, so the sound reader leaves them: 分辩 (argue).
    (r"分辩率", "分辨率"),
    (r"比列", "比例"),
    # Slips of shape (载 for 截), and Taiwan's words for the notices' (解析度 is 分辨率 there).
    (r"载止|戴止", "截止"),
    (r"解析度", "分辨率"),
    # A slip of the same sound: "能该吗" is 能改吗.
    (r"(能|可以|怎么|咋|能不能|还能)该(吗|么|嘛|不|啊|呢|[?？]|$)", r"\1改\2"),
    # The share of borrowed or AI footage ("AI画面有没有比例限制"), not the picture's aspect ratio.
    # "多大比例" asks no file size, and the share is of the length, not the length itself.
    (
        r"(非原创|素材|资料画面|资料片|新闻画面|别人的画面|网上下载|人工智能|(?<![a-z])ai(?![a-z])|aigc)(.{0,30}?)(?:占)?(?:多大|多少)?(?:的)?"
        r"(?:这样)?(?<!画面)(?<!画幅)(?<!宽高)(比例|占比|占多少)",
        r"\1\2 非原创部分 不得超过 总时长 ",
    ),
    (
        r"(?<!画面)(?<!画幅)(?<!宽高)(比例|占比)(.{0,30}?)(非原创|素材|人工智能|(?<![a-z])ai(?![a-z])|aigc)",
        r" 非原创部分 不得超过 总时长 \2\3",
    ),
)

#: Rewrites applied to both sides before tokenising: shapes jieba would cut apart.  Boundaries are
#: lookarounds, not ``\b``: Chinese characters are word characters, so ``9横`` has no ``\b`` inside.
SHAPES: tuple[tuple[str, str], ...] = (
    # 16比9 is how it is said aloud; a bare 1080 or 720 is a resolution ("1080还是720啊")
    (r"(?<!\d)((16|4)\s*[:：/比]\s*(9|3)|9\s*[:：/比]\s*16)(?!\d)", " 画幅 "),
    (
        r"(?<![\d.])(1080|720|2160|1440)(?![\d.])(?!\s*(?:元|年|月|日|号|部|个|分|秒|字|兆|万|m|k|p))",
        " 分辨率 ",
    ),
    # Every run is anchored where it starts and capped: a message of 20,000 digits must not make
    # these quadratic (an attack review measured 23 s before; the event loop shares the GIL).
    (
        r"(?<!\d)\d{3,4}\s*[x×*]\s*\d{3,4}|(?<![\da-z])\d{3,4}\s*p(?![a-z])|(?<![\da-z])[48]k(?![a-z])",
        " 分辨率 ",
    ),
    (r"(?<![\d.])\d{1,6}(\.\d{1,3})?\s*(mb|mib|gb|g|m)(?![a-z])", " 大小 "),
    (
        r"(?<![\d.])\d{1,6}(\.\d{1,3})?\s*(分钟|秒钟|秒|min)|(?<!\d)\d{1,4}\s*分\s*(半|\d{1,2})"
        r"|[一二三四五六七八九十两半]{1,4}分(钟|半)",
        " 时长 ",
    ),
    # A span in days ("投票期为10天") answers "几天"; a date's day (5月9日) is no span.
    (r"(?<![\d.月])\d{1,3}\s*个?(天|工作日)", r"\g<0> 天数 "),
    (r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(\.[\w-]{1,63}){1,8}", " 邮箱 "),
    (r"(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{2,30}(路|街|大道|巷)\d{1,5}号", r"\g<0> 地址 "),
    (r"(?<!\d)(0\d{2,3}-?\d{7,8}|1[3-9]\d{9})(?!\d)", " 联系 "),
)

#: Intents a structured fact answers exactly; when the question has one, the fact wins.
QUANT_TOPICS = frozenset(
    words_of("大小 时长 截止 开始 名额 分辨率 画幅 格式 字数 盖章 签字 年份 提交方式 资格 联系方式 主题")
)

#: Words that carry no meaning for retrieval (question particles, pronouns, modal verbs, fillers).
STOPWORDS = frozenset(
    words_of("""
    的 了 吗 呢 吧 啊 呀 嘛 么 哦 哈 嗯 嗯嗯 是 有 在 和 与 及 或 或者 我 我们 你 你们 您 他 她 它 他们 咱们
    俺
    这 那 这个 那个 那种 这样 那么 一些 有些 请问 请 请教 问 问下 一下 想 想问 谢谢 你好 好
    什么 啥 怎么 怎样 怎么样 如何 咋 咋办 怎么办 哪 哪里 哪个 哪些 哪儿 谁 找
    可以 可 能 能够 能不能 可不可以 行 行不行 要 要不要 不要 需要 需 须 必须 一定 应该 应 会 是否 有没有
    多少 几 个 部 一 二 三 多 少 最多 最少 至少 至多 之间 以上 以内 不超过 不少于 各 每 每个
    还 也 都 就 到 对 把 被 给 让 从 向 为 以 之 等 其 该 此 并 且 所 由 于 将 即 按 如 如果 但 而 则
    没 没有 不 不是 不能 不得 无 年 月 日 号 自己 上 下 中 里 内 外 时 后 前 再 又 才 已 已经 得 地 着 过
    比赛 大赛 活动 这次 本次 意思 含义 具体 情况 问题 相关 方面 东西 一般 普通 然后 指 叫 算 算是 属于
    用 使用 采用 有人 人 上去 下来 出来 进去 起来
    不到 不够 没到 达不到 够不够
    就行 就行了 就可以 就够了 非得 非要
    贼 挺 老鼻子 有意思 闹心 寻思 半天
    老师 您好 你好 同志 麻烦 打扰 谢谢您 一名 一家 一所 一位 一下下 想问问 问问 想问一下 问一下 请问一下
    要紧 打紧 有点 有一点 一点点 稍微 搞 弄
    想请问 是从 几月份 几月 月份 天开 格 栏 那格 这格 那栏 这栏 干嘛
    这种 那种 这边 那边 我们 咱 大概 差不多 左右 比较 特别 非常 真的 现在 目前 刚才 刚刚
    给 一个 给一个 哪位 哪家 哪几家 哪儿 到底 究竟 还是 是不是 要不 行不 不行 行吗 算不算 不算 随便 领导
    才能 还要 一点 里面 的话 发现 哪几 还有 右上角 右上 上角 左上角 左上 通过 可不 不可 啥子 要是
    主要 方面 哪些方面 啥样 咋样 咋办 咋 那部 这部 一部 一下子 看看 帮忙 帮 告诉 知道 清楚 弄清楚
    勒 勒些 勒个 嘞 前头 后头 角角
    """)
)

#: Words jieba should keep whole; contest-specific names (units, form titles) are added per contest.
DOMAIN_TERMS = words_of("""
    三区 多人 附后 优秀组织奖 组织奖 创作奖 自荐 自荐表 推荐表 报送表 申报表 单位报送表 区县推荐表
    统一社会信用代码 提取码 科普号 网盘 百度网盘 百度云
    片头 片尾 正片 非原创 人工智能 盖章 公章 印章 手写 签字 分辨率 画幅 横屏 竖屏 横版 竖版 副高级职称
    计划单列市
    副省级城市 科技特派团 帮扶县 联席会议 成员单位 单位会员 个人会员 粉丝量 区县 扫描件 播放证明 播出时间
    内容简介
    创新点 传播效果 截止日期 评分标准 一等奖 二等奖 三等奖 优秀奖 水印 字幕 普通话 光盘 邮寄 背景音乐
    公共素材 授权
    版权 永久有效 文件夹 活跃度 法定代表人 诚信承诺 推荐意见 形式审查 网友投票 初评 复评 终评 二维码 删除投稿
    我的投稿 革命老区 边远贫困地区 边疆少数民族地区 社会征集 地方推荐 创作单位 宣传主体 在渝企业 稿费
    永久使用权
    提交方式 时间范围 填写要求
    抖音 快手 视频号 小红书 微博 西瓜视频 哔哩哔哩 b站 今日头条
""")
