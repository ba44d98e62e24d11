"""Invitations: admins invite officers, coordinators and admins, and a startup's members invite
their colleagues to join it; the invitee chooses their own password through a single-use link."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from models import Department, Invitation, Startup, User
from models.credentials import INVITABLE_ROLES
from models.vocabulary import Role

from .. import clock, signals
from ..database import db, execute_update
from ..errors import DomainError, NotAllowed, require_confirmed_email
from ..passwords import hash_password
from . import accounts, audit, mail

log = logging.getLogger("innomatch.auth")

VALID_FOR = timedelta(days=7)
FIELDS = ("email", "display_name", "role", "department_id", "startup_id", "locale", "expires_at")
#: A startup's invitations waiting at once; more are refused until some are used or withdrawn.
MAX_PENDING_PER_STARTUP = 20
#: Invitations to one address (from any startup, withdrawn ones too) within an hour, and by one
#: startup within a day: beyond them the form refuses, so it cannot be used to flood an inbox.
MAX_PER_ADDRESS_PER_HOUR = 3
MAX_PER_STARTUP_PER_DAY = 50


def token_hash(token: str) -> str:
    """The stored form of an invitation link's token (SHA-256 hex; the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    actor: User, *, email: str, display_name: str, role: str, department: Department | None, locale: str = "en"
) -> tuple[Invitation, str, bool]:
    """Invite someone; earlier pending invitations to the same address stop working.

    Returns the invitation, the link's token (never stored) and whether an email was queued.
    """
    email = email.strip().lower()
    if role not in INVITABLE_ROLES:
        raise DomainError(_("Unknown role."), field="role")
    if role == Role.OFFICER and department is None:
        raise DomainError(_("An officer must belong to a department."), field="department")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(_("An account with this email already exists."), field="email")
    now = clock.now()
    db.execute(
        update(Invitation)
        .where(Invitation.email == email, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email, display_name=display_name.strip(), role=role, locale=locale,
        department_id=department.id if department is not None and role == Role.OFFICER else None,
        token_hash=token_hash(token), invited_by_id=actor.id, created_at=now, expires_at=now + VALID_FOR,
    )
    db.add(invitation)
    db.flush()
    log.info("invitation created invitation=%s role=%s by=%s", invitation.id, role, actor.id)
    signals.changed(actor, "invitation.create", invitation, after=audit.snapshot(invitation, FIELDS))
    link = mail.absolute(url_for("auth.accept_invitation", token=token), locale)
    emailed = mail.queue_in_language(invitation.display_name, email, locale, _l("You are invited to InnoMatch"),
                                     "email/invitation.txt", invitation=invitation, inviter=actor, link=link,
                                     expires_at=invitation.expires_at)
    return invitation, token, emailed


def invite_to_startup(actor: User, *, email: str, display_name: str, locale: str = "en") -> Invitation:
    """A member invites a colleague to join the member's startup.

    The answer is the same whether or not the address already has an account (registration
    must not become a way to list accounts): the invitation is made and listed either way,
    and an address with an account is emailed that it cannot join with it (its link is
    refused, as any invitation to such an address is).
    """
    if not getattr(actor, "is_startup", False) or actor.startup_id is None:
        raise NotAllowed(_("Only a startup's members can invite colleagues to it."))
    require_confirmed_email(actor, _(
        "Confirm your email address before you invite colleagues: follow the link we emailed you, or ask for a new one."))
    email = email.strip().lower()
    name = display_name.strip()
    if not name:
        raise DomainError(_("Enter your colleague's name."), field="display_name")
    now = clock.now()
    # Withdrawn invitations count too: inviting, withdrawing and inviting again must not turn
    # the form into a way to fill someone's inbox with the service's emails.
    to_address = db.scalar(select(func.count()).where(
        Invitation.email == email, Invitation.created_at > now - timedelta(hours=1)))
    if (to_address or 0) >= MAX_PER_ADDRESS_PER_HOUR:
        raise DomainError(_("This address has been invited several times in the last hour. Try again later."),
                          field="email")
    by_startup = db.scalar(select(func.count()).where(
        Invitation.startup_id == actor.startup_id, Invitation.created_at > now - timedelta(days=1)))
    if (by_startup or 0) >= MAX_PER_STARTUP_PER_DAY:
        raise DomainError(_("Your startup has sent %(n)d invitations today. Try again tomorrow.",
                            n=MAX_PER_STARTUP_PER_DAY))
    if len(pending_for_startup(actor.startup_id)) >= MAX_PENDING_PER_STARTUP:
        raise DomainError(_("Your startup has %(n)d invitations waiting. Withdraw one that is no longer needed first.",
                            n=MAX_PENDING_PER_STARTUP))
    db.execute(
        update(Invitation)
        .where(Invitation.email == email, Invitation.startup_id == actor.startup_id,
               Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email, display_name=name, role=Role.STARTUP, startup_id=actor.startup_id, locale=locale,
        token_hash=token_hash(token), invited_by_id=actor.id, created_at=now, expires_at=now + VALID_FOR,
    )
    db.add(invitation)
    db.flush()
    log.info("startup invitation created invitation=%s startup=%s by=%s", invitation.id, actor.startup_id, actor.id)
    signals.changed(actor, "invitation.create", invitation, after=audit.snapshot(invitation, FIELDS))
    startup = db.get(Startup, actor.startup_id)
    existing = db.scalar(select(User.id).where(User.email == email)) is not None
    template = "email/startup_invitation_existing.txt" if existing else "email/startup_invitation.txt"
    link = mail.absolute(url_for("auth.accept_invitation", token=token), locale)
    subject = _l("%(inviter)s invites you to join %(startup)s on InnoMatch",
                 inviter=actor.display_name, startup=startup.name if startup else "")
    mail.queue_in_language(invitation.display_name, email, locale, subject, template, invitation=invitation,
                           inviter=actor, startup=startup, link=link, expires_at=invitation.expires_at,
                           sign_in_url=mail.absolute(url_for("auth.login"), locale))
    return invitation


def pending_for_startup(startup_id: int) -> list[Invitation]:
    """The startup's invitations still waiting, newest first."""
    return list(db.scalars(
        select(Invitation)
        .where(Invitation.startup_id == startup_id, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None), Invitation.expires_at > clock.now())
        .order_by(Invitation.id.desc())
    ))


def revoke_for_startup(actor: User, invitation_id: int) -> Invitation:
    """A member withdraws one of their startup's waiting invitations."""
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or actor.startup_id is None or invitation.startup_id != actor.startup_id:
        raise NotAllowed(_("This invitation is not your startup's."))
    revoke(actor, invitation)
    return invitation


def find(token: str) -> Invitation | None:
    """The pending invitation of a link's token, or None (unknown, used, revoked or expired)."""
    if not token or len(token) > 200:
        return None
    invitation = db.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None or not invitation.is_pending(clock.now()):
        return None
    return invitation


def accept(invitation: Invitation, password: str) -> User:
    """Create the invitee's account with the password they chose; the link then stops working."""
    accounts.check_password_policy(password, email=invitation.email, name=invitation.display_name)
    now = clock.now()
    claimed = execute_update(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
               Invitation.expires_at > now)
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed:
        raise DomainError(_("This invitation has already been used or has expired."), field="password")
    if db.scalar(select(User.id).where(User.email == invitation.email)) is not None:
        raise DomainError(_("An account with this email already exists. Sign in instead."), field="password")
    user = User(
        email=invitation.email, password_hash=hash_password(password), display_name=invitation.display_name,
        role=invitation.role, department_id=invitation.department_id, startup_id=invitation.startup_id,
        locale=invitation.locale,
        # The link reached this address and was followed: that is the confirmation.
        email_verified_at=now,
    )
    db.add(user)
    db.flush()
    db.execute(update(Invitation).where(Invitation.id == invitation.id).values(user_id=user.id)
               .execution_options(synchronize_session=False))
    db.expire(invitation)
    log.info("invitation accepted invitation=%s user=%s", invitation.id, user.id)
    signals.changed(user, "user.create", user, after=audit.snapshot(user, accounts.USER_FIELDS))
    signals.changed(user, "invitation.accept", invitation)
    return user


def revoke(actor: User, invitation: Invitation) -> None:
    """Stop a pending invitation's link working."""
    if not invitation.is_pending(clock.now()):
        raise DomainError(_("This invitation is no longer pending."))
    invitation.revoked_at = clock.now()
    db.flush()
    log.info("invitation revoked invitation=%s by=%s", invitation.id, actor.id)
    signals.changed(actor, "invitation.revoke", invitation)
