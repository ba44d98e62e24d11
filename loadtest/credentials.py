"""The load-test accounts' credentials, shared by the seed, the warm-up and the Locust users.

Officers and coordinators must pass the second sign-in step (TOTP), so the seed enrols each with a
secret derived from its address, and the clients compute the current code from it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from typing import Any

import pyotp

PASSWORD = os.environ.get("LOAD_PASSWORD", "loadtest-password-2026")  # nosec B105 - throwaway database
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def totp_secret(email: str) -> str:
    """The base32 TOTP secret of a load-test account (a throwaway database's, so derived)."""
    return base64.b32encode(hashlib.sha256(f"load-test:{email}".encode()).digest()[:20]).decode()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF.search(html)
    return (match.group(1) or match.group(2)) if match else ""


def pass_second_step(session: Any, host: str, email: str) -> bool:
    """Answer the second sign-in step with the current code; True when accepted.

    A code is accepted once per 30-second step, so when another client of the same account
    has just used it, wait for the next step and try again.
    """
    for _attempt in range(2):
        page = session.get(f"{host}/login/two-step", allow_redirects=False)
        if page.status_code == 302:  # no second step for this account
            return True
        code = pyotp.TOTP(totp_secret(email)).now()
        answer = session.post(f"{host}/login/two-step", allow_redirects=False,
                              data={"code": code, "csrf_token": csrf_token(page.text)})
        if answer.status_code == 302:
            return True
        time.sleep(30 - time.time() % 30 + 1)
    return False
