"""What a form hands a service: a dataclass of the fields a use case reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Self


class ServiceInput:
    """Base of the input dataclasses (``ChallengeData``, ``WorkshopData``, ``OutcomeData``).

    Services take either the dataclass or a plain mapping (the CLI, the demo seed and tests
    pass dicts), so one ``coerce`` turns both into the dataclass.
    """

    @classmethod
    def coerce(cls, data: Self | Mapping[str, Any] | None) -> Self:
        """Return ``data`` as this dataclass; unknown keys are ignored, None means the defaults."""
        if isinstance(data, cls):
            return data
        mapping: Mapping[str, Any] = data or {}  # type: ignore[assignment]  # not an instance: a mapping
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # subclasses are dataclasses
        return cls(**{k: v for k, v in mapping.items() if k in names})
