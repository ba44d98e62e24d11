"""flask matcher evaluate --split, calibrate-bands and exposure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from matcher.bands import ScoreCalibration, calibrate, load_calibration
from matcher.evaluation import CasesError, load_cases
from portal.services import recommendations
from tests.factories import Factory

CASES: dict[str, Any] = {
    "challenges": [
        {"id": "c1", "title": "Clinic queue tickets", "description": "Patients wait at the clinic; we need queue tickets.",
         "split": "test"},
        {"id": "c2", "title": "Smoking cessation chatbot", "description": "A chatbot that helps smokers quit smoking.",
         "split": "tune"},
        {"id": "c3", "title": "Pest control", "description": "Restaurants need pest control.", "split": "extra"},
    ],
    "startups": [
        {"id": "s1", "name": "QueueLess", "summary": "Queue ticket system for clinic waiting rooms."},
        {"id": "s2", "name": "QuitBot", "summary": "Chatbot that helps smokers quit smoking."},
        {"id": "s3", "name": "PestGone", "summary": "Pest control for restaurants."},
    ],
    "qrels": [{"challenge": "c1", "startup": "s1", "grade": 2}, {"challenge": "c2", "startup": "s2", "grade": 1},
              {"challenge": "c3", "startup": "s3", "grade": 1}],
}


def _evaluate(app: Flask, tmp_path: Any, data: dict[str, Any], *args: str) -> dict[str, Any]:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["matcher", "evaluate", str(path), "--json", "--model", "hashing", "--no-centering", *args])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    return out


def test_cases_split_keeps_every_startup_and_counts_other_splits_as_tune():
    cases = load_cases(CASES)
    test, tune = cases.only("test"), cases.only("tune")
    assert [c.key for c in test.challenges] == ["c1"] and set(test.qrels) == {"c1"}
    assert [c.key for c in tune.challenges] == ["c2", "c3"] and set(tune.qrels) == {"c2", "c3"}
    assert len(test.startups) == len(tune.startups) == 3
    with pytest.raises(CasesError, match="unknown split"):
        cases.only("dev")


def test_evaluate_split_scores_only_that_split(app: Flask, tmp_path: Any) -> None:
    assert _evaluate(app, tmp_path, CASES)["cases"] == 3
    test = _evaluate(app, tmp_path, CASES, "--split", "test")
    assert test["cases"] == 1 and test["split"] == "test"
    tune = _evaluate(app, tmp_path, CASES, "--split", "tune")
    assert tune["cases"] == 2 and tune["split"] == "tune"


def test_a_file_without_splits_is_evaluated_whole(app: Flask, tmp_path: Any) -> None:
    plain = {**CASES, "challenges": [{k: v for k, v in c.items() if k != "split"} for c in CASES["challenges"]]}
    out = _evaluate(app, tmp_path, plain, "--split", "test")
    assert out["cases"] == 3
    assert any("no 'split' field" in w for w in out["warnings"])


def test_evaluate_split_refuses_an_unknown_split(app: Flask, tmp_path: Any) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(CASES), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["matcher", "evaluate", str(path), "--split", "dev"])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_bands_are_cut_where_the_share_of_relevant_pairs_drops():
    scores = [0.9, 0.8, 0.7, 0.65, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.2, 0.1, 0.05, 0.04, 0.03]
    relevant = [True, True, True, True, True, False, True, False, False, False, False, False, False, False, False]
    cal = calibrate(scores, relevant, [10.0, 20.0, 30.0])
    assert cal.bands[0].key == "strong"
    strong = cal.bands[0]
    assert strong.share >= 0.8 and strong.pairs >= 5
    assert cal.band(0.95).key == "strong" and cal.band(0.0).key == "weak"
    assert cal.lexical_scale == 20.0
    # Strength is absolute: the same BM25 reads the same whatever the other candidates.
    assert cal.strength({"semantic": 0.4}, {"bm25": 20.0})["lexical"] == pytest.approx(1 - 2.718281828 ** -1, 1e-6)
    # Without relevant pairs' cosines the semantic bar is the cosine itself ...
    assert cal.semantic_scale == 0.0 and cal.strength({"semantic": 0.4}, {})["semantic"] == 0.4
    assert ScoreCalibration.from_dict(cal.to_dict()) == cal
    # ... with them, the median relevant cosine reads 63%, like the median relevant BM25.
    cal = calibrate(scores, relevant, [10.0, 20.0, 30.0], relevant_semantic=[0.1, 0.2, 0.3, -0.1])
    assert cal.semantic_scale == 0.2
    assert cal.strength({"semantic": 0.2}, {})["semantic"] == pytest.approx(1 - 2.718281828 ** -1, 1e-6)
    assert cal.strength({"semantic": -0.1}, {})["semantic"] == 0.0
    assert ScoreCalibration.from_dict(cal.to_dict()) == cal


def test_the_shipped_semantic_bar_reads_a_typical_relevant_pair_at_63_percent():
    cal = load_calibration()
    assert 0 < cal.semantic_scale < 1
    assert cal.strength({"semantic": cal.semantic_scale}, {})["semantic"] == pytest.approx(0.632, abs=0.001)


def test_the_shipped_bands_were_measured_on_the_tune_split():
    cal = load_calibration()
    assert "tune split" in cal.source
    assert cal.bands[0].key == "strong" and cal.bands[-1].min_score == 0.0
    assert all(b.pairs > 0 for b in cal.bands)


def test_cli_calibrate_bands_prints_the_share_per_band(app: Flask, tmp_path: Any) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(CASES), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["matcher", "calibrate-bands", "--cases", str(path)])
    assert result.exit_code == 0, result.output
    assert "tune split: 2 challenges x 3 startups" in result.output
    assert "relevant =" in result.output and "Check on the test split" in result.output


def test_cli_exposure_reports_shares_and_the_cap(app: Flask, make: Factory) -> None:
    dept = make.department()
    for n in range(4):
        make.challenge(dept, title=f"Clinic booking {n}")
    for n in range(6):
        make.capability(make.startup(name=f"Exposure Startup {n}"))
    with app.app_context():
        recommendations.clear_caches()
    result = app.test_cli_runner().invoke(args=["matcher", "exposure", "--cap", "0.2"])
    assert result.exit_code == 0, result.output
    assert "Top ten as ranked: 4 open challenges, 24 top-ten places, 6 startups" in result.output
    assert "Gini" in result.output and "most exposed:" in result.output and "least exposed:" in result.output
    capped = result.output.split("Top ten with the cap 0.2: ")[1]
    # 4 challenges x 10 places; a cap of 0.2 allows 8 places, more than 4 lists can give.
    assert capped.startswith("4 open challenges, 24 top-ten places")


def test_exposure_cap_setting_hides_a_startup_over_the_cap(app: Flask, make: Factory) -> None:
    dept = make.department()
    challenges = [make.challenge(dept, title=f"Clinic booking {n}") for n in range(3)]
    for n in range(4):
        make.capability(make.startup(name=f"Capped Startup {n}"))
    with app.app_context():
        recommendations.clear_caches()
        before = [len(r) for r in recommendations.recommend_startups_for_each(challenges, None)]
        app.config["MATCHER_EXPOSURE_CAP"] = 0.05  # 3 x 10 places: at most 1 each
        try:
            recommendations.clear_caches()
            after = recommendations.recommend_startups_for_each(challenges, None)
            report = recommendations.exposure_report(0.05)
        finally:
            app.config["MATCHER_EXPOSURE_CAP"] = None
    assert before == [4, 4, 4]
    counts: dict[int, int] = {}
    for recs in after:
        for r in recs:
            counts[r.startup.id] = counts.get(r.startup.id, 0) + 1
    # Without the cap every startup is in all three lists; with it, each in one.
    assert sorted(counts.values()) == [1, 1, 1, 1]
    assert report.places == 4 and max(report.shares.values()) == 0.25


def test_cli_calibrate_bands_can_leave_the_test_split_unread(app: Flask, tmp_path: Any) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(CASES), encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["matcher", "calibrate-bands", "--cases", str(path), "--no-test-check"]
    )
    assert result.exit_code == 0, result.output
    assert "tune split: 2 challenges x 3 startups" in result.output
    assert "Check on the test split" not in result.output


def test_cli_calibrate_bands_measures_the_zscore_reference(app: Flask, tmp_path: Any) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(CASES), encoding="utf-8")
    app.config["MATCHER_FUSION"] = "zscore"
    try:
        result = app.test_cli_runner().invoke(
            args=["matcher", "calibrate-bands", "--cases", str(path), "--no-test-check"]
        )
    finally:
        app.config["MATCHER_FUSION"] = ""
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "zscore_reference" in line)
    reference = json.loads(line.split(": ", 1)[1])
    assert reference["pool"] == 3 and set(reference) <= {"pool", "semantic", "lexical", "structured"}
    assert all(len(v) == 2 and v[1] > 0 for k, v in reference.items() if k != "pool")
    assert "differs from the configured one" in result.output  # none is configured here


def test_only_the_startup_corpus_is_standardised_against_the_reference(app: Flask) -> None:
    # The reference was measured with challenges ranking startups, the direction whose
    # score every page shows; ranking challenges (for a startup, or similar challenges)
    # goes without it.
    from portal.services.recommendations import corpus

    reference = {"pool": 194, "semantic": [0.03, 0.05], "lexical": [0.12, 0.15]}
    app.config["MATCHER_CONFIG"] = {"fusion": "zscore", "zscore_reference": reference}
    try:
        with app.app_context():
            assert corpus.CAPABILITIES.ranker_config().zscore_reference == reference
            assert corpus.CHALLENGES.ranker_config().zscore_reference is None
            assert corpus.PUBLISHED.ranker_config().zscore_reference is None
    finally:
        app.config["MATCHER_CONFIG"] = None


@pytest.mark.parametrize(
    "override", [{"MATCHER_CENTERING": False}, {"MATCHER_TRANSLATION": ""}, {"MATCHER_CALIBRATION": {"cross": 0.1}}]
)
def test_the_zscore_reference_is_dropped_under_other_centering_translation_or_offsets(app: Flask, override) -> None:
    """The preset's reference was measured with its own centering and translation: under
    other settings the columns have other means and spreads, so it is not applied."""
    from portal.services import recommendations

    base = {"MATCHER_MODEL": "multilingual-e5-small", "MATCHER_CENTERING": None, "MATCHER_TRANSLATION": None,
            "MATCHER_CALIBRATION": None, "MATCHER_CONFIG": None}
    with app.app_context():
        assert recommendations.settings(base).ranker.get("zscore_reference")
        assert "zscore_reference" not in recommendations.settings({**base, **override}).ranker
