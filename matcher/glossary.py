"""A small English <-> Traditional Chinese glossary of public-health / health-tech terms.

BM25 cannot match across scripts: an English challenge about "vaccination" shares no
token with a Chinese capability about "疫苗接種".  :func:`expand_query` appends the
other language's equivalents of the glossary terms found in a query, so the lexical
scorer can earn some of its share across languages (``RankerConfig.query_expansion =
"glossary"``).  Only the query is expanded; the indexed texts are untouched, so
explanations stay truthful (a key term is shown only when it occurs in both texts).

The glossary was written for this project from general Department of Health /
health-technology vocabulary (Hong Kong usage, Traditional Chinese).  It is not a
translation system: it covers domain nouns that are typically written the same way,
not phrasing.  Extend ``TERMS`` (or pass your own pairs to :func:`build_glossary`)
for new domains; keep entries unambiguous (a general word such as "system" or 系統
adds noise, not signal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .text import normalize

__all__ = ["GLOSSARIES", "TERMS", "Glossary", "build_glossary", "expand_query"]

#: ``(english, traditional chinese)``; an English side may list variants with "|".
TERMS: tuple[tuple[str, str], ...] = (
    # care settings and people
    ("clinic|clinics", "診所"),
    ("hospital|hospitals", "醫院"),
    ("patient|patients", "病人"),
    ("elderly|older adults|older people|seniors", "長者"),
    ("parent|parents", "家長"),
    ("child|children", "兒童"),
    ("infant|infants|baby|babies", "嬰兒"),
    ("mother|mothers|maternal", "母親"),
    ("student|students", "學生"),
    ("school|schools", "學校"),
    ("doctor|doctors|physician|physicians", "醫生"),
    ("nurse|nurses|nursing", "護士"),
    ("dentist|dentists", "牙醫"),
    ("pharmacist|pharmacists", "藥劑師"),
    ("pharmacy|pharmacies", "藥房"),
    ("caregiver|caregivers|carer|carers", "照顧者"),
    ("community", "社區"),
    ("residential care home|care home|care homes", "安老院"),
    ("healthcare facility|healthcare facilities", "醫療機構"),
    # clinical and public-health topics
    ("dental|dentistry|oral health", "牙科"),
    ("tooth|teeth", "牙齒"),
    ("caries|tooth decay|cavity|cavities", "蛀牙"),
    ("radiograph|radiographs|x-ray|x-rays|xray", "X光"),
    ("chest", "胸肺"),
    ("tuberculosis|tb", "結核"),
    ("vaccination|vaccinations|vaccine|vaccines|immunisation|immunization", "疫苗"),
    ("influenza|flu", "流感"),
    ("infectious disease|infectious diseases|communicable disease", "傳染病"),
    ("outbreak|outbreaks", "爆發"),
    ("surveillance", "監測"),
    ("mosquito|mosquitoes", "蚊"),
    ("dengue", "登革熱"),
    ("vector", "病媒"),
    ("smoking|smoker|smokers|tobacco", "吸煙"),
    ("quit smoking|smoking cessation|cessation", "戒煙"),
    ("e-cigarette|e-cigarettes|vaping", "電子煙"),
    ("drug|drugs|medicine|medicines|medication|medications", "藥物"),
    ("pharmaceutical|pharmaceuticals", "藥劑"),
    ("registration", "註冊"),
    ("licence|licences|license|licensing", "牌照"),
    ("inspection|inspections", "巡查"),
    ("compliance", "合規"),
    ("regulation|regulatory", "規管"),
    ("screening", "篩查"),
    ("diagnosis|diagnostic", "診斷"),
    ("triage", "分流"),
    ("chronic disease|chronic diseases", "慢性病"),
    ("diabetes", "糖尿病"),
    ("hypertension|blood pressure", "血壓"),
    ("mental health|mental wellbeing", "精神健康"),
    ("dementia", "認知障礙"),
    ("fall|falls", "跌倒"),
    ("nutrition|diet", "營養"),
    ("exercise|physical activity", "運動"),
    ("health assessment|health assessments|health check|health checks", "健康評估"),
    ("heat|hot weather|heatstroke|heat stroke", "炎熱"),
    ("air quality|air pollution", "空氣質素"),
    ("radiation", "輻射"),
    ("food safety", "食物安全"),
    ("hygiene", "衞生"),
    ("port health|border|boundary control", "口岸"),
    ("traveller|travellers|traveler|travelers", "旅客"),
    ("breastfeeding", "母乳餵哺"),
    ("pregnancy|pregnant|antenatal", "懷孕"),
    ("hearing", "聽力"),
    ("vision|eyesight", "視力"),
    ("wound|wounds", "傷口"),
    ("rehabilitation", "復康"),
    # services and operations
    ("appointment|appointments", "預約"),
    ("booking|bookings|book", "預約"),
    ("queue|queues|queuing|queueing", "輪候"),
    ("waiting time|waiting times|wait", "等候"),
    ("no-show|no-shows|missed appointment|missed appointments", "缺席"),
    ("reminder|reminders", "提醒"),
    ("hotline|hotlines", "熱線"),
    ("call|calls|phone|telephone", "電話"),
    ("enquiry|enquiries|inquiry|inquiries", "查詢"),
    ("complaint|complaints", "投訴"),
    ("email|e-mail|emails", "電郵"),
    ("form|forms", "表格"),
    ("document|documents|documentation", "文件"),
    ("application|applications", "申請"),
    ("approval|approvals", "審批"),
    ("record|records", "記錄"),
    ("report|reports|reporting", "報告"),
    ("workflow|workflows", "流程"),
    ("scheduling|schedule|roster|rostering", "編排"),
    ("inventory|stock", "庫存"),
    ("supply|supplies|logistics", "物流"),
    ("outreach", "外展"),
    ("education|health education", "教育"),
    ("campaign|campaigns|promotion|health promotion", "推廣"),
    ("public engagement|engagement", "公眾參與"),
    ("customer service", "客戶服務"),
    ("multilingual|translation|interpreting|interpretation", "翻譯"),
    ("cantonese", "廣東話"),
    ("accessibility|accessible", "無障礙"),
    # technology
    ("artificial intelligence|ai", "人工智能"),
    ("machine learning", "機器學習"),
    ("chatbot|chatbots|conversational agent", "聊天機械人"),
    ("computer vision|image recognition|image analysis", "影像識別"),
    ("image|images|imaging", "影像"),
    ("camera|cameras|cctv", "鏡頭"),
    ("sensor|sensors|iot", "感應器"),
    ("wearable|wearables", "穿戴"),
    ("speech recognition|transcription|speech-to-text", "語音識別"),
    ("voice|speech", "語音"),
    ("natural language processing|nlp|text analytics", "自然語言處理"),
    ("prediction|predictive|forecast|forecasting", "預測"),
    ("analytics|data analysis", "數據分析"),
    ("data platform|data sharing|data collaboration", "數據平台"),
    ("data|dataset|datasets", "數據"),
    ("dashboard|dashboards", "儀表板"),
    ("privacy|anonymisation|anonymization|de-identification", "私隱"),
    ("cybersecurity|security", "保安"),
    ("mobile app|app|apps|smartphone", "手機應用程式"),
    ("online|web portal|portal|e-submission", "網上"),
    ("automation|automated|automatic|automatically", "自動"),
    ("robot|robots|robotic|robotics", "機械人"),
    ("map|maps|mapping|gis|geospatial", "地圖"),
    ("optical character recognition|ocr", "文字識別"),
    ("blockchain", "區塊鏈"),
    ("telehealth|telemedicine|remote consultation|video consultation", "遙距"),
    ("electronic health record|electronic health records|ehr", "電子健康紀錄"),
    ("sms|text message|text messages", "短訊"),
    ("whatsapp", "WhatsApp"),
)

_LATIN_RE = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class Glossary:
    """Bidirectional term map.

    Attributes:
        en_to_zh: Normalised English phrase -> Chinese equivalents.
        zh_to_en: Chinese term -> English equivalents (the first English variant).
    """

    en_to_zh: Mapping[str, tuple[str, ...]]
    zh_to_en: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        # Longest phrases first, word-bounded, so "quit smoking" wins over "smoking".
        phrases = sorted(self.en_to_zh, key=len, reverse=True)
        pattern = r"(?<![a-z0-9])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![a-z0-9])"
        object.__setattr__(self, "_en_re", re.compile(pattern) if phrases else None)
        zh_terms = sorted(self.zh_to_en, key=len, reverse=True)
        object.__setattr__(
            self, "_zh_re", re.compile("|".join(re.escape(t) for t in zh_terms)) if zh_terms else None
        )

    def translations(self, text: str) -> list[str]:
        """Other-language equivalents of the glossary terms found in ``text``.

        Args:
            text: Any text (mixed languages allowed).

        Returns:
            Equivalents in order of first occurrence, without duplicates.
        """
        norm = normalize(text)
        out: dict[str, None] = {}
        en_re = self.__dict__["_en_re"]
        zh_re = self.__dict__["_zh_re"]
        if en_re is not None:
            for m in en_re.finditer(norm):
                for t in self.en_to_zh[m.group(0)]:
                    out.setdefault(t, None)
        if zh_re is not None:
            for m in zh_re.finditer(norm):
                for t in self.zh_to_en[m.group(0)]:
                    out.setdefault(t, None)
        return list(out)


def build_glossary(pairs: Iterable[tuple[str, str]]) -> Glossary:
    """Build a :class:`Glossary` from term pairs.

    Args:
        pairs: ``(english variants separated by "|", chinese)`` pairs, e.g.
            ``("clinic|clinics", "診所")``.

    Returns:
        The glossary, both directions normalised as the tokenizer sees text.
    """
    en_to_zh: dict[str, list[str]] = {}
    zh_to_en: dict[str, list[str]] = {}
    for english, chinese in pairs:
        variants = [normalize(v).strip() for v in english.split("|") if v.strip()]
        zh = normalize(chinese).strip()
        if not variants or not zh:
            continue
        for v in variants:
            en_to_zh.setdefault(v, [])
            if zh not in en_to_zh[v]:
                en_to_zh[v].append(zh)
        if _LATIN_RE.search(zh):
            continue  # a Latin "translation" (e.g. a brand) adds nothing across scripts
        zh_to_en.setdefault(zh, [])
        if variants[0] not in zh_to_en[zh]:
            zh_to_en[zh].append(variants[0])
    return Glossary(
        {k: tuple(v) for k, v in en_to_zh.items()}, {k: tuple(v) for k, v in zh_to_en.items()}
    )


#: Named glossaries for ``RankerConfig.query_expansion``.
GLOSSARIES: dict[str, Glossary] = {"glossary": build_glossary(TERMS)}


def expand_query(text: str, glossary: Glossary | str = "glossary") -> str:
    """``text`` followed by the glossary equivalents of its terms (one extra line).

    Args:
        text: The query text.
        glossary: A :class:`Glossary` or a key of :data:`GLOSSARIES`.

    Returns:
        The expanded text (unchanged when no term is found).
    """
    g = GLOSSARIES[glossary] if isinstance(glossary, str) else glossary
    extra = g.translations(text)
    return text + ("\n" + " ".join(extra) if extra else "")
