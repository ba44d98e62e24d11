"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128
# argon2id with one of OWASP's recommended settings (46 MiB, 1 pass, 1 lane): about 50 ms on
# one core. More lanes would finish sooner but take every core of a small server at each
# sign-in, stalling the other requests; older hashes are upgraded at the next sign-in.
_hasher = PasswordHasher(time_cost=1, memory_cost=47104, parallelism=1)
# Verified against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("innomatch-timing-equaliser")


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``stored_hash`` (or a dummy hash when there is none)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "common-passwords.txt"
    return frozenset(
        line.strip().lower()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )


#: Sequences people type as "random": the alphabet, digits, and keyboard rows left to right
#: (the rows run on into each other, as fingers do: "qwertyuiopas").
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_NEXT_TO: frozenset[tuple[str, str]] = frozenset(
    pair
    for sequence in _SEQUENCES
    for a, b in pairwise(sequence)
    for pair in ((a, b), (b, a))
)
#: The service's own name: the first word an attacker tries against it.
SERVICE_NAMES = ("innomatch",)
#: Shorter pieces of an email or a name are too common to refuse inside a password.
MIN_PERSONAL_PART = 4


def _is_repetitive(text: str) -> bool:
    """One or two characters repeated ("aaaa", "abab", twelve spaces), or a short unit repeated."""
    if len(set(text)) <= 2:
        return True
    return any(
        (text[:size] * (len(text) // size + 1)).startswith(text) for size in range(3, 5) if len(text) >= 2 * size
    )


def _is_sequential(text: str) -> bool:
    """Made of at most two runs along the alphabet, digits or a keyboard row ("abcdef123456", "qwertyuiopas")."""
    runs = 1
    for a, b in pairwise(text):
        if (a, b) not in _NEXT_TO:
            runs += 1
            if runs > 2:
                return False
    return True


def _squashed(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _contains_email(password: str, email: str) -> bool:
    email = email.strip().lower()
    if not email:
        return False
    local = email.partition("@")[0]
    lowered = password.lower()
    if email in lowered or (len(local) >= MIN_PERSONAL_PART and local in lowered):
        return True
    squashed_local = _squashed(local)
    return len(squashed_local) >= MIN_PERSONAL_PART and squashed_local in _squashed(password)


def _contains_name(password: str, name: str) -> bool:
    squashed = _squashed(password)
    whole = _squashed(name)
    if len(whole) >= MIN_PERSONAL_PART and whole in squashed:
        return True
    return any(len(part) >= MIN_PERSONAL_PART + 1 and part in squashed for part in map(_squashed, name.split()))


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Return why ``password`` is not acceptable (an untranslated message key), or None.

    NIST SP 800-63B 5.1.1.2: 12 to 128 characters, and none of the passwords an attacker
    tries first: breached ones, repetitive or sequential ones, and words from the context
    (the service's name, the user's email and name). ``email`` and ``name`` are the user's.
    """
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered = password.lower()
    if lowered in _common_passwords():
        return "common"
    if _is_repetitive(lowered):
        return "repetitive"
    if _is_sequential(lowered):
        return "sequential"
    if any(service in _squashed(password) for service in SERVICE_NAMES):
        return "service_name"
    if _contains_email(password, email):
        return "email"
    if name and _contains_name(password, name):
        return "name"
    return None
