"""Load-time checks of the optional parts of an instance, so ``equalize validate`` and every
solve report all their problems with the rest: ``[policy]``, ``groups.csv`` with its
``[groups.ID]`` bounds, and ``[scenarios.NAME]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optimizer.core.errors import Problem


def check_extensions(folder: Path, meta: dict[str, Any], region_ids: list[str],
                     problems: list[Problem], regions=None) -> None:
    from optimizer.io.groups import read_groups
    from optimizer.prepare.policy_config import parse_policy
    from optimizer.prepare.scenarios import parse_scenarios

    tf = str(folder / "instance.toml")
    parse_policy(meta.get("policy"), tf, problems)
    groups = read_groups(folder, meta, region_ids, problems)
    parse_scenarios(meta, tf, region_ids, groups, problems)
    from optimizer.prepare.phasing import parse_phasing
    from optimizer.prepare.services import check_services_table, read_services

    parse_phasing(meta.get("phasing"), tf, problems)
    check_services_table(meta, tf, problems)
    if regions is not None:
        read_services(folder, regions, problems)
