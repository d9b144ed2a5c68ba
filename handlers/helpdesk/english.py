"""Questions in English: read with a small bilingual lexicon, answered in English.

The notices are Chinese and so is the index; an English question is turned into the Chinese terms
it asks about (``file size`` -> 视频 大小) and searched like any other.  The answer is English: the
facts that carry figures (dates, sizes, durations, formats, quotas, contacts) are said in English
from the contest's rules, anything else is quoted from the notice in Chinese with an English lead.
"""

from __future__ import annotations

import re

from contests.rules import Contest
from handlers.helpdesk.index import Entry
from handlers.helpdesk.silence import out_of_scope

#: English phrase (a regular expression, matched on the lower-cased question) -> Chinese terms.
LEXICON: tuple[tuple[str, str], ...] = (
    # The scans attached to the online entry, not the video ("how many attachments, what size each").
    (r"attachments?|\bscan(s|ned)?\b", "附件 扫描件 上传"),
    (r"(?=.*(?:attachment|\bscan))(?:.*(?:file size|how (big|large)|\bsize\b|\bmb\b|megabyte))", "大小 多大"),
    (r"^(?!.*(?:attachment|\bscan))"
     r"(?:.*(?:file size|how (big|large)|max(imum)? size|\bsize\b|\bmb\b|\bgb\b|megabyte))",
     "视频 大小 多大"),
    (r"deadline|due date|last day|closing date|cut-?off|when .*(submit|send|close|due)|\bdue\b"
     r"|by what date|by when|what date .{0,30}(submit|send|hand|deliver)", "截止日期"),
    # The video's length, not how long voting or judging lasts.
    (r"how long(?!.{0,40}\b(?:vot|judg|review|wait|process|link|valid|expir|stay))"
     # "second" as a length, not the second prize
     r"|length|duration|minutes?|\d+\s*-?\s*seconds?|how many seconds",
     "视频 时长 几分钟"),
    (r"format|file type|\bmp4\b|\bmov\b|\bavi\b|container", "视频 格式"),
    (r"resolution|1080p?|720p?|\b4k\b|\bhd\b|high definition|pixels?", "视频 分辨率"),
    (r"vertical|portrait|landscape|horizontal|aspect|16:9|9:16|orientation", "横屏 竖屏 画幅"),
    (r"subtitles?|captions?", "字幕"),
    (r"language|mandarin|dialect|english|chinese|voice-?over|narration", "语言 普通话"),
    (r"music|soundtrack|\bbgm\b|song", "背景音乐"),
    (r"watermark|logo", "水印"),
    (r"e-?mail", "邮箱"),
    (r"how (do|should|can|shall|to|must|would) (we |i |you )?"
     r"(submit|send|enter|apply|upload|deliver|register)|how is .{0,20}submitted", "提交方式 报名流程"),
    (r"where (do|should|can|shall|to|must) .{0,30}\b(send|submit|post|upload|deliver)"
     r"|\b(send|submit|deliver|hand in|upload)\b.{0,40}\b(to whom|where)\b"
     r"|\bto whom\b.{0,40}\b(send|submit|deliver|hand in|upload)", "发送到哪里 提交方式"),
    # Posting by mail, not a post on an account ("follower and post thresholds").
    (r"address|\bmail\b|\bpost\b(?!.{0,20}threshold)|courier|\bdisc\b|\bdvd\b|\bcd\b", "邮寄 地址 光盘"),
    (r"\bposts\b|\bpost\b.{0,20}threshold|works published|published works", "作品数 发布"),
    # "call" as asking someone, not "the call for entries".
    (r"phone|telephone|contact|hotline|\bqq\b|who (can|should|do) (i|we) (ask|call|phone|contact)"
     r"|\bcall (you|them|someone|somebody|whom|who|the organi[sz]er)|\bcall\b.{0,40}\b(number|at what)",
     "联系 电话 联系方式是什么"),
    (r"quota|how many (works|videos|entries|films|pieces)"
     r"(?! (will|are|were|to) (be )?(chosen|selected|award))|how many (can|may|could)\b(?! be\b)"
     r"|\bplaces\b|\blimit on|\bmax(imum)? (number|videos|works|entries)|videos max"
     # "in the 3–5 works group or the 1–2 works group": which tier of places
     r"|\d\s*[–-]\s*\d\s*(works|videos|entries)? ?(group|tier|band|category)",
     "名额 几部"),
    (r"chosen|selected|excellent|outstanding|winners?|awarded|shortlist|picked", "评选 优秀 入围"),
    (r"followers?|\bfans\b|subscribers?", "粉丝"),
    (r"\bchange|modif|\bedit|correct|mistake|delete|withdraw", "修改 删除"),
    # The call's period, unless the period asked is the work's own (made, aired: the windows below).
    (r"^(?!.*(?:made|complet|finish|aired|broadcast|produc|filmed|vot))"
     r"(?:.*(?:period|window|\bopen(s|ing)? (date|period)))", "征集 时间 截止 开始"),
    (r"\bstamp|\bseal", "盖章"),
    (r"\bsign(ature|ed)?\b", "签字"),
    (r"\bform\b|\bforms\b|application", "推荐表 自荐表 表"),
    (r"self-?(nominat|recommend|submi)|individual|on my own|by myself|personally|private person",
     "自荐 个人"),
    (r"recommend", "推荐 单位推荐"),
    (r"three (regions|areas)|\bsan ?qu\b", "三区 名额"),
    (r"\bminimum\b|at least|\bthreshold", "至少 要求"),
    (r"provinc|municipalit|autonomous region", "省 科技厅"),
    (r"district|county", "区县"),
    # A district passing its picks up: the districts' own stage and deadline (cq: 7月31日), not the entrants'.
    (r"\b(district|county)\b.{0,80}\b(forward|pass|send|submit|report)\b.{0,60}"
     r"(organi[sz]ing committee|organi[sz]ers|\bcity\b)|\bforward\b.{0,40}organi[sz]ing committee",
     "区县报组委会"),
    (r"sub-?provincial|separately listed|specially designated", "计划单列市 副省级城市"),
    (r"association", "协会"),
    (r"\bmembers?\b|membership", "会员"),
    (r"judging|judged|\breview|jury|experts?", "评审"),
    (r"\bvot(e|es|ing)\b|public vote", "网友投票"),
    (r"\bfinal\b|shortlist|finalists?", "终评 入围"),
    (r"first round|preliminary", "初评"),
    (r"when will|what time|schedule|timeline|stages?", "时间 日程 什么时候"),
    (r"\bunits?\b|organi[sz]ation|institution|employer|company|school|university", "单位"),
    (r"\bai\b|artificial intelligence|generated|chatgpt|aigc", "人工智能"),
    (r"original (work|content|footage)|originality|plagiar|copy(right)?|footage|stock", "原创 版权 素材"),
    (r"\bfees?\b|\bcost\b|\bpay\b|charge|free of charge", "费用"),
    (r"royalt|remunerat|\bpaid\b|payment", "稿费 报酬 无偿"),
    (r"receiv(e|es|ing) (the )?(entries|works|submissions|videos)"
     r"|(entries|works|submissions) (are )?received", "作品接收 联系"),
    (r"prize|award|\bmoney\b|bonus|reward", "奖金 奖项"),
    (r"(first|1st)[, ]+(second|2nd)|\b(first|second|third|1st|2nd|3rd)[- ](prize|place|award)",
     "一等奖 二等奖 三等奖"),
    (r"percent|proportion|\bshare of|what share", "占比"),
    (r"certificate", "证书"),
    (r"cloud platforms?", "云平台 推广"),
    (r"net-?disk|cloud(?! platform)|baidu|\blink\b|drive", "网盘 链接"),
    (r"which (cloud|drive|net-?disk)|(valid|expir|stay|last).{0,20}\blink"
     r"|\blink.{0,30}(valid|expir|permanent)", "提交方式 永久有效"),
    (r"extraction code|access code|password|\bcode\b", "提取码"),
    (r"criteria|scor(e|ing)|rubric|\bpoints\b|rated|weight", "评分标准"),
    (r"theme|topic|subject", "主题"),
    (r"who can (enter|take part|participate|apply|join)|eligib|participat|take part|\benter\b|apply|join"
     r"|\bopen to\b",
     "参加 资格"),
    (r"independent (film|video|producer|creator|maker)|filmmaker|freelanc", "独立视频制作人 参加"),
    (r"\bstart|\bbegin|\bopen(?! to\b)", "开始"),
    (r"produced|(was|were|be|been) (made|completed|finished)|made in|filmed|shot in"
     r"|(?<!this )\byear\b|20\d\d",
     "制作 年份 时间范围"),
    (r"broadcast|aired|published|released|online", "播出"),
    (r"\btitle\b", "作品名称 片头"),
    (r"credits|ending|end card", "片尾"),
    (r"opening|title card|intro", "片头"),
    (r"folder", "文件夹 命名"),
    (r"scan", "扫描件"),
    (r"characters|words|word count|word limit", "字数"),
    (r"organi[sz]er|host|sponsor", "主办"),
    (r"(received|status|passed|approved|accepted|reviewed|processed|rejected|result|number|ranking|shortlisted"
     r"|selected|score).{0,30}"
     r"\b(my|our) (video|work|entry|submission|film|link|form|disc)"
     r"|\b(my|our) (video|work|entry|submission|film|link|form|disc)s?\b.{0,30}"
     r"(received|status|passed|approved|accepted|reviewed|processed|rejected|result|number|shortlisted|selected"
     r"|chosen|through|ranked|score)",
     "我的投稿"),
    (r"can (you|u) check"
     r"|(could|would) (you|u)( please)? (check|look up|find out)( whether| if| on)? (my|our)\b"
     r"|did (you|u) (get|receive)|have (you|u) received|\bsent (it|them)\b"
     # "…whether our district has already sent its list": what was done with one's own entry
     r"|\bwhether (my|our)\b.{0,40}\b(has|have) (already )?(been |sent|forwarded|submitted|passed|made)"
     # "I uploaded my video yesterday. Can you confirm it went through?", "Did my … application get approved?"
     r"|\bconfirm (it|that|they|whether|if)\b|went through|\bdid my\b.{0,40}\b(get|go|pass|make)"
     r"|\b(my|our)\b.{0,30}\b(application|account)\b.{0,20}\b(approved|accepted|rejected|passed|made it)",
     "我的投稿"),
)  # fmt: skip

