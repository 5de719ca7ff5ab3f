#!/usr/bin/env python3
"""Build instances/canada-10/regions.csv (Equalization 2025-26) from raw/.

Inputs : raw/canada_equalization_2025_26_per_capita.csv, raw/canada_equalization_by_province.csv,
         raw/canada_equalization_totals.csv   verbatim copies of shared/data/canada_*.csv
         raw/statcan_population_2024_07_01.csv  population (ESTIMATE, see its source column)
Output : regions.csv (UTF-8, LF); a derivation report on stdout.

Exact arithmetic (fractions.Fraction): byte-identical runs. Money in C$ million, 3 decimals.

Columns (per capita in C$ per person):
  fc_0pct_pc   = non-resource fiscal capacity per capita (Finance Canada chart, 2025-26)
  fc_50pct_pc  = non-resource + 0.5 x natural-resource capacity (the chart's resource bar is at
                 100%: with 50% inclusion the 10-province standard reproduces PE, NS, NB and MB
                 payments up to one common +C$20-21 per head, the ceiling adjustment)
  own_revenue  = fc_50pct_pc x population            (ESTIMATE: capacity at average rates, not revenue)
  fiscal_need  = standard_50 x population, standard_50 = population-weighted 10-province mean of
                 fc_50pct_pc (the Equalization standard: equal need per head)
  population_implied = reported total / published per capita (receivers with a reported total):
                 the lagged population Finance Canada divides by (DERIVED)
  published_transfer = reported 2025-26 totals (QC, MB, NB, ON, NL; news-rounded); NS and PE share
                 the rest of the 26,170 total in proportion to per capita x population (DERIVED)
Threshold: largest level on a 0.01 grid with sum max(0, level x need - own) <= 0.95 x budget.
"""
from __future__ import annotations

import csv
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw"
SHARED = HERE / ".." / ".." / ".." / "shared" / "data"
OUT = HERE / "regions.csv"
MILLION = 10**6
BUDGET = 26170  # C$ million, Finance Canada major federal transfers, Equalization 2025-26
NAMES = {"NL": "Newfoundland and Labrador", "PE": "Prince Edward Island", "NS": "Nova Scotia",
         "NB": "New Brunswick", "QC": "Quebec", "ON": "Ontario", "MB": "Manitoba",
         "SK": "Saskatchewan", "AB": "Alberta", "BC": "British Columbia"}
COLUMNS = ["region_id", "name", "population", "own_revenue", "fiscal_need", "prior_transfer",
           "fc_nonresource_pc", "fc_resource_pc", "fc_0pct_pc", "fc_50pct_pc", "standard_50pct_pc",
           "standard_0pct_pc", "published_transfer_pc", "published_transfer",
           "published_transfer_reported", "population_implied"]


def fmt(x: Fraction, nd: int = 3) -> str:
    q = Fraction(round(x, nd))
    sign = "-" if q < 0 else ""
    n = abs(q) * 10**nd
    n = n.numerator
    return f"{sign}{n // 10**nd}.{n % 10**nd:0{nd}d}"


def table(name: str) -> list[dict]:
    path = RAW / name
    shared = SHARED / name
    if shared.exists() and shared.read_bytes() != path.read_bytes():
        print(f"WARNING: {shared} differs from {path}; using the raw/ copy", file=sys.stderr)
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def reported(year: str) -> dict[str, Fraction]:
    return {r["province"]: Fraction(r["equalization_CAD_millions"])
            for r in table("canada_equalization_by_province.csv") if r["fiscal_year"] == year}


