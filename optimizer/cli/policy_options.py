"""Click options of the policy, scenario and merge flags of ``equalize solve`` (declarations
only: nothing here prints or exits; optimizer/cli.py uses them)."""

from __future__ import annotations

import click

from optimizer.core.policy import FIELDS, PolicyConfig


def policy_options(f):
    """One CLI flag per [policy] key: --hold-harmless 0.9, --no-overtaking, ..."""
    for key in reversed(list(FIELDS)):
        kind, lo, hi, text = FIELDS[key]
        flag = "--" + key.replace("_", "-")
        if kind == "flag":
            f = click.option(flag, f"policy_{key}", is_flag=True, default=None, help=f"Policy: {text}.")(f)
        else:
            rng = click.FloatRange(min=lo, max=hi) if lo is not None else float
            f = click.option(flag, f"policy_{key}", type=rng, default=None, help=f"Policy: {text}.")(f)
    return f


def scenario_options(f):
    f = click.option("--merge-group", "merge_groups", multiple=True,
                     help="Merge the members of a 'merger' group of groups.csv (repeatable).")(f)
    f = click.option("--merge", "merges", multiple=True,
                     help="Merge regions into one, e.g. --merge busan,gyeongnam (repeatable); the "
                          "output reports what the merger changes.")(f)
    f = click.option("--scenario", "-S", help="Apply [scenarios.NAME] of instance.toml first "
                     "(see 'equalize scenarios INSTANCE').")(f)
    return f


def policy_from_flags(kwargs: dict) -> PolicyConfig | None:
    """Pop the policy_* entries of a click kwargs dict into a PolicyConfig (None if none set)."""
    values = {k[len("policy_"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("policy_")}
    values = {k: v for k, v in values.items() if v is not None}
    return PolicyConfig(**values) if values else None
