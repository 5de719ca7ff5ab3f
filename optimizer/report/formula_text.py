"""The footer of a formula's run: the law, the day its parameters were read, the values
(overrides marked) and the rule's notes, so the table says where every amount comes from."""

from __future__ import annotations


def formula_footer(s: dict) -> list[str]:
    f = s.get("formula")
    if not f:
        return []
    p = f["parameters"]
    values = ", ".join(f"{k} = {v:g}" + (" (option)" if k in p["overridden"] else "")
                       for k, v in p["values"].items())
    day = p["date"] or "latest values (no year in instance.toml)"
    out = [f"formula {f['name']}: {p['law']} ({p['reference']}); parameters in force on {day}"
           + (f": {values}" if values else "")]
    out += [f"  {note}" for note in f["notes"]]
    return out