def main() -> None:
    pc = {r["province"]: r for r in table("canada_equalization_2025_26_per_capita.csv")}
    pop = {r["province"]: int(r["population_2024_07_01"])
           for r in table("statcan_population_2024_07_01.csv")}
    totals = {r["fiscal_year"]: int(r["equalization_total_CAD_millions"])
              for r in table("canada_equalization_totals.csv")}
    assert totals["2025-26"] == BUDGET and list(pc) == list(NAMES) and set(pop) == set(NAMES)
    rep, prev = reported("2025-26"), reported("2024-25")
    recs = []
    for p in NAMES:
        nr = Fraction(pc[p]["non_resource_fiscal_capacity_per_capita_CAD"])
        rs = Fraction(pc[p]["natural_resource_fiscal_capacity_per_capita_CAD"])
        recs.append(dict(p=p, pop=pop[p], nr=nr, rs=rs, fc50=nr + rs / 2,
                         pay_pc=int(pc[p]["equalization_payment_per_capita_CAD"])))
    P = sum(r["pop"] for r in recs)
    std50 = sum(r["fc50"] * r["pop"] for r in recs) / P
    std0 = sum(r["nr"] * r["pop"] for r in recs) / P
    # published totals: reported where reported; NS, PE split the remainder of the total
    known = {p: rep[p] for p in NAMES if p in rep}
    rest = BUDGET - sum(known.values())
    open_ = [r for r in recs if r["p"] not in known and r["pay_pc"] > 0]
    weight = sum(r["pay_pc"] * r["pop"] for r in open_)
    for r in recs:
        if r["p"] in known:
            r["pub"] = known[r["p"]]
        elif r["pay_pc"] > 0:
            r["pub"] = rest * r["pay_pc"] * r["pop"] / weight
        else:
            r["pub"] = Fraction(0)
        r["own"] = r["fc50"] * r["pop"] / MILLION
        r["need"] = std50 * r["pop"] / MILLION
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in recs:
            w.writerow([r["p"].lower(), NAMES[r["p"]], r["pop"], fmt(r["own"]), fmt(r["need"]),
                        fmt(prev.get(r["p"], Fraction(0))), int(r["nr"]), int(r["rs"]), int(r["nr"]),
                        fmt(r["fc50"], 1), fmt(std50, 3), fmt(std0, 3), r["pay_pc"], fmt(r["pub"]),
                        fmt(rep[r["p"]]) if r["p"] in rep else ("0.000" if r["pay_pc"] == 0 else ""),
                        implied(r, rep)])
    report(recs, std50, std0, rest)


def implied(r: dict, rep: dict) -> str:
    """Population the reported total implies (total / per capita), receivers with a reported total:
    Finance Canada divides by a lagged population (DERIVED; the totals are news-rounded)."""
    if r["p"] not in rep or r["pay_pc"] == 0:
        return ""
    return str(round(rep[r["p"]] * MILLION / r["pay_pc"]))


def report(recs: list[dict], std50: Fraction, std0: Fraction, rest: Fraction) -> None:
    own = [Fraction(round(r["own"], 3)) for r in recs]
    need = [Fraction(round(r["need"], 3)) for r in recs]

    def R(t: Fraction) -> Fraction:
        return sum((max(Fraction(0), t * n - o) for n, o in zip(need, own)), Fraction(0))

    theta = max(Fraction(t, 100) for t in range(1, 301) if R(Fraction(t, 100)) <= Fraction(95, 100) * BUDGET)
    print(f"wrote {OUT.name}: {len(recs)} rows; population {sum(r['pop'] for r in recs):,}")
    print(f"standard (50% resources) {float(std50):.3f} C$/person; standard (0%) {float(std0):.3f}")
    print(f"NS+PE share of the rest {fmt(rest)}; threshold choice {float(theta):.2f} (R = {fmt(R(theta))})")
    print("| prov | fc50 pc | std50 - fc50 | std0 - fc0 | published pc | published C$m | pc x pop |")
    print("|---|---|---|---|---|---|---|")
    for r in recs:
        print(f"| {r['p']} | {float(r['fc50']):.1f} | {float(std50 - r['fc50']):.1f} | "
              f"{float(std0 - r['nr']):.1f} | {r['pay_pc']} | {fmt(r['pub'])} | "
              f"{r['pay_pc'] * r['pop'] / MILLION:.1f} |")


if __name__ == "__main__":
    main()
