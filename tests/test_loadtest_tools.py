"""The load test's own tools: the form reader its editors submit real forms with
(loadtest/forms.py), and the report's percentiles and edit summary (benchmarks/load_report.py).

The form reader is checked on the app's real edit forms: what it reads, submitted back with
one change, must save exactly that change and keep every other field as it was.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from flask import Flask
from werkzeug.datastructures import MultiDict

from models import Capability, Challenge
from portal.database import db
from tests.helpers import sign_in

ROOT = Path(__file__).resolve().parent.parent


def _load(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


forms = _load("loadtest/forms.py", "loadtest_forms")
report = _load("benchmarks/load_report.py", "load_report")


def test_read_form_takes_what_a_browser_would_send() -> None:
    html = """
    <form method="post" action="/logout"><input name="csrf_token" value="other"></form>
    <form method="post" novalidate>
      <input type="hidden" name="csrf_token" value="tok">
      <input name="name" value="Bot &amp; Co">
      <textarea name="description">
First line
second</textarea>
      <input type="checkbox" name="domains" value="a" checked>
      <input type="checkbox" name="domains" value="b">
      <input type="radio" name="area" value="x"><input type="radio" name="area" value="y" checked>
      <select name="readiness"><option value="3">3</option><option value="5">5</option></select>
      <select name="language"><option value="en">en</option><option value="zh" selected>zh</option></select>
      <button name="action" value="save">Save</button>
    </form>"""
    form = forms.read_form(html, "/capabilities/1/edit")
    assert form is not None
    assert form.values == {"csrf_token": ["tok"], "name": ["Bot & Co"], "description": ["First line\nsecond"],
                           "domains": ["a"], "area": ["y"], "readiness": ["3"], "language": ["zh"]}
    assert form.options["domains"] == ["a", "b"] and form.buttons == {"action": ["save"]}
    form.choose("domains", ["b", "unknown"])
    assert form.values["domains"] == ["b"]
    assert ("action", "save") in form.data(action="save")
    assert forms.read_form(html, "/logout").values == {"csrf_token": ["other"]}
    assert forms.read_form("<p>no form</p>") is None


def test_a_capability_form_read_and_posted_back_changes_only_what_was_changed(app: Flask, make) -> None:  # type: ignore[no-untyped-def]
    startup = make.startup()
    member = make.user("startup", startup=startup)
    cap = make.capability(startup, name="AppointmentBot", readiness=6, domains=["smart_clinic", "customer_service"],
                          technologies=["nlp", "ocr"], deployments="Two clinics.")
    client = app.test_client()
    sign_in(client, member, through_form=True)
    url = f"/capabilities/{cap.id}/edit"
    form = forms.read_form(client.get(url).get_data(as_text=True), url)
    assert form is not None
    form.set("description", "A chatbot that books dental appointments, reference zqxwv.")
    response = client.post(url, data=MultiDict(form.data()))
    assert response.status_code == 302
    with app.app_context():
        saved = db.get(Capability, cap.id)
        assert saved is not None
        assert saved.description == "A chatbot that books dental appointments, reference zqxwv."
        assert (saved.name, saved.readiness, saved.deployments) == ("AppointmentBot", 6, "Two clinics.")
        assert sorted(saved.domains) == ["customer_service", "smart_clinic"]
        assert sorted(saved.technologies) == ["nlp", "ocr"]


def test_a_challenge_form_read_and_posted_back_keeps_every_other_field(app: Flask, make) -> None:  # type: ignore[no-untyped-def]
    department = make.department()
    officer = make.user("officer", department=department)
    challenge = make.challenge(department, title="Dental booking", duration_weeks=12, tags=["chatbot", "booking"])
    with app.app_context():
        before = db.get(Challenge, challenge.id)
        assert before is not None
        kept = (before.title, before.functional_area, before.duration_weeks, before.closing_on, before.language,
                sorted(before.domains), sorted(before.tags), before.status)
    client = app.test_client()
    sign_in(client, officer, through_form=True)
    url = f"/challenges/{challenge.id}/edit"
    form = forms.read_form(client.get(url).get_data(as_text=True), url)
    assert form is not None and "save" in form.buttons["action"]
    form.set("problem_statement", "Patients wait on the phone to book dental appointments; reference zqxwv.")
    assert client.post(url, data=MultiDict(form.data(action="save"))).status_code == 302
    with app.app_context():
        after = db.get(Challenge, challenge.id)
        assert after is not None
        assert after.problem_statement.endswith("reference zqxwv.")
        assert (after.title, after.functional_area, after.duration_weeks, after.closing_on, after.language,
                sorted(after.domains), sorted(after.tags), after.status) == kept


def test_report_percentiles_and_edit_summary() -> None:
    assert report.percentile([1.0], 95) == 1.0
    assert report.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert report.percentile([0.0, 10.0], 95) == 9.5
    edits = [{"kind": "capability", "visible_after_s": v} for v in (1.0, 2.0, 12.0)]
    edits += [{"kind": "challenge", "visible_after_s": None}, {"kind": "challenge opened", "visible_after_s": 3.0}]
    rows = {r["kind"]: r for r in report.edit_summary(edits)}
    assert (rows["capability"]["edits"], rows["capability"]["visible"], rows["capability"]["max_s"]) == (3, 3, 12.0)
    assert rows["capability"]["p50_s"] == 2.0
    assert (rows["challenge"]["edits"], rows["challenge"]["visible"], rows["challenge"]["max_s"]) == (1, 0, None)
    assert rows["all edits"]["edits"] == 5 and rows["all edits"]["visible"] == 4
    assert report.targets_for("recommendations: for startup (after edit)") == {"p95": 300, "p99": 1000}
    assert report.targets_for("challenges: search") == {"p95": 150}
    assert report.targets_for("/login/two-step") == {} and report.targets_for("login") == {}
