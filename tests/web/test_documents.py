"""Documents through the web: upload forms, downloads and their headers, removal, limits, both languages."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from models import Document, User
from portal.database import db
from tests.helpers import sign_in

from .. import samples


@pytest.fixture
def world(make, document_storage):
    dept = make.department()
    officer = make.user("officer", department_id=dept.id)
    officer_other = make.user("officer")
    member = make.user("startup")
    member_other = make.user("startup")
    coordinator = make.user("coordinator")
    with make.app.app_context():
        from models import Startup

        startup = db.get(Startup, member.startup_id)
    cap = make.capability(startup=startup)
    challenge = make.challenge(dept)
    draft = make.challenge(dept, status="draft")
    proposal = make.proposal(challenge, cap)
    trial = make.trial(challenge, cap, proposal_id=proposal.id)
    return {
        "officer": officer, "officer_other": officer_other, "member": member, "member_other": member_other,
        "coordinator": coordinator, "challenge": challenge, "draft": draft, "proposal": proposal, "trial": trial,
        "storage": document_storage,
    }


def files(storage) -> set[str]:
    return set(storage.keys())


def rows(app) -> int:
    with app.app_context():
        return db.scalar(select(func.count(Document.id))) or 0


def status(client, url: str) -> int:
    """GET ``url`` and return the status (the response, maybe a file, is closed)."""
    response = client.get(url)
    response.close()
    return response.status_code


def upload(client, url: str, content: bytes, name: str):
    return client.post(url, data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_officer_uploads_on_the_edit_page_and_anyone_downloads_an_open_challenges_document(app, client, world):
    sign_in(client, world["officer"])
    page = client.get(f"/challenges/{world['challenge'].id}/edit")
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and f'/challenges/{world["challenge"].id}/documents' in html
    response = upload(client, f"/challenges/{world['challenge'].id}/documents", samples.pdf(), "醫療 方案 2026.pdf")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/challenges/{world['challenge'].id}/edit#documents")
    with app.app_context():
        document = db.scalar(select(Document))
        assert document.content_type == "application/pdf" and document.display_name == "醫療 方案 2026.pdf"
    detail = client.get(f"/challenges/{world['challenge'].id}").get_data(as_text=True)
    assert "醫療 方案 2026.pdf" in detail and "PDF" in detail
    anonymous = app.test_client()
    download = anonymous.get(f"/challenges/{world['challenge'].id}/documents/{document.id}")
    assert download.status_code == 200
    assert download.data == samples.pdf()
    download.close()
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="2026.pdf"; filename*=UTF-8\'\'')
    assert unquote(disposition.split("UTF-8''", 1)[1]) == "醫療 方案 2026.pdf"


def test_a_public_challenge_page_names_no_officer_and_shows_no_empty_actions_column(app, client, world):
    """Who added a challenge's document is personal data the public page does not need: the
    public and startups see when, the department's officers and the lab see who as well."""
    sign_in(client, world["officer"])
    assert upload(client, f"/challenges/{world['challenge'].id}/documents", samples.pdf(), "Plan.pdf").status_code == 302
    with app.app_context():
        name = db.get(User, world["officer"].id).display_name
    url = f"/challenges/{world['challenge'].id}"
    own = client.get(url).get_data(as_text=True)
    assert "Plan.pdf" in own and name in own and ">Remove<" in own
    for viewer in (app.test_client(), sign_in(app.test_client(), world["member"])):
        page = viewer.get(url).get_data(as_text=True)
        assert "Plan.pdf" in page and name not in page
        table = page[page.index('class="govuk-table im-documents'):]
        table = table[: table.index("</table>")]
        assert "Actions" not in table and ">Remove<" not in table
    lab = sign_in(app.test_client(), world["coordinator"]).get(url).get_data(as_text=True)
    assert name in lab


def test_a_renamed_program_gets_a_message_on_the_form_in_both_languages(app, client, world):
    sign_in(client, world["officer"])
    url = f"/challenges/{world['challenge'].id}/documents"
    response = upload(client, url, samples.exe(), "deck.pdf")
    assert response.status_code == 400
    assert "not one of the accepted types" in response.get_data(as_text=True)
    client.post("/language", data={"locale": "zh_Hant_HK"})
    response = upload(client, url, samples.plain_zip(), "deck.pptx")
    assert response.status_code == 400
    assert "接受的類型" in response.get_data(as_text=True)
    assert rows(app) == 0 and files(world["storage"]) == set()