#: Contests as English speakers name them -> the Chinese names the notices use (for choosing the contest).
CONTEST_NAMES: tuple[tuple[str, str], ...] = (
    (r"chongqing", "重庆"),
    (r"heilongjiang|harbin", "黑龙江"),
    (r"tech(nology)? envoy|science and technology envoy|special commissioner|tech(nology)? commissioner",
     "科技特派团"),
    (r"youth|cacsi|teachers'? association|science education association", "青少年科技教育"),
    (r"national .*micro-?video|chinese academy of sciences|\bcas\b|ministry of science",
     "全国科普微视频大赛"),
)  # fmt: skip

#: Places as English speakers write them (pinyin) -> the Chinese names the quota rules use, so that
#: "How many can Liangjiang New Area recommend?" finds 两江新区's 3—5, not the other districts' 1—2.
PLACE_NAMES: tuple[tuple[str, str], ...] = (
    (r"beijing", "北京"), (r"tianjin", "天津"), (r"hebei", "河北"), (r"shanxi", "山西"),
    (r"inner mongolia|nei ?mongol", "内蒙古"), (r"liaoning", "辽宁"), (r"jilin", "吉林"),
    (r"heilongjiang", "黑龙江"), (r"shanghai", "上海"), (r"jiangsu", "江苏"), (r"zhejiang", "浙江"),
    (r"anhui", "安徽"), (r"fujian", "福建"), (r"jiangxi", "江西"), (r"shandong", "山东"),
    (r"henan", "河南"), (r"hubei", "湖北"), (r"hunan", "湖南"), (r"guangdong", "广东"),
    (r"guangxi", "广西"), (r"hainan", "海南"), (r"sichuan", "四川"), (r"guizhou", "贵州"),
    (r"yunnan", "云南"), (r"tibet|xizang", "西藏"), (r"shaanxi", "陕西"), (r"gansu", "甘肃"),
    (r"qinghai", "青海"), (r"ningxia", "宁夏"),
    (r"production and construction corps|\bxpcc\b|bingtuan", "新疆生产建设兵团"), (r"xinjiang", "新疆"),
    (r"dalian", "大连"), (r"qingdao", "青岛"), (r"ningbo", "宁波"), (r"xiamen", "厦门"),
    (r"shenzhen", "深圳"), (r"shenyang", "沈阳"), (r"changchun", "长春"), (r"harbin", "哈尔滨"),
    (r"nanjing", "南京"), (r"hangzhou", "杭州"), (r"jinan", "济南"), (r"wuhan", "武汉"),
    (r"guangzhou", "广州"), (r"chengdu", "成都"), (r"xi'?an", "西安"),
    # Chongqing's districts: the twelve cq names for 3—5 places, and the others (1—2).
    (r"yuzhong", "渝中区"), (r"dadukou", "大渡口区"), (r"jiangbei", "江北区"), (r"shapingba", "沙坪坝区"),
    (r"jiulongpo", "九龙坡区"), (r"nan'?an", "南岸区"), (r"beibei", "北碚区"), (r"yubei", "渝北区"),
    (r"banan", "巴南区"), (r"liangjiang", "两江新区"), (r"wansheng", "万盛经开区"),
    (r"(chongqing|western science city).{0,20}high-?tech|gaoxin", "重庆高新区"),
    (r"wanzhou", "万州区"), (r"fuling", "涪陵区"), (r"qianjiang", "黔江区"), (r"changshou", "长寿区"),
    (r"jiangjin", "江津区"), (r"hechuan", "合川区"), (r"yongchuan", "永川区"), (r"nanchuan", "南川区"),
    (r"qijiang", "綦江区"), (r"dazu", "大足区"), (r"bishan", "璧山区"), (r"tongliang", "铜梁区"),
    (r"tongnan", "潼南区"), (r"rongchang", "荣昌区"), (r"kaizhou", "开州区"), (r"liangping", "梁平区"),
    (r"wulong", "武隆区"), (r"chengkou", "城口县"), (r"fengdu", "丰都县"), (r"dianjiang", "垫江县"),
    (r"zhongxian|zhong county", "忠县"), (r"yunyang", "云阳县"), (r"fengjie", "奉节县"),
    (r"wushan", "巫山县"), (r"wuxi", "巫溪县"), (r"shizhu", "石柱"), (r"xiushan", "秀山"),
    (r"youyang", "酉阳"), (r"pengshui", "彭水"),
)  # fmt: skip

