"""Factories that create committed rows; each returns the (detached, loaded) object."""

from __future__ import annotations

import itertools
from datetime import timedelta
from functools import lru_cache
from typing import Any

import pyotp
from flask import Flask

from models import (
    ApiToken,
    Capability,
    Challenge,
    Department,
    OutcomeReport,
    Proposal,
    Startup,
    Trial,
    User,
)
from portal import clock
from portal.database import db
from portal.passwords import hash_password
from portal.services import api_tokens, mfa

PASSWORD = "correct-horse-battery-42"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Hashing once keeps argon2's deliberate cost out of every factory call.
    return hash_password(PASSWORD)


class Factory:
    """Create rows in their own app context and commit them."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _save(self, obj: Any) -> Any:
        with self.app.app_context():
            db.add(obj)
            db.commit()
            db.refresh(obj)
            for rel in ("domain_rows", "tag_rows", "department", "startup", "challenge", "capabilities"):
                if hasattr(obj, rel):
                    getattr(obj, rel)  # load before the session goes
            db.expunge_all()
        return obj

    def department(self, **kw: Any) -> Department:
        n = next(_seq)
        kw.setdefault("code", f"DH-U{n}")
        kw.setdefault("name_en", f"Unit {n}")
        kw.setdefault("name_zh", f"單位{n}")
        return self._save(Department(**kw))

    def startup(self, **kw: Any) -> Startup:
        n = next(_seq)
        kw.setdefault("name", f"Startup {n}")
        kw.setdefault("description", "We build software.")
        kw.setdefault("verified", True)
        return self._save(Startup(**kw))

    def user(self, role: str = "startup", **kw: Any) -> User:
        n = next(_seq)
        if role == "officer" and "department_id" not in kw:
            kw["department_id"] = kw.pop("department", None) or self.department().id
            if isinstance(kw["department_id"], Department):
                kw["department_id"] = kw["department_id"].id
        if role == "startup" and "startup_id" not in kw:
            st = kw.pop("startup", None) or self.startup()
            kw["startup_id"] = st.id
        kw.pop("department", None)
        kw.pop("startup", None)
        kw.setdefault("email", f"user{n}@example.org")
        kw.setdefault("display_name", f"User {n}")
        kw.setdefault("password_hash", _password_hash())
        kw.setdefault("email_verified_at", clock.now())  # pass email_verified_at=None for an unverified user
        return self._save(User(role=role, **kw))

    def capability(self, startup: Startup | None = None, **kw: Any) -> Capability:
        startup = startup or self.startup()
        domains = kw.pop("domains", ["smart_clinic"])
        tags = kw.pop("technologies", ["nlp"])
        kw.setdefault("name", f"Capability {next(_seq)}")
        kw.setdefault("description", "A chatbot that answers patient questions about clinic appointments.")
        cap = Capability(startup_id=startup.id, **kw)
        cap.domains = domains
        cap.technologies = tags
        return self._save(cap)

    def challenge(self, department: Department | None = None, **kw: Any) -> Challenge:
        department = department or self.department()
        domains = kw.pop("domains", ["smart_clinic"])
        tags = kw.pop("tags", ["chatbot"])
        kw.setdefault("title", f"Challenge {next(_seq)}")
        kw.setdefault("problem_statement", "Patients wait on the phone to book clinic appointments.")
        kw.setdefault("functional_area", "dental_clinical")
        kw.setdefault("status", "open")
        kw.setdefault("closing_on", clock.today() + timedelta(days=30))
        if kw["status"] == "open":
            kw.setdefault("opened_at", clock.now())
        ch = Challenge(department_id=department.id, **kw)
        ch.domains = domains
        ch.tags = tags
        return self._save(ch)

    def proposal(self, challenge: Challenge, capability: Capability, **kw: Any) -> Proposal:
        kw.setdefault("pitch", "We can run this pilot in eight weeks.")
        return self._save(
            Proposal(challenge_id=challenge.id, startup_id=capability.startup_id, capability_id=capability.id, **kw)
        )

    def token(self, user: User, scope: str = "read", days: int = 90, **kw: Any) -> str:
        """Create an API token for ``user`` and return its secret (a role that requires two-step
        verification gets it set up first: its tokens are refused until it is)."""
        secret = api_tokens.PREFIX + f"test{next(_seq)}x" + "A" * 30
        now = clock.now()
        if user.mfa_required and not user.mfa_enabled:
            with self.app.app_context():
                user.mfa_secret, user.mfa_enabled_at = mfa.encrypt_secret(pyotp.random_base32()), now
            self._save(user)
        kw.setdefault("expires_at", now + timedelta(days=days))
        self._save(ApiToken(user_id=user.id, name=kw.pop("name", f"Token {next(_seq)}"),
                            token_hash=api_tokens.hash_secret(secret), prefix=secret[:8], scope=scope,
                            created_at=kw.pop("created_at", now - timedelta(days=1)), **kw))
        return secret

    def trial(self, challenge: Challenge, capability: Capability, *, signed_off: bool = True, **kw: Any) -> Trial:
        """A trial; a completed one with an outcome has an outcome report, signed off unless ``signed_off=False``."""
        kw.setdefault("status", "proposed")
        trial = Trial(challenge_id=challenge.id, startup_id=capability.startup_id, capability_id=capability.id, **kw)
        if kw["status"] == "completed" and kw.get("outcome"):
            trial.report = OutcomeReport(summary="", signed_off_at=clock.now() if signed_off else None,
                                         startup_agreed_at=clock.now() if signed_off else None)
        return self._save(trial)
