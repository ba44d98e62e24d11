"""What happened: the signals services send after a change, for others to react to.

A service makes its change, writes its audit event, and then *announces* it here instead
of importing another service to call it. Reactions (notifications, the recommender's
precomputing) subscribe in :mod:`portal.subscribers`, connected once per process by
``create_app``. Modelled on indico's ``indico.core.signals``.

Receivers run synchronously, in the sender's request and database session: what they
write is committed or rolled back with the change, and an exception in a receiver reaches
the caller unless the receiver catches it. Emails are written to the outbox in the same
transaction and delivered by a job after the commit (``services.mail``); a receiver with slow
work enqueues a job (``portal.jobs``), which runs after the commit.

Every signal is sent with the changed object as its *sender* (the first positional
argument of a receiver) and keyword arguments only. The order of receivers of one signal
is not defined (blinker keeps them in a set): when one reaction must come before another,
they listen to two signals that the service sends in that order (``challenge_saved``
before ``challenge_opened``).

Every change is also announced through :data:`entity_changed` (``signals.changed(actor,
action, obj, before, after)``), to which the audit log subscribes: the service takes the
values before and after its change, the audit service writes them down.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace

_signals = Namespace()

challenge_saved = _signals.signal(
    "challenge-saved",
    doc="""A challenge was posted, edited (even with no change) or opened: its text is saved.

    Sender: the ``Challenge`` (flushed, so it has an id).
    Keyword arguments: ``actor`` (the ``User`` who saved it), ``created`` (True when posted).
    Sent before ``challenge_opened`` and ``challenge_updated``; not sent on closing.
    """,
)

challenge_opened = _signals.signal(
    "challenge-opened",
    doc="""A challenge was opened (or reopened) for proposals.

    Sender: the ``Challenge``, now ``open``.
    Keyword arguments: ``actor`` (the ``User`` who opened it).
    """,
)

challenge_updated = _signals.signal(
    "challenge-updated",
    doc="""The details of a challenge changed (its audited values differ), without opening it.

    Sender: the ``Challenge``.
    Keyword arguments: ``actor`` (the ``User`` who changed it).
    """,
)

challenge_closed = _signals.signal(
    "challenge-closed",
    doc="""An open challenge was closed to new proposals.

    Sender: the ``Challenge``, now ``closed``.
    Keyword arguments: ``actor`` (the ``User`` who closed it).
    """,
)

capability_saved = _signals.signal(
    "capability-saved",
    doc="""A startup's capability was added or changed.

    Sender: the ``Capability`` (flushed, so it has an id).
    Keyword arguments: ``actor`` (the member who saved it), ``created`` (True when added).
    """,
)

proposal_submitted = _signals.signal(
    "proposal-submitted",
    doc="""A startup proposed a capability for an open challenge; its trial exists.

    Sender: the ``Proposal`` (flushed).
    Keyword arguments: ``actor`` (the member who proposed), ``trial`` (the ``Trial`` it
    opened or joined).
    """,
)

shortlist_requested = _signals.signal(
    "shortlist-requested",
    doc="""An officer of the challenge's department asked the lab to shortlist a proposal.

    Sender: the ``Proposal`` (its ``shortlist_request_note`` says why).
    Keyword arguments: ``actor`` (the officer), ``trial`` (the proposal's ``Trial``).
    """,
)

trial_moved = _signals.signal(
    "trial-moved",
    doc="""A move of the trial state machine was made (including confirmations).

    Sender: the ``Trial``, in its new state.
    Keyword arguments: ``actor`` (the ``User`` who moved it), ``transition`` (the
    recorded ``TrialTransition``: ``from_state``, ``to_state``, ``reason``).
    """,
)

outcome_publication = _signals.signal(
    "outcome-publication",
    doc="""A step of a completed trial's outcome report's publication: the department signed it
    off, the startup's agreement published it, the lab unpublished it, or the lab corrected it
    (the report tells which state it is in: ``awaiting_startup``, ``published``,
    ``unpublished_at``, ``corrected_at``).

    Sender: the ``Trial`` (completed).
    Keyword arguments: ``actor`` (the officer who signed it off, the startup's member who
    agreed, or the coordinator who unpublished or corrected it), ``report`` (the ``OutcomeReport``).
    """,
)

question_asked = _signals.signal(
    "question-asked",
    doc="""A startup asked a question on an open challenge.

    Sender: the ``ChallengeQuestion`` (flushed).
    Keyword arguments: ``actor`` (the member who asked).
    """,
)

question_answered = _signals.signal(
    "question-answered",
    doc="""The challenge's department answered a question (or changed its answer).

    Sender: the ``ChallengeQuestion``, answered.
    Keyword arguments: ``actor`` (the officer).
    Sent before ``answer_published`` when the answer is published at once.
    """,
)

answer_published = _signals.signal(
    "answer-published",
    doc="""An answered question was published on the challenge page (without the asker's name).

    Sender: the ``ChallengeQuestion``, published.
    Keyword arguments: ``actor`` (the officer who published it).
    """,
)

entity_changed = _signals.signal(
    "entity-changed",
    doc="""Something people are accountable for changed: the audit log's record of it.

    Sent by every service for every change it makes (through :func:`changed`), beside the
    domain signals above.
    Sender: the changed object (flushed, so it has an id).
    Keyword arguments: ``actor`` (the ``User``, or None for the system), ``action`` (e.g.
    ``"challenge.update"``), ``before`` and ``after`` (JSON-safe values of the changed fields,
    taken by the service before and after its change; either may be None).
    """,
)


def changed(
    actor: Any, action: str, entity: Any,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
) -> None:
    """Announce that ``actor`` changed ``entity`` by ``action`` (the audit log subscribes)."""
    entity_changed.send(entity, actor=actor, action=action, before=before, after=after)


#: Every signal above, by name (for tests and documentation).
ALL = {
    signal.name: signal
    for signal in (
        challenge_saved,
        challenge_opened,
        challenge_updated,
        challenge_closed,
        capability_saved,
        proposal_submitted,
        shortlist_requested,
        trial_moved,
        outcome_publication,
        question_asked,
        question_answered,
        answer_published,
        entity_changed,
    )
}

#: The signals of what happened in the programme (all but the audit log's ``entity-changed``).
DOMAIN = {name: signal for name, signal in ALL.items() if signal is not entity_changed}