#: Words of a contest's business in English: a question with none of them ("Who won the World
#: Cup?", "What time is it in Harbin now?") is not about the contest, whatever else it shares.
DOMAIN = re.compile(
    r"video|film|clip|footage|movie|entr(y|ies|ant)|submi|contest|competition|\bcall\b|campaign|notice|\bforms?\b"
    r"|deadline|\bdue\b|quota|places|prize|award|winn|judg|review|jury|expert|vot(e|ing)|theme|topic|categor"
    r"|author|creator|maker|producer|\bunits?\b|organi[sz]|recommend|nominat|appl(y|ica)|regist|sign[- ]?up"
    r"|take part|participat|eligib|enter\b|upload|send|\bmail|\bpost|courier|disc|dvd|cloud|\blink|drive"
    r"|baidu|e-?mail|phone|contact|hotline|stamp|seal|sign|subtitle|caption|music|song|resolution|format|\bmp4|size"
    r"|\bmb\b|\bgb\b|length|how long|minute|second|aspect|landscape|portrait|vertical|horizontal|watermark"
    r"|logo|original|copyright|plagiar|\bai\b|aigc|generated|scor|criteri|points|\bfees?\b|\bcost|\bpay|charge|money"
    r"|certificate|broadcast|aired|publish|released|science|popular|kepu|rule|require|allowed|permitted"
    r"|account|followers|fans|platform|channel|title|summary|introduction|characters|words|language|mandarin"
    r"|dialect|\benglish\b|in chinese|chinese (?:subtitle|language|character|narration|voice)|narrat|voice"
    r"|school|university|company|institution|association|member|province|district|county"
    r"|city|ministry|department|bureau|commission|academy|envoy|commissioner|youth|teacher|student|team"
    r"|result|announce|shortlist|select|chosen|round|stage|schedule|period|start|open|begin|close|end\b"
    r"|year|date|month|day|when (is|are|do|does|will|must|should|can)|scan|attach|folder|extraction|code"
    r"|address|return|modif|change|edit|correct|mistake|delete|withdraw|resubmit|again|twice|second work",
)

