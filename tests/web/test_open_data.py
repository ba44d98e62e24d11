"""Open data: the files agree with their dictionaries, hold no personal data or drafts, are safe in a
spreadsheet, and the public page serves the last generation in both languages."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import update

from models import Challenge, Kpi, OutcomeReport, Proposal, Trial, TrialNote, User
from portal import clock
from portal.database import db
from portal.services import open_data, stats
from tests.security.world import World, build_world

#: People's names given to the fixture world's users, and written into their free text.
PEOPLE = {"officer": "Chan Tai Man", "officer_other": "Wong Siu Ming", "member": "Lee Ka Yan",
          "member_other": "Cheung Wing", "coordinator": "Ho Mei Ling", "admin": "Lau Chi Keung"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture
def folder(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty open-data folder for this test."""
    monkeypatch.setitem(app.config, "OPEN_DATA_DIR", str(tmp_path / "open-data"))
    return tmp_path / "open-data"


def _publish_world(app) -> World:
    """The fixture world, with its running trial completed and published with KPI results, and
    people's names on its users and in the free text written about them."""
    world = build_world(app)
    with app.app_context():
        for key, user_id in world.users.items():
            db.get(User, user_id).display_name = PEOPLE[key]
        trial = db.get(Trial, world.trial_running)
        trial.status, trial.outcome, trial.completed_at = "completed", "adopted", clock.now()
        trial.decision_reason = f"Approved after a call with {PEOPLE['officer']}."
        db.get(Kpi, world.kpi_running).result = "-35%"
        db.add_all([
            OutcomeReport(trial_id=trial.id, summary=f"{PEOPLE['member']} ran the pilot well.",
                          lessons="Train staff early.", recommendation="Adopt.", signed_off_at=clock.now(),
                          startup_agreed_at=clock.now()),
            TrialNote(trial_id=trial.id, author_id=world.users["coordinator"], body=f"Met {PEOPLE['member']}."),
        ])
        db.execute(update(Proposal).values(pitch=f"{PEOPLE['member']} will lead this pilot."))
        db.commit()
    return world


def _generate(app, folder: Path) -> open_data.Manifest:
    with app.app_context():
        return open_data.generate(folder)


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _json_value_fits(type_: str, value: Any) -> bool:
    return {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "date": lambda v: isinstance(v, str) and bool(DATE.match(v)),
        "list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    }[type_](value)


def _csv_value_fits(type_: str, value: str) -> bool:
    if type_ == "integer":
        return bool(re.fullmatch(r"-?\d+", value))
    if type_ == "number":
        return bool(re.fullmatch(r"-?\d+(\.\d+)?", value))
    if type_ == "date":
        return bool(DATE.match(value))
    return True  # strings and lists are text


def test_every_file_agrees_with_its_dictionary(app, folder):
    _publish_world(app)
    _generate(app, folder)
    for dataset in open_data.DATASETS:
        dictionary = _json(folder / f"{dataset.name}-dictionary.json")["fields"]
        csv_dictionary = _csv(folder / f"{dataset.name}-dictionary.csv")
        assert dictionary == [{**row, "nullable": row["nullable"] == "True"} for row in csv_dictionary]
        names = [f["field"] for f in dictionary]
        types = {f["field"]: f["type"] for f in dictionary}
        nullable = {f["field"]: f["nullable"] for f in dictionary}
        assert all(f["meaning_en"] and f["meaning_zh"] for f in dictionary), dataset.name

        rows = _csv(folder / f"{dataset.name}.csv")
        records = _json(folder / f"{dataset.name}.json")["records"]
        assert records and len(rows) == len(records), dataset.name
        with (folder / f"{dataset.name}.csv").open(encoding="utf-8-sig", newline="") as handle:
            assert next(csv.reader(handle)) == names, dataset.name
        for record, row in zip(records, rows):
            assert list(record) == names, dataset.name
            for name in names:
                if record[name] is None:
                    assert nullable[name] and row[name] == "", (dataset.name, name)
                else:
                    assert _json_value_fits(types[name], record[name]), (dataset.name, name, record[name])
                    assert _csv_value_fits(types[name], row[name]), (dataset.name, name, row[name])


def test_no_personal_data_in_any_file(app, folder):
    world = _publish_world(app)
    _generate(app, folder)
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.iterdir()))
    assert "Own Startup Ltd" in text  # the published trial is in the files...
    personal = [*world.emails.values(), *PEOPLE.values(), "Train staff early", "Looks promising"]
    leaked = [value for value in personal if value.lower() in text.lower()]
    assert not leaked  # ...but nobody's email, name, or text written about them
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an email address is in the open data"


