"""Personal data under the Personal Data (Privacy) Ordinance: a user's copy of their data,
closing an account, and pseudonymising accounts inactive longer than the retention period.

A closed account keeps its row (trials, proposals, notes and the audit log point at it) but
no personal data: the name becomes "Former user #<id>", the email a unique address under
the reserved ``.invalid`` domain that no mail server delivers to, the password can match
nothing, and every session ends. Its inbox, follows, emailed links and sign-in attempts are
deleted; the audit log keeps every event, with the person's name and address blanked out of
the snapshots of their own account.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, delete, func, or_, select

from models import (
    AccountToken,
    AuditEvent,
    ChallengeFollow,
    Dismissal,
    LoginAttempt,
    Notification,
    Proposal,
    Startup,
    StartupNameHold,
    Trial,
    TrialNote,
    User,
    WorkshopRegistration,
)
from models.vocabulary import Role

from .. import clock, signals
from ..database import db, execute_update
from ..errors import DomainError
from . import accounts, mail, mfa

log = logging.getLogger("innomatch.privacy")

#: Personal values blanked out of the audit snapshots of a closed account.
ERASED = "[erased]"
PERSONAL_FIELDS = ("email", "display_name")
#: A stored password hash that no password matches (argon2 rejects it as malformed).
DISABLED_PASSWORD = "!closed"  # nosec B105: not a password; no password hashes to it


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_personal_data(user: User) -> dict[str, Any]:
    """Everything InnoMatch holds about ``user`` as a person, as JSON-ready data (DPP6: access)."""
    notifications = db.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    follows = db.scalars(select(ChallengeFollow.challenge_id).where(ChallengeFollow.user_id == user.id))
    workshops = db.scalars(select(WorkshopRegistration).where(WorkshopRegistration.user_id == user.id))
    proposals = db.scalars(select(Proposal).where(Proposal.submitted_by_id == user.id).order_by(Proposal.id))
    notes = db.scalars(select(TrialNote).where(TrialNote.author_id == user.id).order_by(TrialNote.id))
    dismissals = db.scalars(select(Dismissal).where(Dismissal.user_id == user.id).order_by(Dismissal.id))
    sign_ins = db.scalars(
        select(LoginAttempt)
        .where(LoginAttempt.email == user.email, LoginAttempt.created_at >= _address_held_since(user))
        .order_by(LoginAttempt.id.desc())
        .limit(500)
    )
    actions = db.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id.desc()).limit(1000)
    )
    return {
        "exported_at": clock.now().isoformat(),
        "account": {
            "id": user.id,
            "email": user.email,
            "email_verified_at": _iso(user.email_verified_at),
            "display_name": user.display_name,
            "role": user.role,
            "locale": user.locale,
            "department": user.department.name_en if user.department else None,
            "startup": user.startup.name if user.startup else None,
            "notification_preference": user.notify,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "password_changed_at": _iso(user.password_changed_at),
        },
        "sign_in_attempts": [
            {"at": _iso(a.created_at), "ip": a.ip, "success": a.success} for a in sign_ins
        ],
        "notifications": [
            {"kind": n.kind, "details": n.payload, "link": n.link, "created_at": _iso(n.created_at),
             "read_at": _iso(n.read_at)}
            for n in notifications
        ],
        "followed_challenge_ids": sorted(follows),
        "workshop_registrations": [{"workshop_id": w.workshop_id, "at": _iso(w.created_at)} for w in workshops],
        "proposals_submitted": [
            {"id": p.id, "challenge_id": p.challenge_id, "pitch": p.pitch, "status": p.status,
             "created_at": _iso(p.created_at)}
            for p in proposals
        ],
        "trial_notes": [{"trial_id": n.trial_id, "body": n.body, "created_at": _iso(n.created_at)} for n in notes],
        "dismissed_recommendations": [
            {"challenge_id": d.challenge_id, "startup_id": d.startup_id, "reason": d.reason} for d in dismissals
        ],
        "actions": [
            {"action": e.action, "on": f"{e.entity_type}:{e.entity_id}", "at": _iso(e.created_at)} for e in actions
        ],
    }


def _last_admin(user: User) -> bool:
    if user.role != Role.ADMIN:
        return False
    others = db.scalar(
        select(func.count()).where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != user.id)
    )
    return not others


def _members(startup_id: Any) -> Select[int]:
    """The ids of the accounts of the startup ``startup_id`` (an id, or a column to correlate)."""
    return select(User.id).where(User.startup_id == startup_id)


def last_member_of_startup(user: User) -> bool:
    """Whether ``user`` is the only active member of a startup: closing the account would leave
    its profile on the service with nobody to answer for it (the close page says so)."""
    if user.role != Role.STARTUP or user.startup_id is None:
        return False
    others = _members(user.startup_id).where(User.is_active.is_(True), User.id != user.id).limit(1)
    return db.scalar(others) is None


def pseudonymise(user: User, actor: User | None, action: str) -> None:
    """Replace the personal data of ``user`` by a pseudonym and end every session; keep the row."""
    old_email = user.email
    user.display_name = f"Former user #{user.id}"
    user.email = f"former-user-{user.id}@closed.invalid"
    user.password_hash = DISABLED_PASSWORD
    user.email_verified_at = None
    user.is_active = False
    user.closed_at = clock.now()
    # Sessions, links and API tokens end; the second step's secret and recovery codes go.
    accounts.lock_out_others(user, actor)
    mfa.forget(user)
    for model, column in (
        (AccountToken, AccountToken.user_id), (Notification, Notification.user_id),
        (ChallengeFollow, ChallengeFollow.user_id),
    ):
        db.execute(delete(model).where(column == user.id))
    db.execute(delete(LoginAttempt).where(LoginAttempt.email == old_email))
    for event in db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)):
        for side in ("before", "after"):
            values = getattr(event, side)
            if values and any(k in values for k in PERSONAL_FIELDS):
                setattr(event, side, {k: (ERASED if k in PERSONAL_FIELDS else v) for k, v in values.items()})
    db.flush()
    signals.changed(actor, action, user)


def close_account(user: User, password: str) -> None:
    """Close the user's own account after re-checking the password (the last admin cannot);
    the caller commits even when it raises, so that a wrong password is counted."""
    accounts.recheck_password(user, password, "close_account")
    if _last_admin(user):
        raise DomainError(_("You are the only administrator: appoint another before closing your account."))
    name, address, locale = user.display_name, user.email, user.locale or "en"
    confirmed = user.email_verified_at is not None
    pseudonymise(user, user, "user.close")
    log.info("account closed user=%s", user.id)
    # One last email to the (confirmed) address the account had: it says what was erased and
    # whom to tell if someone else closed it (queued with the change, so sent only if it is
    # committed). It does not name the pseudonym, so the outbox does not tie the two together.
    if confirmed:
        mail.queue_in_language(
            name, address, locale, _l("InnoMatch: your account was closed"), "email/account_closed.txt",
            name=name, contact=current_app.config["PRIVACY_CONTACT_EMAIL"],
        )


def _address_held_since(user: User) -> datetime:
    """Since when ``user`` has had its address: sign-in attempts are recorded by address, and
    those from before (someone trying that address before the account existed, or the
    address's earlier owner) are not this person's data."""
    changed = db.scalar(
        select(func.max(AuditEvent.created_at)).where(
            AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id, AuditEvent.action == "user.email_change"
        )
    )
    return max(d for d in (user.created_at, changed) if d is not None)


def inactive_accounts(days: int) -> list[User]:
    """Open accounts with no sign-in (or, never signed in, no creation) for more than ``days`` days."""
    cutoff = clock.now() - timedelta(days=days)
    return list(
        db.scalars(
            select(User)
            .where(
                User.closed_at.is_(None),
                or_(User.last_login_at < cutoff, (User.last_login_at.is_(None)) & (User.created_at < cutoff)),
            )
            .order_by(User.id)
        )
    )


def purge_inactive(days: int) -> list[int]:
    """Pseudonymise accounts inactive for more than ``days`` days; return their ids (the last admin stays)."""
    purged = []
    for user in inactive_accounts(days):
        if user.is_active and _last_admin(user):
            continue
        pseudonymise(user, None, "user.purge_inactive")
        purged.append(user.id)
    log.info("inactive accounts pseudonymised count=%d days=%d", len(purged), days)
    return purged


# -- registrations never confirmed ----------------------------------------------------------------


def _never_confirmed(cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    """The conditions on a :class:`Startup` of a registration nobody confirmed before ``cutoff``."""
    member = _members(Startup.id)
    return (
        Startup.created_at < cutoff,
        Startup.verified.is_(False),  # the lab checked the company's registration: it is real
        member.exists(),  # a startup the lab listed without accounts is not a registration
        # No member confirmed an address, none was closed or purged (pseudonymising erases the
        # confirmation too: that member was a user), and none joined since the cutoff.
        ~member.where(or_(User.email_verified_at.is_not(None), User.closed_at.is_not(None),
                          User.created_at >= cutoff)).exists(),
        ~select(Proposal.id).where(Proposal.startup_id == Startup.id).exists(),
        ~select(Trial.id).where(Trial.startup_id == Startup.id).exists(),
    )


def registration_deadline(user: User) -> datetime | None:
    """When the registration of ``user``'s startup is removed unless a member confirms an
    address (:func:`expire_unconfirmed`), for the confirmation banner; None when it will not be."""
    days = int(current_app.config.get("UNCONFIRMED_REGISTRATION_DAYS") or 0)
    startup = user.startup if user.role == Role.STARTUP else None
    if days <= 0 or startup is None or startup.verified:
        return None
    confirmed = db.scalar(_members(startup.id).where(
        or_(User.email_verified_at.is_not(None), User.closed_at.is_not(None))
    ).limit(1))
    return None if confirmed is not None else startup.created_at + timedelta(days=days)


def unconfirmed_registrations(days: int) -> list[Startup]:
    """Startups registered more than ``days`` days ago whose members never confirmed an email
    address, with nothing that reached anyone (no proposal, no trial: an unconfirmed member can
    make neither), not verified by the lab, and with no member closed or purged."""
    cutoff = clock.now() - timedelta(days=days)
    return list(db.scalars(select(Startup).where(*_never_confirmed(cutoff)).order_by(Startup.id)))


def expire_unconfirmed(days: int) -> tuple[int, int]:
    """Remove registrations nobody confirmed within ``days`` days, and name holds as old.

    Registering takes the startup's name; an address that never confirms (mistyped, or not
    the registrant's own) would otherwise keep it from the company for good, and keep the
    personal data of someone who never became a user (PDPO, DPP2). The startup and its
    unconfirmed accounts are deleted, with what hangs on them (capabilities, links, tokens);
    the audit log records each as ``startup.registration_expired``. A name held for an
    address that already had an account (:class:`StartupNameHold`) is released after the same
    time, so that the two answers to a registration still look alike. Returns (registrations
    removed, name holds released).
    """
    cutoff = clock.now() - timedelta(days=days)
    removed = 0
    for startup_id in [startup.id for startup in unconfirmed_registrations(days)]:
        # Lock the members and the startup, and look again: a member who confirmed, or anything
        # the lab did since the list was read, keeps the registration.
        members = list(db.scalars(select(User).where(User.startup_id == startup_id).with_for_update()))
        startup = db.scalar(select(Startup).where(Startup.id == startup_id, *_never_confirmed(cutoff)).with_for_update())
        if startup is None:
            continue
        signals.changed(None, "startup.registration_expired", startup, before={"name": startup.name})
        for user in members:
            # Erased as a closed account is (its address in the audit log's snapshots, its
            # sign-in attempts, links and tokens), then the row goes with the startup.
            pseudonymise(user, None, "user.registration_expired")
            db.delete(user)
        db.delete(startup)
        removed += 1
    db.flush()
    holds = execute_update(delete(StartupNameHold).where(StartupNameHold.created_at < cutoff))
    log.info("unconfirmed registrations removed count=%d name_holds_released=%d days=%d", removed, holds, days)
    return removed, holds