_PATTERNS = tuple((re.compile(p), terms) for p, terms in LEXICON)


def about_the_contest(question: str) -> bool:
    """Whether an English ``question`` has any word of a contest's business (see ``DOMAIN``) and
    is no errand (``silence.OUT_OF_SCOPE``: "recommend a cheap hotel" carries a contest word)."""
    text = question.lower()
    return bool(DOMAIN.search(text)) and not out_of_scope(text)


_PLACES = tuple((re.compile(rf"\b(?:{p})\b"), chinese) for p, chinese in PLACE_NAMES)


def _glossed(text: str) -> list[str]:
    """The glossary's Chinese terms for the English words of ``text`` (lower-cased)."""
    return [chinese for pattern, chinese in _PATTERNS if pattern.search(text)]


def chinese_terms(question: str) -> str:
    """The Chinese terms an English question asks about, plus any Chinese or figures it quotes."""
    text = question.lower()
    terms = _glossed(text)
    terms += [chinese for pattern, chinese in CONTEST_NAMES if re.search(pattern, text)]
    if "名额" in " ".join(terms):  # a unit's places: which unit decides (a place is noise elsewhere)
        terms += [chinese for pattern, chinese in _PLACES if pattern.search(text)]
    quoted = " ".join(re.findall(r"[\u4e00-\u9fff]+", question))
    return " ".join([*terms, quoted]).strip()