def test_an_empty_file_and_no_file_are_refused_on_the_form(app, client, world):
    sign_in(client, world["officer"])
    url = f"/challenges/{world['challenge'].id}/documents"
    assert "empty" in upload(client, url, b"", "empty.pdf").get_data(as_text=True)
    response = client.post(url, data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a file" in response.get_data(as_text=True)
    assert rows(app) == 0 and files(world["storage"]) == set()


def test_an_oversized_request_gets_the_upload_page_with_the_limit(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_REQUEST_BYTES", 50_000)
    sign_in(client, world["officer"])
    response = upload(client, f"/challenges/{world['challenge'].id}/documents", samples.pdf("x" * 60_000), "big.pdf")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "larger than" in html and 'type="file"' in html
    assert rows(app) == 0 and files(world["storage"]) == set()


def test_a_file_over_the_document_limit_is_refused(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_BYTES", 1_000)
    sign_in(client, world["officer"])
    response = upload(client, f"/challenges/{world['challenge'].id}/documents", samples.pdf("x" * 2_000), "big.pdf")
    assert response.status_code == 400 and "larger than 1,000 bytes" in response.get_data(as_text=True)
    assert rows(app) == 0 and files(world["storage"]) == set()


def test_other_pages_keep_the_small_request_limit(app, client, world):
    sign_in(client, world["officer"])
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post(f"/challenges/{world['challenge'].id}/edit", data={"title": big})
    assert response.status_code == 413


def test_an_upload_or_removal_returns_to_the_page_its_form_was_on(app, client, world):
    """From the proposal's documents page, back to that page; from the edit page, to the edit page."""
    sign_in(client, world["member"])
    documents_page = f"/proposals/{world['proposal'].id}/documents"
    assert f'name="return_to" value="{documents_page}"' in client.get(documents_page).get_data(as_text=True)
    sent = client.post(documents_page, data={"file": (io.BytesIO(samples.pdf()), "a.pdf"), "return_to": documents_page},
                       content_type="multipart/form-data")
    assert sent.headers["Location"].endswith(documents_page)
    sent = client.post(documents_page, data={"file": (io.BytesIO(samples.pdf()), "b.pdf"),
                                             "return_to": "https://elsewhere.example/"},
                       content_type="multipart/form-data")
    assert sent.headers["Location"].endswith(f"/proposals/{world['proposal'].id}/edit#documents")
    with app.app_context():
        first = db.scalar(select(Document).where(Document.display_name == "a.pdf"))
    removed = client.post(f"{documents_page}/{first.id}/delete", data={"return_to": documents_page})
    assert removed.status_code == 302 and removed.headers["Location"].endswith(documents_page)


def test_startup_attaches_a_deck_to_its_proposal_and_the_department_reads_it_in_its_inbox(app, client, world):
    sign_in(client, world["member"])
    assert "Documents" in client.get(f"/proposals/{world['proposal'].id}/edit").get_data(as_text=True)
    response = upload(client, f"/proposals/{world['proposal'].id}/documents", samples.pptx(), "deck.pptx")
    assert response.status_code == 302
    officer = sign_in(app.test_client(), world["officer"])
    inbox = officer.get(f"/challenges/{world['challenge'].id}/proposals").get_data(as_text=True)
    assert "deck.pptx" in inbox and "PowerPoint" in inbox
    with app.app_context():
        document = db.scalar(select(Document))
    url = f"/proposals/{world['proposal'].id}/documents/{document.id}"
    assert status(officer, url) == 200
    assert status(sign_in(app.test_client(), world["officer_other"]), url) == 404
    assert status(sign_in(app.test_client(), world["member_other"]), url) == 404
    assert status(sign_in(app.test_client(), world["coordinator"]), url) == 200
    assert status(app.test_client(), url) == 302  # to the sign-in page


def test_both_sides_attach_reports_to_a_trial_and_each_removes_only_its_own(app, world):
    member = sign_in(app.test_client(), world["member"])
    officer = sign_in(app.test_client(), world["officer"])
    base = f"/trials/{world['trial'].id}/documents"
    assert upload(member, base, samples.xlsx(), "kpis.xlsx").status_code == 302
    assert upload(officer, base, samples.docx(), "minutes.docx").status_code == 302
    page = officer.get(f"/trials/{world['trial'].id}").get_data(as_text=True)
    assert "kpis.xlsx" in page and "minutes.docx" in page
    with app.app_context():
        theirs, mine = (d.id for d in db.scalars(select(Document).order_by(Document.id)))
    assert officer.post(f"{base}/{theirs}/delete").status_code == 403
    assert officer.post(f"{base}/{mine}/delete").status_code == 302
    assert rows(app) == 1 and len(files(world["storage"])) == 1


def test_a_draft_challenges_documents_are_hidden_outside_its_department(app, world):
    officer = sign_in(app.test_client(), world["officer"])
    assert upload(officer, f"/challenges/{world['draft'].id}/documents", samples.png(), "map.png").status_code == 302
    with app.app_context():
        document = db.scalar(select(Document))
    url = f"/challenges/{world['draft'].id}/documents/{document.id}"
    assert status(officer, url) == 200
    assert status(app.test_client(), url) == 404
    assert status(sign_in(app.test_client(), world["officer_other"]), url) == 404
    assert status(sign_in(app.test_client(), world["member"]), url) == 404
    assert status(sign_in(app.test_client(), world["coordinator"]), url) == 200


def test_a_document_is_only_reached_through_its_own_parent(app, world):
    officer = sign_in(app.test_client(), world["officer"])
    upload(officer, f"/challenges/{world['draft'].id}/documents", samples.png(), "map.png")
    with app.app_context():
        document = db.scalar(select(Document))
    # The draft's document asked for under the open challenge: not found, not leaked.
    assert status(app.test_client(), f"/challenges/{world['challenge'].id}/documents/{document.id}") == 404


def test_a_lost_file_is_a_404_not_a_500(app, world):
    officer = sign_in(app.test_client(), world["officer"])
    upload(officer, f"/challenges/{world['challenge'].id}/documents", samples.png(), "map.png")
    with app.app_context():
        document = db.scalar(select(Document))
    world["storage"].delete(document.storage_key)
    assert status(officer, f"/challenges/{world['challenge'].id}/documents/{document.id}") == 404


def test_a_proposal_is_sent_with_its_deck_or_not_at_all(app, make, document_storage):
    member = make.user("startup")
    with app.app_context():
        from models import Capability, Proposal, Startup

        cap = make.capability(startup=db.get(Startup, member.startup_id))
        challenge = make.challenge()
        other = make.challenge()
    client = sign_in(app.test_client(), member)
    form = client.get(f"/challenges/{challenge.id}/propose").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form
    pitch = "We can run this pilot in eight weeks with two clinics."
    refused = client.post(f"/challenges/{challenge.id}/propose", content_type="multipart/form-data",
                          data={"capability_id": cap.id, "pitch": pitch, "file": (io.BytesIO(samples.exe()), "deck.pdf")})
    assert refused.status_code == 400 and "not one of the accepted types" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.scalar(select(func.count(Proposal.id))) == 0  # nothing half-stored: no proposal either
    assert rows(app) == 0 and files(document_storage) == set()
    sent = client.post(f"/challenges/{challenge.id}/propose", content_type="multipart/form-data",
                       data={"capability_id": cap.id, "pitch": pitch, "file": (io.BytesIO(samples.pptx()), "deck.pptx")})
    assert sent.status_code == 302
    without = client.post(f"/challenges/{other.id}/propose", data={"capability_id": cap.id, "pitch": pitch})
    assert without.status_code == 302
    with app.app_context():
        document = db.scalar(select(Document))
        assert document.display_name == "deck.pptx" and document.proposal_id is not None
        assert db.scalar(select(func.count(Proposal.id))) == 2
        assert isinstance(db.get(Capability, cap.id), Capability)
    assert rows(app) == 1


def test_a_proposal_with_a_file_over_the_request_limit_gets_the_form_again(app, make, document_storage, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_MAX_REQUEST_BYTES", 50_000)
    member = make.user("startup")
    with app.app_context():
        from models import Startup

        cap = make.capability(startup=db.get(Startup, member.startup_id))
    challenge = make.challenge()
    client = sign_in(app.test_client(), member)
    response = client.post(f"/challenges/{challenge.id}/propose", content_type="multipart/form-data",
                           data={"capability_id": cap.id, "pitch": "x" * 40,
                                 "file": (io.BytesIO(samples.pdf("x" * 60_000)), "deck.pdf")})
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True) and 'name="pitch"' in response.get_data(as_text=True)


def test_the_trial_page_shows_what_was_sent_with_the_proposal(app, world):
    """The coordinator decides on the trial's page: the startup's deck is there, linked."""
    member = sign_in(app.test_client(), world["member"])
    assert upload(member, f"/proposals/{world['proposal'].id}/documents", samples.pptx(), "deck.pptx").status_code == 302
    with app.app_context():
        document = db.scalar(select(Document))
    for who in ("coordinator", "officer", "member"):
        page = sign_in(app.test_client(), world[who]).get(f"/trials/{world['trial'].id}").get_data(as_text=True)
        assert "Sent with the proposal" in page and "deck.pptx" in page, who
        assert f"/proposals/{world['proposal'].id}/documents/{document.id}" in page
    other = sign_in(app.test_client(), world["officer_other"])
    assert other.get(f"/trials/{world['trial'].id}").status_code in (403, 404)


def test_a_pair_the_lab_shortlisted_first_still_gets_the_startups_deck(app, make, document_storage):
    """The lab shortlisted the pair from the recommendations before any proposal: the startup's
    proposal (and its deck) joins that trial, nothing being decided yet."""
    member = make.user("startup")
    with app.app_context():
        from models import Startup

        cap = make.capability(startup=db.get(Startup, member.startup_id))
    challenge = make.challenge()
    make.trial(challenge, cap, status="shortlisted")
    client = sign_in(app.test_client(), member)
    sent = client.post(f"/challenges/{challenge.id}/propose", content_type="multipart/form-data",
                       data={"capability_id": cap.id, "pitch": "We can run this pilot in eight weeks.",
                             "file": (io.BytesIO(samples.pdf()), "deck.pdf")})
    assert sent.status_code == 302, sent.get_data(as_text=True)[:800]
    assert rows(app) == 1


def _deck_sent_then(app, world, change) -> tuple[object, str, int]:
    """The startup sends a deck with its proposal, then ``change(proposal, trial)`` happens
    (in a unit of work of its own): the member's client, the documents' URL, the deck's id."""
    from models import Proposal, Trial

    member = sign_in(app.test_client(), world["member"])
    url = f"/proposals/{world['proposal'].id}/documents"
    assert upload(member, url, samples.pdf(), "deck.pdf").status_code == 302
    with app.app_context():
        document_id = db.scalar(select(Document.id))
        change(db.get(Proposal, world["proposal"].id), db.get(Trial, world["trial"].id))
        db.commit()
    return member, url, document_id


def test_a_proposal_the_lab_decided_on_keeps_its_documents(app, make, world):
    def approve(_proposal, trial):
        trial.status = "approved"

    member, url, document_id = _deck_sent_then(app, world, approve)
    response = upload(member, url, samples.pdf(), "late.pdf")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "can no longer be changed" in page and 'type="file"' not in page
    removed = member.post(f"{url}/{document_id}/delete", follow_redirects=True)
    assert "can no longer be changed" in removed.get_data(as_text=True)
    with app.app_context():
        assert db.scalar(select(Document.display_name)) == "deck.pdf"
    # The lab may still remove one (moderation).
    coordinator = sign_in(app.test_client(), make.user("coordinator"))
    assert coordinator.post(f"{url}/{document_id}/delete").status_code == 302
    assert rows(app) == 0


def test_a_withdrawn_proposal_takes_no_new_document_but_its_startup_may_remove_one(app, client, world):
    def withdraw(proposal, _trial):
        proposal.status = "withdrawn"

    member, url, document_id = _deck_sent_then(app, world, withdraw)
    refused = upload(member, url, samples.pdf(), "late.pdf")
    assert refused.status_code == 409 and "withdrawn" in refused.get_data(as_text=True)
    assert member.post(f"{url}/{document_id}/delete").status_code == 302
    assert rows(app) == 0
