"""Two-step sign-in: TOTP (RFC 6238) codes from an authenticator app, and single-use recovery codes.

The shared secret is encrypted at rest with Fernet under ``MFA_KEY`` (derived from
``SECRET_KEY`` when unset) and shown only while it is being set up. Every code check is
counted in one UPDATE before the code is compared, so parallel guesses cannot exceed the
limit; a code of a 30-second step at or before the last accepted one is a replay and refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import case, delete, or_, select, update

from models import RecoveryCode, User

from .. import clock, signals
from ..database import db, execute_update
from ..errors import DomainError
from . import accounts

log = logging.getLogger("innomatch.auth")

ISSUER = "InnoMatch"
STEP_SECONDS = 30
#: Codes of the previous and next step are accepted too (clock drift of the phone).
DRIFT_STEPS = 1
MAX_CODE_FAILURES = 5
CODE_FAILURE_WINDOW = timedelta(minutes=15)
RECOVERY_CODES = 10
#: An enrolment (QR code shown, code not yet entered) is valid this long.
ENROLMENT_SECONDS = 15 * 60
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_TOTP = re.compile(r"\d{6}")


def _master_key() -> bytes:
    configured = str(current_app.config.get("MFA_KEY") or "")
    source = configured or "innomatch-mfa:" + str(current_app.config.get("SECRET_KEY") or "")
    return hashlib.sha256(source.encode()).digest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hmac.new(_master_key(), b"totp-secret", hashlib.sha256).digest()))


def encrypt_secret(secret: str) -> str:
    """The TOTP secret as stored in ``users.mfa_secret``."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str) -> str | None:
    """The TOTP secret from ``users.mfa_secret``; None if it cannot be read (the key changed)."""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def hash_recovery_code(code: str) -> str:
    """The keyed hash stored for a recovery code (hex)."""
    key = hmac.new(_master_key(), b"recovery-code", hashlib.sha256).digest()
    return hmac.new(key, normalise_code(code).encode(), hashlib.sha256).hexdigest()


def normalise_code(code: str) -> str:
    """A code as typed, without spaces and hyphens, lower-cased."""
    return re.sub(r"[\s-]+", "", code or "").lower()


def current_step() -> int:
    """The 30-second TOTP step of the one clock."""
    return int(clock.now().timestamp()) // STEP_SECONDS


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt="innomatch-mfa-enrolment")


@dataclass(frozen=True)
class Enrolment:
    """A proposed secret: shown as a QR code and as text, carried by a signed form field."""

    secret: str
    token: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four letters, easier to type."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))

    def qr_svg(self) -> Markup:
        """The ``otpauth://`` address as an inline SVG QR code (no scripts, no style attributes)."""
        svg = segno.make(self.uri, error="m").svg_inline(scale=5, dark="#0b0c0c", light="#ffffff", border=4)
        return Markup(svg)  # nosec B704: built by segno from our own address, no user markup


def start_enrolment(user: User, token: str | None = None) -> Enrolment:
    """A new secret for ``user`` (or the one of a still-valid ``token``, to show it again)."""
    secret = _secret_from_token(user, token) if token else None
    secret = secret or pyotp.random_base32()
    signed = _serializer().dumps({"u": user.id, "s": secret})
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=secret, token=signed, uri=uri)


def _secret_from_token(user: User, token: str) -> str | None:
    try:
        data = _serializer().loads(token, max_age=ENROLMENT_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.id or not isinstance(data.get("s"), str):
        return None
    return str(data["s"])


def _matching_step(secret: str, code: str) -> int | None:
    """The step within the drift window whose code is ``code``, or None."""
    if not _TOTP.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = current_step()
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _new_recovery_codes(user: User) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.add_all(RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(c)) for c in codes)
    return codes


def enable(user: User, token: str, code: str) -> list[str]:
    """Turn the second step on with the secret of ``token`` once ``code`` proves the app has it.

    Returns the recovery codes, in clear this once (only their hashes are stored).
    """
    if user.mfa_enabled:
        raise DomainError(_("Two-step verification is already on."), field="code")
    secret = _secret_from_token(user, token)
    if secret is None:
        raise DomainError(_("This set-up page has expired. Scan the new QR code and enter its code."), field="code")
    step = _matching_step(secret, normalise_code(code))
    if step is None:
        raise DomainError(_("The code is not correct. Enter the 6-digit code your app shows now."), field="code")
    user.mfa_secret = encrypt_secret(secret)
    user.mfa_enabled_at = clock.now()
    user.mfa_last_step = step
    user.mfa_failures = 0
    user.mfa_failed_at = None
    codes = _new_recovery_codes(user)
    # Sessions signed in without a second step end (this browser is signed in again by the
    # caller); API tokens stay, as nothing about them was in doubt.
    accounts.end_sessions(user)
    db.flush()
    log.info("two-step enabled user=%s", user.id)
    signals.changed(user, "user.mfa_enable", user)
    accounts.send_two_step_notice(user, "on")
    return codes