#: English words (not a unit like MB or a format like MP4) in a message written mostly in Chinese.
_ENGLISH_WORD = re.compile(r"\b[A-Za-z]{2,}(?:'[a-z]+)?\b")
_NOT_WORDS = frozenset(
    {"mb", "gb", "mp4", "mov", "avi", "pdf", "doc", "docx", "jpg", "png", "dv", "dc", "pc"}
)


def with_english_terms(question: str) -> str:
    """A Chinese message with an English clause in it ("这个大赛 what's the required format?"): the
    message, then the Chinese terms its English words ask about, so both are read."""
    words = [w for w in _ENGLISH_WORD.findall(question) if w.lower() not in _NOT_WORDS]
    if not words:
        return question
    terms = _glossed(question.lower())
    if len(words) < 3:
        # A word or two of English in a Chinese sentence ("deadline是哪天", "folder naming有规定吗"):
        # the sentence stays as typed, the words' terms beside it.
        return " ".join([question, *terms]) if terms else question
    # The English words give way to their terms, where they stood: what is asked stays at the end.
    chinese = _ENGLISH_WORD.sub(lambda m: m.group(0) if m.group(0).lower() in _NOT_WORDS else " ", question)
    asked = "？" if question.rstrip().endswith(("?", "？")) else ""
    return " ".join([chinese.rstrip(" ?？'"), *terms]) + asked


def place_terms(question: str) -> str:
    """:func:`chinese_terms`, with every place the question names in pinyin, asked about or not."""
    text = question.lower()
    return " ".join(
        [chinese_terms(question), *(chinese for pattern, chinese in _PLACES if pattern.search(text))]
    )


def _day(d: object) -> str:
    return f"{d:%B} {d.day}, {d.year}" if hasattr(d, "year") else str(d)  # type: ignore[attr-defined]


def _video(contest: Contest, fid: str) -> str | None:
    v = contest.video
    if v is None:
        return None
    if fid == "video.size" and (v.min_size_mib or v.max_size_mib):
        lo, hi = v.min_size_mib, v.max_size_mib
        if lo and hi:
            return f"Each video file must be between {lo:g} and {hi:g} MB (MiB)."
        return f"Each video file must be at most {hi:g} MB (MiB)." if hi else f"At least {lo:g} MB (MiB)."
    if fid == "video.duration" and (v.min_duration_s or v.max_duration_s):
        lo_s, hi_s = v.min_duration_s, v.max_duration_s
        if lo_s and hi_s:
            return f"The video must last {lo_s / 60:g} to {hi_s / 60:g} minutes ({lo_s}–{hi_s} seconds)."
        if hi_s:
            return f"The video may last at most {hi_s / 60:g} minutes."
        return f"The video must last at least {(lo_s or 0) / 60:g} minutes."
    if fid == "video.format" and v.container:
        return f"The video file must be {v.container.upper()}."
    if fid == "video.resolution" and (v.resolutions or v.min_height):
        if v.resolutions:
            return "The resolution must be " + " or ".join(f"{w}×{h}" for w, h in v.resolutions) + "."
        return f"The resolution must be at least {v.min_height}p (1080P if so stated: {v.min_height} lines)."
    if fid == "video.resolution":
        advice = next((n for n in v.notes if "高清" in n), None)
        said = "The notice sets no particular resolution"
        return f"{said}; it only advises high definition (“{advice}”)." if advice else f"{said}."
    if fid == "video.aspect" and (v.aspect_ratio or v.orientation):
        shape = {"landscape": "landscape (horizontal)", "portrait": "portrait (vertical)", None: ""}[
            v.orientation
        ]
        return f"The picture must be {v.aspect_ratio or ''} {shape}".replace("  ", " ").strip() + "."
    return None


