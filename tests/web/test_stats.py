"""The dashboard, public statistics, CSV downloads and the showcase, checked against a known dataset."""

from __future__ import annotations

import csv
import io
import re
import statistics
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from models import Kpi, Notification, OutcomeReport
from portal.database import db
from tests.helpers import sign_in

# The dataset: challenges (department, domains, area, opened, status), trials and proposals.
CHALLENGES = {
    "c1": ("A", ["smart_clinic", "customer_service"], "dental_clinical", datetime(2026, 1, 10, 4, tzinfo=UTC), "open"),
    "c2": ("A", ["smart_clinic"], "administration", datetime(2026, 1, 20, 4, tzinfo=UTC), "open"),
    "c3": ("B", ["data_collaboration"], "regulation", datetime(2026, 3, 5, 4, tzinfo=UTC), "closed"),
    "c4": ("B", ["smart_clinic"], "regulation", None, "draft"),
    "c5": ("B", ["public_engagement"], "protection_promotion", datetime(2026, 3, 15, 4, tzinfo=UTC), "open"),
}
# (challenge, startup index, state, outcome, days from opening to approval or None)
TRIALS = [
    ("c1", 0, "completed", "adopted", 10),
    ("c1", 1, "completed", "not_adopted", 20),
    ("c1", 2, "rejected", None, None),
    ("c2", 0, "running", None, 5),
    ("c2", 1, "proposed", None, None),
    ("c2", 2, "approved", None, -3),  # approved before the challenge was reopened: no "days" figure
    ("c3", 0, "completed", "adopted", 30),
    ("c3", 1, "withdrawn", None, None),
]
PROPOSALS = [("c1", 0), ("c1", 1), ("c1", 2), ("c2", 1), ("c3", 0), ("c3", 1)]
DEPARTMENTS = {"A": "Alpha Unit", "B": "Beta Unit"}
STARTUPS = ["Startup Alpha", "Startup Beta", "Startup Gamma"]
DOMAIN_ORDER = [
    ("health_regulation", "Smart health regulatory functions"),
    ("smart_clinic", "Smart clinics"),
    ("workflow_reengineering", "Smart workflow re-engineering"),
    ("customer_service", "Smart customer service"),
    ("public_engagement", "Online public engagement"),
    ("data_collaboration", "Data collaboration"),
]
AREA_ORDER = [
    ("regulation", "Health regulation"),
    ("protection_promotion", "Health protection and health promotion"),
    ("administration", "Health administration"),
    ("dental_clinical", "Dental and clinical services"),
]
HEADER = ["Challenges posted", "Matched", "Proposals", "Trials approved", "Completed", "Adopted", "Adoption rate (%)",
          "Median days to an approved trial"]


def expected(refs: list[str]) -> list[str]:
    """The figures for a group of posted challenges, computed from the dataset in plain Python."""
    trials = [t for t in TRIALS if t[0] in refs]
    approved = [t for t in trials if t[2] in ("approved", "running", "completed")]
    completed = [t for t in trials if t[2] == "completed"]
    adopted = [t for t in completed if t[3] == "adopted"]
    days = [t[4] for t in trials if t[4] is not None and t[4] >= 0]
    return [
        str(len(refs)),
        str(len({t[0] for t in approved})),
        str(sum(1 for p in PROPOSALS if p[0] in refs)),
        str(len(approved)),
        str(len(completed)),
        str(len(adopted)),
        f"{100 * len(adopted) / len(completed):.1f}" if completed else "",
        f"{statistics.median(days):.1f}" if days else "",
    ]


POSTED = [ref for ref, spec in CHALLENGES.items() if spec[4] != "draft"]