def test_drafts_never_appear(app, folder, make):
    world = _publish_world(app)
    with app.app_context():  # a completed, published trial of a challenge taken back to draft
        draft = db.get(Challenge, world.challenge_draft)
        trial = Trial(challenge_id=draft.id, startup_id=world.startup_other, capability_id=world.capability_other,
                      status="completed", outcome="adopted", completed_at=clock.now())
        db.add(trial)
        db.commit()
        trial_id = trial.id
    _generate(app, folder)
    text = "\n".join(path.read_text(encoding="utf-8") for path in folder.iterdir())
    assert "Secret draft plan" not in text
    assert open_data.reference(world.challenge_draft) not in text
    challenge_ids = {r["id"] for r in _json(folder / "challenges.json")["records"]}
    assert challenge_ids == {world.challenge_open, world.challenge_closed, world.challenge_other}
    assert trial_id not in {r["id"] for r in _json(folder / "poc-outcomes.json")["records"]}
    overall = _json(folder / "statistics.json")["records"][0]
    assert (overall["dimension"], overall["challenges_posted"]) == ("overall", 3)


def test_only_completed_trials_with_an_outcome_are_published(app, folder, make):
    challenge = make.challenge(status="open", opened_at=clock.now())
    published = make.trial(challenge, make.capability(), status="completed", outcome="extended",
                           completed_at=clock.now())
    make.trial(challenge, make.capability(), status="completed", outcome=None, completed_at=clock.now())
    make.trial(challenge, make.capability(), status="running")
    _generate(app, folder)
    assert [r["id"] for r in _json(folder / "poc-outcomes.json")["records"]] == [published.id]


def test_outcomes_appear_only_once_signed_off_and_until_unpublished(app, folder, make):
    challenge = make.challenge(status="open", opened_at=clock.now())
    signed = make.trial(challenge, make.capability(), status="completed", outcome="adopted", completed_at=clock.now())
    make.trial(challenge, make.capability(), status="completed", outcome="adopted", completed_at=clock.now(),
               signed_off=False)
    taken_down = make.trial(challenge, make.capability(), status="completed", outcome="adopted",
                            completed_at=clock.now())
    with app.app_context():
        db.get(Trial, taken_down.id).report.unpublished_at = clock.now()
        db.commit()
    _generate(app, folder)
    assert [r["id"] for r in _json(folder / "poc-outcomes.json")["records"]] == [signed.id]


def test_kpi_results_appear_only_when_published(app, folder, make):
    challenge = make.challenge(status="closed", opened_at=clock.now())
    trial = make.trial(challenge, make.capability(), status="completed", outcome="adopted", completed_at=clock.now())
    with app.app_context():
        db.add_all([Kpi(trial_id=trial.id, name="Calls answered", target="80%", result="85%"),
                    Kpi(trial_id=trial.id, name="Waiting time", target="-30%", result=None)])
        db.commit()
    _generate(app, folder)
    kpis = [(r["name"], r["result"]) for r in _json(folder / "poc-kpis.json")["records"]]
    assert kpis == [("Calls answered", "85%"), ("Waiting time", None)]
    assert _json(folder / "poc-outcomes.json")["records"][0]["kpis"] == 2