#: The notices' recurring words, glossed under a Chinese quote so that an English reader can follow
#: it; the longest first, so that 第一制作单位 is glossed whole, not as 第一 + 制作单位.
GLOSSARY: tuple[tuple[str, str], ...] = tuple(sorted((
    ("在渝", "based in Chongqing"), ("本科院校", "universities (undergraduate)"),
    ("科研院所", "research institutes"), ("推荐", "recommendation (by a unit)"),
    ("自荐", "self-nomination"), ("盖章", "official seal"), ("公章", "official seal"),
    ("手写", "handwritten"), ("签字", "signature"), ("签名", "signature"), ("扫描件", "scanned copy"),
    ("网盘", "cloud drive"), ("百度云", "Baidu cloud drive"), ("百度网盘", "Baidu cloud drive"),
    ("提取码", "access code"), ("光盘", "disc"), ("邮寄", "send by post"), ("邮箱", "e-mail"),
    ("简体中文", "simplified Chinese"), ("普通话", "Mandarin"), ("字幕", "subtitles"),
    ("二维码", "QR code"), ("微信", "WeChat"),
    ("片头", "opening titles"), ("片尾", "end credits"), ("水印", "watermark"), ("原创", "original"),
    ("授权", "permission/licence"), ("第一作者", "first author"), ("第一制作单位", "lead producer (unit)"),
    ("第一制作人", "lead producer (person)"), ("三区", "the three kinds of remote areas"),
    ("副高级职称", "associate senior title"), ("封面图", "cover image"), ("简介", "synopsis"),
    ("申报表", "application form"), ("推荐表", "recommendation form"), ("自荐表", "self-nomination form"),
    ("真人出镜", "real people on camera"), ("配乐", "music"), ("播出", "broadcast"), ("播放", "playback"),
    ("不得", "must not"), ("不超过", "no more than"), ("不少于", "no less than"), ("须", "must"),
    ("限", "limited to"), ("部", "works"), ("截止", "deadline"),
    ("非原创", "non-original"), ("人工智能", "AI (artificial intelligence)"), ("删除", "delete"),
    ("重新上传", "upload again"), ("初评", "preliminary round"), ("终评", "final round"),
    ("专家", "experts"), ("评审", "judging"),
), key=lambda pair: -len(pair[0])))  # fmt: skip
#: Where a glossed word means what the glossary says, when not everywhere: 部 counts works after a
#: number ("5部"), not in 科技部.
_GLOSSED_WHERE = {"部": r"(?:(?<=[\d一二两三四五六七八九十])|(?<=[\d一二两三四五六七八九十] ))部"}
_GLOSSES = tuple(
    (re.compile(_GLOSSED_WHERE.get(chinese, re.escape(chinese))), chinese, english)
    for chinese, english in GLOSSARY
)
#: At most this many words glossed under one answer: a key, not a translation.
GLOSSED = 8


def glossary(text: str) -> str:
    """The notice words in ``text`` with their English ("在渝 = based in Chongqing; …"), or ""."""
    found: list[str] = []
    rest = text
    for pattern, chinese, english in _GLOSSES:
        if len(found) < GLOSSED and pattern.search(rest):
            found.append(f"{chinese} = {english}")
            rest = pattern.sub(" ", rest)
    return "; ".join(found)


def english_answer(entry: Entry, contest: Contest) -> str:
    """The entry said in English where its figures allow, else quoted with an English lead."""
    said: str | None = None
    if entry.id == "fact:deadline":
        said = f"The deadline is {_day(contest.deadline)} (inclusive, Beijing time)."
        if contest.opens:
            said += f" Entries open on {_day(contest.opens)}."
    elif entry.id.startswith("fact:video."):
        said = _video(contest, entry.id.removeprefix("fact:"))
    if entry.silent:
        said = "The notice does not say (in Chinese): " + entry.text
    if said is None:
        lead = "The notice says (in Chinese)" if entry.kind == "clause" else "According to the contest rules"
        said = f"{lead}: {entry.text}"
        words = glossary(entry.text)
        if words:
            said += f"\n(Words: {words})"
    source = (
        entry.source.replace("通知", "the notice,", 1) if entry.source.startswith("通知") else entry.source
    )
    quote = f": “{entry.quote}”" if entry.quote else ""
    return f"{said}\n(Source: {source}{quote})"