@pytest.fixture
def dataset(make):
    departments = {key: make.department(name_en=name, name_zh=name) for key, name in DEPARTMENTS.items()}
    caps = [make.capability(make.startup(name=name)) for name in STARTUPS]
    challenges = {}
    for ref, (dept, domains, area, opened, status) in CHALLENGES.items():
        challenges[ref] = make.challenge(
            departments[dept], title=f"Challenge {ref}", domains=domains, functional_area=area, status=status,
            opened_at=opened,
        )
    for ref, index in PROPOSALS:
        make.proposal(challenges[ref], caps[index], pitch=f"Secret pitch {ref}-{index} for the lab only.")
    trials = {}
    for ref, index, state, outcome, days in TRIALS:
        opened = CHALLENGES[ref][3]
        approved = opened + timedelta(days=days) if days is not None else None
        trials[(ref, index)] = make.trial(
            challenges[ref], caps[index], status=state, outcome=outcome, approved_at=approved,
            completed_at=approved + timedelta(days=40) if state == "completed" else None,
        )
    return {"departments": departments, "caps": caps, "challenges": challenges, "trials": trials}


def read_csv(client, table: str) -> list[list[str]]:
    response = client.get(f"/stats.csv?table={table}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f'filename="innomatch-{table}.csv"' in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


class _Tables(HTMLParser):
    """Collect the cell texts of every table on a page, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id") or f"t{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return {key: [[("" if c == "–" else c) for c in row] for row in rows] for key, rows in parser.tables.items()}


# -- figures ---------------------------------------------------------------------------------------


def test_headline_figures_match_the_dataset(dataset, client):
    rows = read_csv(client, "overview")
    assert rows == [
        ["Figure", "Value"],
        ["Challenges posted", "4"],  # the draft does not count
        ["Challenges matched (a trial approved)", "3"],
        ["Proposals received", "6"],
        ["Trials approved", "5"],  # of 8 trial records: not the proposed, rejected or withdrawn ones
        ["Trials completed", "3"],
        ["Solutions adopted", "2"],
        ["Adoption rate (%)", "66.7"],  # 2 adopted of 3 completed
        ["Median days from opening to an approved trial", "15.0"],  # median of 5, 10, 20, 30
    ]


def test_trials_by_state_match_the_dataset(dataset, client):
    counts = {state: sum(1 for t in TRIALS if t[2] == state) for state in
              ("proposed", "shortlisted", "approved", "running", "completed", "withdrawn", "rejected")}
    labels = {"proposed": "Proposed", "shortlisted": "Shortlisted", "approved": "Approved", "running": "Running",
              "completed": "Completed", "withdrawn": "Withdrawn", "rejected": "Rejected"}
    assert read_csv(client, "states") == [["State", "Trials"]] + [[labels[s], str(n)] for s, n in counts.items()]


def test_breakdown_by_domain(dataset, client):
    rows = read_csv(client, "domain")
    assert rows[0] == ["Domain"] + HEADER
    expected_rows = [
        [label] + expected([r for r in POSTED if key in CHALLENGES[r][1]]) for key, label in DOMAIN_ORDER
    ]
    assert rows[1:] == expected_rows
    # checked by hand: c1 and c2; 4 proposals; 4 of their 6 trial records approved (not c1's rejected
    # one or c2's proposed one), 2 completed of which 1 adopted; the median of 10, 20 and 5 days (c2's
    # third was approved before it reopened).
    assert rows[2] == ["Smart clinics", "2", "2", "4", "4", "2", "1", "50.0", "10.0"]


def test_breakdown_by_functional_area(dataset, client):
    rows = read_csv(client, "area")
    assert rows[1:] == [[label] + expected([r for r in POSTED if CHALLENGES[r][2] == key]) for key, label in AREA_ORDER]


def test_breakdown_by_department(dataset, client):
    rows = read_csv(client, "department")
    assert rows[1:] == [
        ["Alpha Unit"] + expected(["c1", "c2"]),
        ["Beta Unit"] + expected(["c3", "c5"]),
    ]


def test_breakdown_by_month_fills_empty_months(dataset, client):
    rows = read_csv(client, "month")
    assert rows[1:] == [
        ["2026-01"] + expected(["c1", "c2"]),
        ["2026-02"] + expected([]),
        ["2026-03"] + expected(["c3", "c5"]),
    ]


def test_the_page_tables_show_the_same_figures_as_the_csv(dataset, make, app):
    client = app.test_client()
    sign_in(client, make.user("coordinator"), through_form=True)
    tables = page_tables(client.get("/dashboard").get_data(as_text=True))
    for key in ("overview", "states", "domain", "area", "department"):
        assert tables[f"table-{key}"] == read_csv(client, key), key
    month = tables["table-month"]
    assert [row[0] for row in month[1:]] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert [row[1:] for row in month] == [row[1:] for row in read_csv(client, "month")]


def test_charts_are_accessible_svg_drawn_on_the_server(dataset, client):
    page = client.get("/stats").get_data(as_text=True)
    for key in ("states", "domain", "area", "department", "month"):
        assert re.search(rf'<svg [^>]*role="img" aria-labelledby="chart-{key}-title chart-{key}-desc"', page), key
        assert f'<title id="chart-{key}-title">' in page
    assert "style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    domain_svg = page[page.index('aria-labelledby="chart-domain-title'):]
    domain_svg = domain_svg[: domain_svg.index("</svg>")]
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)" height="16"', domain_svg)]
    # The label column is as wide as the longest domain's name needs: none is shortened.
    assert "…" not in domain_svg
    # Two bars (posted, matched) per domain; the largest value (2) fills the plot.
    assert len(widths) == 2 * len(DOMAIN_ORDER)
    assert widths[2] == max(widths) and widths[6] == pytest.approx(max(widths) / 2)


def test_public_page_shows_only_aggregates(dataset, client):
    page = client.get("/stats").get_data(as_text=True)
    assert "InnoMatch in figures" in page
    for secret in STARTUPS + ["Secret pitch", "Challenge c2"]:
        assert secret not in page
    assert ">66.7%<" in page


def test_unknown_csv_table_is_404(client):
    assert client.get("/stats.csv?table=users").status_code == 404


def test_csv_neutralises_spreadsheet_formulas(make, client):
    make.challenge(make.department(name_en="=HYPERLINK(\"http://x\")", name_zh="x"))
    rows = read_csv(client, "department")
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")"


def test_empty_database_has_no_division_by_zero(client):
    assert client.get("/stats").status_code == 200
    assert read_csv(client, "overview")[7] == ["Adoption rate (%)", ""]


def test_dashboard_is_for_coordinators(dataset, make, app, client):
    assert client.get("/dashboard").status_code == 302
    officer = app.test_client()
    sign_in(officer, make.user("officer"), through_form=True)
    assert officer.get("/dashboard").status_code == 403
    coordinator = app.test_client()
    sign_in(coordinator, make.user("coordinator"), through_form=True)
    page = coordinator.get("/dashboard").get_data(as_text=True)
    assert "Trials in progress (3)" in page  # one proposed, one approved, one running
    running = dataset["trials"][("c2", 0)]
    assert f'href="/trials/{running.id}"' in page and "Startup Alpha" in page


def test_dashboard_pages_the_trials_in_progress_furthest_along_first(make, app):
    from portal.services.stats import PIPELINE_PAGE_SIZE

    capability = make.capability(make.startup(name="Pipeline Co"))
    running = make.trial(make.challenge(title="Running trial"), capability, status="running")
    waiting = [make.trial(make.challenge(title=f"Waiting {n:03d}"), capability) for n in range(PIPELINE_PAGE_SIZE)]
    coordinator = app.test_client()
    sign_in(coordinator, make.user("coordinator"), through_form=True)
    first = coordinator.get("/dashboard").get_data(as_text=True)
    assert f"Trials in progress ({PIPELINE_PAGE_SIZE + 1})" in first
    assert f'href="/trials/{running.id}"' in first  # the furthest along leads the first page
    assert f'href="/trials/{waiting[-1].id}"' not in first and "?page=2" in first
    second = coordinator.get("/dashboard?page=2").get_data(as_text=True)
    assert f'href="/trials/{waiting[-1].id}"' in second and f'href="/trials/{running.id}"' not in second
    assert f'href="/trials/{waiting[-1].id}"' in coordinator.get("/dashboard?page=99999999999").get_data(as_text=True)


# -- the showcase -------------------------------------------------------------------------------------


@pytest.fixture
def reported(app, dataset):
    """Outcome reports and KPI results for the completed trials."""
    adopted = dataset["trials"][("c1", 0)]
    with app.app_context():
        report = db.scalar(select(OutcomeReport).where(OutcomeReport.trial_id == adopted.id))
        report.summary = "Calls fell by a third within eight weeks."
        db.add(Kpi(trial_id=adopted.id, name="Calls answered by the chatbot", target="60%", result="71%"))
        db.commit()
    return dataset


def test_showcase_lists_completed_trials_with_outcomes_reports_and_kpis(reported, client):
    page = client.get("/showcase").get_data(as_text=True)
    for ref in ("c1", "c3"):
        assert f"Challenge {ref}" in page
    assert "Challenge c2" not in page  # running, approved and proposed trials are not shown
    assert "Adopted" in page and "Not adopted" in page
    assert "Calls fell by a third within eight weeks." in page
    assert "Calls answered by the chatbot" in page and "71%" in page
    assert "Interested in this solution for your department?" in page
    assert "Sign in as a department officer" in page  # anonymous users are asked to sign in


def test_showcase_filters_by_outcome(reported, client):
    page = client.get("/showcase?outcome=not_adopted").get_data(as_text=True)
    assert page.count('class="im-card im-showcase"') == 1
    assert client.get("/showcase?outcome=bogus").status_code == 200


def test_officer_tells_the_lab_about_interest_in_an_adopted_solution(reported, make, app):
    coordinators = [make.user("coordinator"), make.user("coordinator")]
    other_dept = make.department(name_en="Port Health Office", name_zh="港口衞生處")
    officer = make.user("officer", department=other_dept)
    trial = reported["trials"][("c1", 0)]
    client = app.test_client()
    sign_in(client, officer, through_form=True)
    assert "Tell the lab we are interested" in client.get("/showcase").get_data(as_text=True)

    response = client.post(f"/showcase/{trial.id}/interest")
    assert response.status_code == 302
    with app.app_context():
        notes = list(db.scalars(select(Notification).order_by(Notification.user_id)))
        assert [n.user_id for n in notes] == [c.id for c in coordinators]
        assert {n.kind for n in notes} == {"solution_interest"}
        assert notes[0].payload["department_id"] == other_dept.id and notes[0].link == f"/trials/{trial.id}"
    page = client.get("/showcase").get_data(as_text=True)
    assert "Your department has told the lab it is interested." in page

    again = client.post(f"/showcase/{trial.id}/interest")
    assert again.status_code == 409 and "already told the lab" in again.get_data(as_text=True)

    coordinator = app.test_client()
    sign_in(coordinator, coordinators[0], through_form=True)
    inbox = coordinator.get("/notifications").get_data(as_text=True)
    assert "Port Health Office would like to reuse the solution of" in inbox


def test_the_reuse_box_is_for_departments_and_visitors_only(reported, make, app):
    """A startup or the lab has nothing to ask about reuse: the box is not offered to them."""
    heading = "Interested in this solution for your department?"
    assert heading in app.test_client().get("/showcase").get_data(as_text=True)  # with how to sign in
    for role in ("startup", "coordinator"):
        client = app.test_client()
        sign_in(client, make.user(role))
        page = client.get("/showcase").get_data(as_text=True)
        assert heading not in page and "Tell the lab we are interested" not in page


def test_only_other_departments_officers_can_ask_and_only_for_adopted_solutions(reported, make, app):
    adopted = reported["trials"][("c1", 0)]
    not_adopted = reported["trials"][("c1", 1)]
    running = reported["trials"][("c2", 0)]
    own = app.test_client()
    sign_in(own, make.user("officer", department=reported["departments"]["A"]), through_form=True)
    assert "Your department ran this trial." in own.get("/showcase").get_data(as_text=True)
    assert own.post(f"/showcase/{adopted.id}/interest").status_code == 409

    other = app.test_client()
    sign_in(other, make.user("officer"), through_form=True)
    assert other.post(f"/showcase/{not_adopted.id}/interest").status_code == 409
    assert other.post(f"/showcase/{running.id}/interest").status_code == 404

    startup = app.test_client()
    sign_in(startup, make.user("startup"), through_form=True)
    assert startup.post(f"/showcase/{adopted.id}/interest").status_code == 403
    with app.app_context():
        assert db.scalars(select(Notification)).all() == []