def test_csv_files_start_with_a_byte_order_mark_and_keep_chinese(app, folder, make):
    department = make.department(name_zh="衞生署測試組")
    make.challenge(department, status="open", opened_at=clock.now(), title="減少輪候時間", language="zh-Hant")
    _generate(app, folder)
    for path in folder.glob("*.csv"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path.name
    text = (folder / "challenges.csv").read_bytes().decode("utf-8")
    assert "減少輪候時間" in text and "衞生署測試組" in text


def test_formula_cells_are_escaped_in_csv_and_kept_in_json(app, folder, make):
    startup = make.startup(name="@SUM(1+1) Ltd")
    challenge = make.challenge(status="open", opened_at=clock.now(), title="=HYPERLINK(\"http://x\")",
                               tags=["+cmd", "nlp"])
    trial = make.trial(challenge, make.capability(startup, name="-2 Capability"), status="completed",
                       outcome="adopted", completed_at=clock.now())
    with app.app_context():
        db.add(Kpi(trial_id=trial.id, name="Waiting time", target="-30%", result="=1+1"))
        db.commit()
    _generate(app, folder)
    challenge_row = _csv(folder / "challenges.csv")[0]
    assert challenge_row["title"] == "'=HYPERLINK(\"http://x\")"
    assert challenge_row["tags"] == "'+cmd;nlp"
    poc = _csv(folder / "poc-outcomes.csv")[0]
    assert (poc["startup_name"], poc["capability_name"]) == ("'@SUM(1+1) Ltd", "'-2 Capability")
    kpi = _csv(folder / "poc-kpis.csv")[0]
    assert (kpi["target"], kpi["result"]) == ("'-30%", "'=1+1")
    assert _json(folder / "challenges.json")["records"][0]["title"] == "=HYPERLINK(\"http://x\")"


def test_statistics_are_the_programme_figures(app, folder, make):
    challenge = make.challenge(status="open", opened_at=clock.now() - timedelta(days=10))
    make.trial(challenge, make.capability(), status="completed", outcome="adopted", completed_at=clock.now(),
               approved_at=clock.now() - timedelta(days=4))
    make.trial(challenge, make.capability(), status="completed", outcome="not_adopted", completed_at=clock.now())
    make.challenge(status="draft")
    _generate(app, folder)
    records = _json(folder / "statistics.json")["records"]
    with app.test_request_context():
        overall = stats.report().overall
    assert records[0] == {**records[0], "challenges_posted": overall.challenges, "trials": 2,
                          "trials_completed": 2, "solutions_adopted": 1, "adoption_rate_percent": 50.0,
                          "median_days_to_approved_trial": 6.0}
    assert {r["dimension"] for r in records} == {"overall", "domain", "functional_area", "department", "month"}


def test_a_record_out_of_step_with_the_dictionary_is_refused(app):
    field = open_data.Field("id", "integer", False, "Id.", "編號。")
    leaky = open_data.Dataset("leaky", (field,), lambda: [{"id": 1, "email": "someone@example.org"}])
    with app.app_context(), pytest.raises(ValueError, match="differ from the dictionary"):
        open_data.records(leaky)


def test_generate_command_writes_every_file_and_the_manifest(app, folder, make):
    make.challenge(status="open", opened_at=clock.now())
    result = app.test_cli_runner().invoke(args=["open-data", "generate"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in folder.iterdir()}
    assert names == {"manifest.json"} | {
        f"{d}{suffix}.{fmt}" for d in open_data.DATASET_NAMES for suffix in ("", "-dictionary") for fmt in ("csv", "json")
    }
    manifest = _json(folder / "manifest.json")
    sizes = {f["name"]: f["bytes"] for f in manifest["files"]}
    assert all(sizes[name] == (folder / name).stat().st_size for name in sizes)
    assert next(f["records"] for f in manifest["files"] if f["name"] == "challenges.csv") == 1


def test_a_failed_generation_leaves_the_previous_files_whole(app, folder, make, monkeypatch):
    make.challenge(status="open", opened_at=clock.now())
    _generate(app, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    make.challenge(status="open", opened_at=clock.now())

    def broken_replace(source: str, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(open_data.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        _generate(app, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no half file, no temporary file


def test_page_generates_the_files_on_first_request(app, client, folder, make):
    make.challenge(status="open", opened_at=clock.now())
    assert not folder.exists()
    page = client.get("/open-data")
    assert page.status_code == 200
    assert (folder / "manifest.json").is_file()
    html = page.get_data(as_text=True)
    assert "1 record" in html and "17 fields" in html
    assert re.search(r"\d+(\.\d)? KB|\d+ bytes", html)
    assert "Last generated" in html and "Terms of use" in html
    assert 'href="/open-data/challenges.csv"' in html and 'href="/open-data/statistics-dictionary.json"' in html


def test_page_answers_503_when_the_files_cannot_be_written(app, client, folder, monkeypatch):
    def read_only(source: str, target: Path) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(open_data.os, "replace", read_only)
    assert client.get("/open-data").status_code == 503
    assert client.get("/open-data/challenges.csv").status_code == 503


def test_page_serves_the_last_generation_until_the_next(app, client, folder, make):
    make.challenge(status="open", opened_at=clock.now())
    _generate(app, folder)
    make.challenge(status="open", opened_at=clock.now())
    assert "1 record" in client.get("/open-data").get_data(as_text=True)
    assert len(_csv_from(client.get("/open-data/challenges.csv"))) == 1
    _generate(app, folder)
    assert "2 records" in client.get("/open-data").get_data(as_text=True)


def test_files_a_day_old_are_regenerated_when_the_page_is_read(app, client, folder, make):
    make.challenge(status="open", opened_at=clock.now())
    _generate(app, folder)
    make.challenge(status="open", opened_at=clock.now())
    with time_machine.travel(clock.now() + timedelta(hours=23), tick=False):
        assert "1 record" in client.get("/open-data").get_data(as_text=True)
    with time_machine.travel(clock.now() + timedelta(hours=25), tick=False):
        assert "2 records" in client.get("/open-data").get_data(as_text=True)


def _csv_from(response) -> list[dict[str, str]]:
    with response:
        return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_page_in_chinese(app, client, folder, make):
    make.challenge(status="open", opened_at=clock.now())
    with client.session_transaction() as session:
        session["locale"] = "zh_Hant_HK"
    html = client.get("/open-data").get_data(as_text=True)
    assert "開放數據" in html and "使用條款" in html and "資料字典" in html
    assert "Last generated" not in html


def test_footer_links_to_the_open_data_page(client):
    assert 'href="/open-data"' in client.get("/stats").get_data(as_text=True)


def test_download_serves_the_generated_file(app, client, folder, make):
    make.challenge(status="open", opened_at=clock.now())
    _generate(app, folder)
    with client.get("/open-data/challenges.csv") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.get_data() == (folder / "challenges.csv").read_bytes()
    with client.get("/open-data/challenges-dictionary.json") as dictionary:
        assert dictionary.mimetype == "application/json"
        assert [f["field"] for f in dictionary.get_json()["fields"]] == [f.name for f in open_data.CHALLENGE_FIELDS]


@pytest.mark.parametrize("name", ["manifest.json", "secret.csv", "..%2Fmanifest.json", ".challenges.csv.tmp"])
def test_download_of_a_file_not_published_is_not_found(app, client, folder, make, name):
    _generate(app, folder)
    (folder / "secret.csv").write_text("secret")
    assert client.get(f"/open-data/{name}").status_code == 404