def _claim_attempt(user: User) -> bool:
    """Count one code attempt in a single UPDATE; False when the limit is reached."""
    now = clock.now()
    stale = or_(User.mfa_failed_at.is_(None), User.mfa_failed_at < now - CODE_FAILURE_WINDOW)
    changed = execute_update(
        update(User)
        .where(User.id == user.id, or_(User.mfa_failures < MAX_CODE_FAILURES, stale))
        .values(mfa_failures=case((stale, 1), else_=User.mfa_failures + 1), mfa_failed_at=now)
        .execution_options(synchronize_session=False)
    )
    return changed > 0


def _accept_step(user: User, step: int) -> bool:
    """Record ``step`` as used, in one UPDATE; False if it (or a later one) was used already."""
    changed = execute_update(
        update(User)
        .where(User.id == user.id, or_(User.mfa_last_step.is_(None), User.mfa_last_step < step))
        .values(mfa_last_step=step, mfa_failures=0, mfa_failed_at=None)
        .execution_options(synchronize_session=False)
    )
    return changed > 0


def _use_recovery_code(user: User, code: str) -> bool:
    changed = execute_update(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == hash_recovery_code(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if not changed:
        return False
    db.execute(update(User).where(User.id == user.id).values(mfa_failures=0, mfa_failed_at=None)
               .execution_options(synchronize_session=False))
    return True


def verify(user: User, code: str, *, app_only: bool = False) -> str:
    """Check the second step; return "totp" or "recovery". Wrong codes count (commit them too).

    ``app_only``: only a current code from the authenticator app will do; a recovery code is
    refused without being used up (it must not buy anything that outlasts it).
    """
    if not user.mfa_enabled or user.mfa_secret is None:
        raise DomainError(_("Two-step verification is not set up for this account."), field="code")
    if app_only and not _TOTP.fullmatch(normalise_code(code)):
        raise DomainError(
            _("Enter the 6-digit code from your authenticator app. A recovery code cannot be used here."),
            field="code",
        )
    if not _claim_attempt(user):
        log.warning("two-step throttled user=%s", user.id)
        raise DomainError(_("Too many wrong codes. Please wait 15 minutes and try again."), field="code")
    typed = normalise_code(code)
    kind = ""
    if _TOTP.fullmatch(typed):
        secret = decrypt_secret(user.mfa_secret)
        step = _matching_step(secret, typed) if secret else None
        if step is not None and not _accept_step(user, step):
            log.warning("two-step code replayed user=%s", user.id)
            raise DomainError(_("This code has been used already. Wait for the next code."), field="code")
        kind = "totp" if step is not None else ""
    elif typed and _use_recovery_code(user, typed):
        kind = "recovery"
        signals.changed(user, "user.mfa_recovery_code_used", user)
    db.expire(user)
    if not kind:
        log.info("two-step code wrong user=%s", user.id)
        raise DomainError(_("The code is not correct."), field="code")
    log.info("two-step ok user=%s kind=%s", user.id, kind)
    return kind


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes ``user`` has."""
    return len(db.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code from the app.

    Not after a recovery code: one leaked code would otherwise buy a lasting second step
    and void the owner's others. The owner is emailed.
    """
    verify(user, code, app_only=True)
    codes = _new_recovery_codes(user)
    db.flush()
    signals.changed(user, "user.mfa_recovery_codes_new", user)
    accounts.send_two_step_notice(user, "codes")
    return codes


def _clear(user: User) -> None:
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    user.mfa_failures = 0
    user.mfa_failed_at = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def forget(user: User) -> None:
    """Remove ``user``'s second step: its secret and recovery codes (an account closed)."""
    _clear(user)


def disable(user: User, password: str) -> None:
    """Turn the second step off, after the password (:func:`accounts.recheck_password`: the
    caller commits even when it raises); not for roles that require it. Like a change of
    password, it ends every other session, emailed link and API token."""
    if user.mfa_required:
        raise DomainError(_("Department officers, coordinators and administrators must keep two-step verification on."),
                          field="current_password")
    accounts.recheck_password(user, password, "mfa_disable")
    _clear(user)
    # A change of credentials: whoever had a session, a link or an API token keeps none.
    revoked = accounts.lock_out_others(user, user)
    db.flush()
    log.info("two-step disabled user=%s api_tokens_revoked=%s", user.id, revoked)
    signals.changed(user, "user.mfa_disable", user)
    accounts.send_two_step_notice(user, "off")


def reset(actor: User, user: User) -> None:
    """An admin clears ``user``'s second step (lost phone); their sessions end, they set it up again."""
    if not user.mfa_enabled:
        raise DomainError(_("Two-step verification is not set up for this account."))
    _clear(user)
    revoked = accounts.lock_out_others(user, actor)
    db.flush()
    log.info("two-step reset user=%s by=%s api_tokens_revoked=%s", user.id, actor.id, revoked)
    signals.changed(actor, "user.mfa_reset", user)
    accounts.send_two_step_notice(user, "reset")
