"""Region groups of ``groups.csv`` with their optional ``[groups.ID]`` bounds (plain data).

kind is ``union`` (regions cooperate but stay separate: group constraints apply) or
``merger`` (a candidate merger that ``--merge-group ID`` or a scenario's ``merges`` applies).
Members are the original region ids; after a merge they are found through ``merged_from``.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("union", "merger")
BOUND_KEYS = ("min_transfer", "max_transfer", "min_level")


@dataclass(frozen=True)
class Group:
    id: str
    kind: str
    members: tuple[str, ...]
    min_transfer: float | None = None
    max_transfer: float | None = None
    min_level: float | None = None

    @property
    def constrained(self) -> bool:
        return any(v is not None for v in (self.min_transfer, self.max_transfer, self.min_level))


def merger_members(groups: list[Group]) -> dict[str, list[str]]:
    """Merger group id -> its members (the merges ``--merge-group`` and scenarios may name)."""
    return {g.id: list(g.members) for g in groups if g.kind == "merger"}
