"""Every page type of the app, as the user who sees it, for the accessibility checks.

``SPECS`` lists the pages we know (with the role that sees them and, for forms, a button that
shows the errors). ``discovered_specs()`` adds every other GET page of ``app.url_map`` (a page
added after this file was written), resolved at run time: ids from the demo data, the first role
that gets an HTML page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

ROLES = (None, "startup", "officer", "coordinator", "admin")
#: Endpoints that are not pages: files, redirects, health checks.
NOT_PAGES = {"static", "main.healthz", "main.readyz", "main.prometheus_metrics", "startups.mine", "open_data.download",
             "documents.challenge_download", "documents.proposal_download", "documents.trial_download",
             "auth.still_here"}
NOT_PAGE_SUFFIXES = (".csv", ".ics", ".json", ".xml", ".txt", ".pdf")


@dataclass(frozen=True)
class PageSpec:
    """One page: who sees it, where, and how to reach the state we check."""

    name: str
    role: str | None  # None: not signed in
    endpoint: str  # "" for a page of no endpoint (404)
    path: Callable[[dict[str, int]], str] | None = None  # from the demo ids; None: discovered
    submit: str | None = None  # a button to press first (a form with its errors shown)
    status: int = 200
    discovered: bool = False
    args: tuple[str, ...] = field(default=())


def _p(template: str) -> Callable[[dict[str, int]], str]:
    return lambda ids: template.format(**ids)


SUBMIT = "main form[method=post] button[type=submit]"
#: The upload form's button (a documents page lists its files first, each with a "Remove" form).
UPLOAD = "main form[enctype='multipart/form-data'] button[type=submit]"
SPECS: tuple[PageSpec, ...] = (
    # Anyone
    PageSpec("landing", None, "main.index", _p("/")),
    PageSpec("sign-in", None, "auth.login", _p("/login")),
    PageSpec("sign-in-errors", None, "auth.login", _p("/login"), submit=SUBMIT, status=400),
    PageSpec("register", None, "auth.register", _p("/register")),
    PageSpec("register-errors", None, "auth.register", _p("/register"), submit=SUBMIT, status=400),
    PageSpec("challenges-filtered", None, "challenges.index", _p("/challenges?q=&domain=customer_service&status=open")),
    PageSpec("challenges-none-found", None, "challenges.index", _p("/challenges?q=no-challenge-has-these-words")),
    PageSpec("challenge", None, "challenges.detail", _p("/challenges/{challenge}")),
    PageSpec("stats", None, "stats.public", _p("/stats")),
    PageSpec("open-data", None, "open_data.index", _p("/open-data")),
    PageSpec("workshops", None, "workshops.index", _p("/workshops")),
    PageSpec("error-404", None, "", _p("/no-such-page"), status=404),
    PageSpec("privacy", None, "main.privacy", _p("/privacy")),
    PageSpec("forgot-password", None, "auth.forgot_password", _p("/password/forgot")),
    PageSpec("forgot-password-errors", None, "auth.forgot_password", _p("/password/forgot"), submit=SUBMIT, status=400),
    PageSpec("reset-link-not-valid", None, "auth.reset_password", _p("/password/reset/not-a-sent-link"), status=404),
    PageSpec("verify-link-not-valid", None, "auth.verify_email", _p("/account/verify/not-a-sent-link"), status=404),
    # Startup founder
    PageSpec("recommendations", "startup", "matches.for_startup", _p("/recommendations")),
    PageSpec("startup-profile", "startup", "startups.profile", _p("/startups/{founder_startup}")),
    PageSpec("startup-edit", "startup", "startups.edit", _p("/startups/{founder_startup}/edit")),
    PageSpec("capability-new", "startup", "startups.new_capability", _p("/startups/capabilities/new")),
    PageSpec("capability-new-errors", "startup", "startups.new_capability", _p("/startups/capabilities/new"),
             submit=SUBMIT, status=400),
    PageSpec("capability-edit", "startup", "startups.edit_capability", _p("/capabilities/{founder_capability}/edit")),
    PageSpec("capability-delete", "startup", "startups.delete_capability",
             _p("/capabilities/{founder_capability}/delete")),
    PageSpec("challenge-startup", "startup", "challenges.detail", _p("/challenges/{unproposed_challenge}")),
    PageSpec("challenge-question-errors", "startup", "challenges.detail", _p("/challenges/{unproposed_challenge}"),
             submit="main form[action$='/questions'] button[type=submit]", status=400),
    PageSpec("challenge-questions-startup", "startup", "challenges.detail", _p("/challenges/{own_challenge}")),
    PageSpec("proposal-form", "startup", "startups.propose", _p("/challenges/{unproposed_challenge}/propose")),
    PageSpec("proposal-form-errors", "startup", "startups.propose", _p("/challenges/{unproposed_challenge}/propose"),
             submit=SUBMIT, status=400),
    PageSpec("my-proposals", "startup", "startups.my_proposals", _p("/startups/proposals")),
    PageSpec("my-trials", "startup", "startups.my_trials", _p("/startups/trials")),
    PageSpec("proposal-edit", "startup", "startups.edit_proposal", _p("/proposals/{founder_proposal}/edit")),
    PageSpec("proposal-withdraw", "startup", "startups.withdraw_proposal", _p("/proposals/{founder_proposal}/withdraw")),
    PageSpec("proposal-documents", "startup", "documents.proposal_upload", _p("/proposals/{founder_proposal}/documents")),
    PageSpec("proposal-documents-errors", "startup", "documents.proposal_upload",
             _p("/proposals/{founder_proposal}/documents"), submit=UPLOAD, status=400),
    PageSpec("workshop", "startup", "workshops.detail", _p("/workshops/{workshop}")),
    PageSpec("notifications", "startup", "notifications.index", _p("/notifications")),
    PageSpec("notification-preferences", "startup", "notifications.preferences", _p("/notifications/preferences")),
    PageSpec("account", "startup", "auth.account", _p("/account")),
    PageSpec("account-close", "startup", "auth.close_account", _p("/account/close")),
    PageSpec("account-close-errors", "startup", "auth.close_account", _p("/account/close"), submit=SUBMIT, status=400),
    PageSpec("error-403", "startup", "admin.users", _p("/admin/users"), status=403),
    # Department officer
    PageSpec("our-challenges", "officer", "challenges.mine", _p("/challenges/mine")),
    PageSpec("challenge-officer", "officer", "challenges.detail", _p("/challenges/{own_challenge}")),
    PageSpec("challenge-form", "officer", "challenges.create", _p("/challenges/new")),
    PageSpec("challenge-form-errors", "officer", "challenges.create", _p("/challenges/new"),
             submit="main form button[name=action][value=open]", status=400),
    PageSpec("challenge-edit", "officer", "challenges.edit", _p("/challenges/{own_challenge}/edit")),
    PageSpec("challenge-documents", "officer", "documents.challenge_upload", _p("/challenges/{own_challenge}/documents")),
    PageSpec("challenge-edit-similar", "officer", "challenges.edit", _p("/challenges/{own_challenge}/edit"),
             submit="main form button[name=action][value=similar]"),
    PageSpec("questions-received", "officer", "challenges.questions_received",
             _p("/challenges/{own_challenge}/questions")),
    PageSpec("proposals-received", "officer", "challenges.proposals_received", _p("/challenges/{inbox_challenge}/proposals")),
    PageSpec("proposals-compare", "officer", "challenges.compare_proposals",
             _p("/challenges/{inbox_challenge}/proposals/compare?proposal={inbox_proposal_a}&proposal={inbox_proposal_b}")),
    PageSpec("proposals-compare-errors", "officer", "challenges.compare_proposals",
             _p("/challenges/{inbox_challenge}/proposals/compare?proposal={inbox_proposal_a}"), status=400),
    PageSpec("panel-criteria-draft", "officer", "panel.criteria", _p("/challenges/{draft_challenge}/criteria")),
    PageSpec("panel-criteria-published", "officer", "panel.criteria", _p("/challenges/{own_challenge}/criteria")),
    PageSpec("panel-table-officer", "officer", "panel.table", _p("/challenges/{inbox_challenge}/panel")),
    PageSpec("recommended-startups", "officer", "matches.for_challenge", _p("/challenges/{own_challenge}/recommended")),
    PageSpec("showcase", "officer", "stats.showcase", _p("/showcase")),
    # Lab coordinator
    PageSpec("queue", "coordinator", "coordinator.queue", _p("/coordinator/")),
    PageSpec("conflicts", "coordinator", "coordinator.conflicts_list", _p("/coordinator/conflicts")),
    PageSpec("startups", "coordinator", "startups.index", _p("/startups")),
    PageSpec("trial-proposed", "coordinator", "trials.detail", _p("/trials/{trial_proposed}")),
    PageSpec("trial-errors", "coordinator", "trials.detail", _p("/trials/{trial_proposed}"),
             submit="main form:has(input[name=action][value=approve]) button[type=submit]", status=400),
    PageSpec("trial-running", "coordinator", "trials.detail", _p("/trials/{trial_running}")),
    PageSpec("trial-completed", "coordinator", "trials.detail", _p("/trials/{trial_completed}")),
    PageSpec("panel-score", "coordinator", "panel.score", _p("/proposals/{inbox_proposal_a}/score")),
    PageSpec("panel-score-errors", "coordinator", "panel.score", _p("/proposals/{inbox_proposal_a}/score"),
             submit=SUBMIT, status=400),
    PageSpec("panel-score-locked", "coordinator", "panel.score", _p("/proposals/{decided_proposal}/score")),
    PageSpec("panel-table", "coordinator", "panel.table", _p("/challenges/{inbox_challenge}/panel")),
    PageSpec("trial-documents", "coordinator", "documents.trial_upload", _p("/trials/{trial_running}/documents")),
    PageSpec("trial-documents-errors", "coordinator", "documents.trial_upload", _p("/trials/{trial_running}/documents"),
             submit=UPLOAD, status=400),
    PageSpec("dashboard", "coordinator", "stats.dashboard", _p("/dashboard")),
    PageSpec("workshop-form", "coordinator", "workshops.create", _p("/workshops/new")),
    PageSpec("workshop-form-errors", "coordinator", "workshops.create", _p("/workshops/new"), submit=SUBMIT, status=400),
    PageSpec("workshop-edit", "coordinator", "workshops.edit", _p("/workshops/{workshop}/edit")),
    PageSpec("audit-log", "coordinator", "audit_log.index", _p("/audit")),
    # Administrator
    PageSpec("admin-users", "admin", "admin.users", _p("/admin/users")),
    PageSpec("admin-new-user", "admin", "admin.new_user", _p("/admin/users/new")),
    PageSpec("admin-new-user-errors", "admin", "admin.new_user", _p("/admin/users/new"), submit=SUBMIT, status=400),
    PageSpec("admin-mails", "admin", "admin.mails", _p("/admin/mails")),
)


def discovered_specs(app: Any) -> list[PageSpec]:
    """GET pages of ``app`` that ``SPECS`` does not cover (checked as the first role that sees them)."""
    known = {s.endpoint for s in SPECS}
    found: dict[str, PageSpec] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in known or rule.endpoint in NOT_PAGES:
            continue
        if rule.rule.endswith(NOT_PAGE_SUFFIXES) or rule.endpoint in found:
            continue
        name = "auto-" + rule.endpoint.replace(".", "-").replace("_", "-")
        found[rule.endpoint] = PageSpec(name, None, rule.endpoint, discovered=True, args=tuple(sorted(rule.arguments)))
    return sorted(found.values(), key=lambda s: s.name)


# -- ids of demo rows, resolved once per run -------------------------------------------------


def demo_ids(db: Any) -> dict[str, int]:
    """Ids the page paths need, read from the seeded database."""
    from models import Capability, Challenge, Department, Proposal, Trial, User, Workshop
    from portal.demo import DEMO_LOGINS

    founder = db.scalar(select(User).where(User.email == DEMO_LOGINS[1][0]))
    officer = db.scalar(select(User).where(User.email == DEMO_LOGINS[0][0]))
    proposed_by_founder = set(db.scalars(select(Proposal.challenge_id).where(Proposal.startup_id == founder.startup_id)))
    proposed_by_founder |= set(db.scalars(select(Trial.challenge_id).where(Trial.startup_id == founder.startup_id)))
    open_challenges = list(db.scalars(select(Challenge).where(Challenge.status == "open").order_by(Challenge.id)))
    dh = db.get(Department, officer.department_id)

    # The officer's challenge with the most proposals, and its two newest (the inbox and comparison).
    inbox_challenge = db.scalar(
        select(Proposal.challenge_id).join(Challenge, Challenge.id == Proposal.challenge_id)
        .where(Challenge.department_id == dh.id).group_by(Proposal.challenge_id)
        .order_by(func.count().desc(), Proposal.challenge_id)
    )
    # Still waiting for the lab's decision (other browser tests may have decided newer ones), so
    # their panel scores are open.
    inbox_proposals = list(db.scalars(
        select(Proposal.id).join(Trial, Trial.proposal_id == Proposal.id)
        .where(Proposal.challenge_id == inbox_challenge, Trial.status == "proposed")
        .order_by(Proposal.id.desc()).limit(2)
    ))

    def trial(state: str) -> int:
        return db.scalar(select(Trial.id).where(Trial.status == state).order_by(Trial.id))

    ids = {
        "challenge": open_challenges[0].id,
        "own_challenge": next(c.id for c in open_challenges if c.department_id == dh.id),
        "unproposed_challenge": next(c.id for c in open_challenges if c.id not in proposed_by_founder),
        "founder_startup": founder.startup_id,
        "founder_capability": db.scalar(
            select(Capability.id).where(Capability.startup_id == founder.startup_id).order_by(Capability.id)
        ),
        "inbox_challenge": inbox_challenge,
        "inbox_proposal_a": inbox_proposals[0],
        "inbox_proposal_b": inbox_proposals[-1],
        "founder_proposal": db.scalar(
            select(Proposal.id).join(Trial, Trial.proposal_id == Proposal.id)
            .where(Proposal.startup_id == founder.startup_id, Trial.status == "proposed").order_by(Proposal.id)
        ),
        "draft_challenge": db.scalar(
            select(Challenge.id).where(Challenge.department_id == dh.id, Challenge.status == "draft")
            .order_by(Challenge.id)
        ),
        # A proposal the lab has decided on (its panel scores are locked).
        "decided_proposal": db.scalar(
            select(Trial.proposal_id).where(Trial.status == "completed", Trial.proposal_id.is_not(None))
            .order_by(Trial.id)
        ),
        "trial_proposed": trial("proposed"),
        "trial_running": trial("running"),
        "trial_completed": trial("completed"),
        "workshop": db.scalar(select(Workshop.id).order_by(Workshop.id)),
    }
    return ids


#: The subject of the failed email ``add_examples`` writes (and looks for, so it runs once).
EXAMPLE_MAIL_SUBJECT = "Your proposal was received"


def add_examples(server: Any) -> None:
    """Rows the demo data lacks, so pages show their tables and lists (once per server): a failed
    email; a PDF attached to a challenge, a proposal and a trial by the people who may; and two
    questions on the officer's challenge, one answered and published; panel scores on the
    officer's challenge with the most proposals."""
    import io

    from models import Challenge, OutboxMail, Proposal, Trial, User
    from models.vocabulary import MailStatus
    from portal.demo import DEMO_LOGINS
    from portal.services import documents, panel, questions
    from tests import samples

    with server.app.test_request_context("/"), server.context() as db:
        if db.scalar(select(OutboxMail.id).where(OutboxMail.subject == EXAMPLE_MAIL_SUBJECT)) is not None:
            return
        ids = demo_ids(db)
        db.add(OutboxMail(
            recipient="no-such-person@clinic.example.hk", to_header="Ho Ka Yan <no-such-person@clinic.example.hk>",
            subject=EXAMPLE_MAIL_SUBJECT, body_text="Thank you for your proposal.", locale="en",
            message_id="<example-failed@innomatch.test>", status=MailStatus.FAILED, attempts=5,
            last_error="550 5.1.1 The email account that you tried to reach does not exist",
        ))
        officer = db.scalar(select(User).where(User.email == DEMO_LOGINS[0][0]))
        founder = db.scalar(select(User).where(User.email == DEMO_LOGINS[1][0]))
        coordinator = db.scalar(select(User).where(User.email == DEMO_LOGINS[2][0]))
        for user, parent, name in (
            (officer, db.get(Challenge, ids["own_challenge"]), "Service blueprint.pdf"),
            (founder, db.get(Proposal, ids["founder_proposal"]), "Pitch deck.pdf"),
            (coordinator, db.get(Trial, ids["trial_running"]), "Interim report.pdf"),
        ):
            documents.attach_document(user, parent, io.BytesIO(samples.pdf(name)), name)
        # A deck sent with a proposal in the officer's inbox: its documents table sits in a result card.
        proposal_a = db.get(Proposal, ids["inbox_proposal_a"])
        sender = db.scalar(select(User).where(User.startup_id == proposal_a.startup_id))
        if sender is not None and documents.may_attach(sender, proposal_a):
            name = "Proposal deck with a long file name for the pilot.pdf"
            documents.attach_document(sender, proposal_a, io.BytesIO(samples.pdf(name)), name)
        # Two questions of the demo startup on the officer's challenge: one answered and published.
        challenge = db.get(Challenge, ids["own_challenge"])
        answered = questions.ask_question(founder, challenge, "Can the pilot use the clinics' existing booking data?")
        questions.ask_question(founder, challenge, "How many clinics would take part in the first month?")
        questions.answer_question(
            officer, answered, "Yes: anonymised booking records of the last year will be shared.", publish=True
        )
        # Panel scores on the inbox challenge: both proposals by the officer, the older one by the lab too.
        inbox = [db.get(Proposal, ids["inbox_proposal_a"]), db.get(Proposal, ids["inbox_proposal_b"])]
        for user, proposal, marks in (
            (officer, inbox[0], (4, 3, 4, 5, 3)), (officer, inbox[1], (3, 4, 3, 3, 4)),
            (coordinator, inbox[1], (5, 4, 4, 4, 5)),
        ):
            criteria = panel.fix_criteria(proposal.challenge)
            panel.score_proposal(user, proposal, {
                c.id: (marks[n % len(marks)], "") for n, c in enumerate(criteria)
            })
        db.commit()


def discovered_path(db: Any, spec: PageSpec) -> str | None:
    """The URL of a discovered page, each ``<int:x_id>`` filled with the first row of model X."""
    from flask import url_for

    import models

    values: dict[str, int] = {}
    for arg in spec.args:
        match = re.fullmatch(r"(\w+)_id", arg)
        model = None
        if match:
            wanted = match.group(1).replace("_", "").lower()
            model = next((m.class_ for m in models.Base.registry.mappers if m.class_.__name__.lower() == wanted), None)
        if model is None:
            return None
        row_id = db.scalar(select(model.id).order_by(model.id))
        if row_id is None:
            return None
        values[arg] = row_id
    return url_for(spec.endpoint, **values)
