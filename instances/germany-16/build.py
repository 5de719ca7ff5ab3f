#!/usr/bin/env python3
"""Build instances/germany-16/regions.csv (Finanzkraftausgleich 2024) from raw/.

Inputs : raw/germany_finanzkraftausgleich_2024.csv  verbatim copy of shared/data (net EUR million,
                                                    negative = pays; preliminary, rounded)
         raw/population_2023.csv                     population by Land (ESTIMATE, see its source)
Output : regions.csv (UTF-8, LF); a derivation report on stdout.

Exact arithmetic (fractions.Fraction): byte-identical runs. Money in EUR million, 3 decimals.

The rule since 2020 (FAG §§ 9-11): weighted population w_i = pop_i x 1.35 for Berlin, Bremen,
Hamburg (else x 1); Ausgleichsmesszahl AMZ_i = Ebar x w_i, Ebar = sum FKMZ / sum w (the average
Finanzkraft per weighted inhabitant; municipal taxes counted at 75% inside FKMZ); horizontal
flow f_i = 0.63 x (AMZ_i - FKMZ_i) (Zuschlag if positive, Abschlag if negative); general federal
supplementary grants BEZ_i = 0.8 x max(0, 0.9975 x AMZ_i - (FKMZ_i + f_i)).

The Länder's Finanzkraftmesszahlen were not found, so they are DERIVED by inverting the 63% rule
from the published flows, FKMZ_i = AMZ_i - f_i / 0.63, with Ebar an ASSUMPTION (EBAR below). The
horizontal flows are then reproduced by construction up to the published flows' rounding
residual (sum f = -53, spread by weighted population): a circular check, stated in SOURCES.md.
"""
from __future__ import annotations

import csv
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW_FLOW = HERE / "raw" / "germany_finanzkraftausgleich_2024.csv"
RAW_POP = HERE / "raw" / "population_2023.csv"
SHARED = HERE / ".." / ".." / ".." / "shared" / "data" / "germany_finanzkraftausgleich_2024.csv"
OUT = HERE / "regions.csv"
MILLION = 10**6
CITY_STATES = {"BE", "HB", "HH"}
CITY_WEIGHT = Fraction(135, 100)
RATE = Fraction(63, 100)
BEZ_RATE, BEZ_LEVEL = Fraction(80, 100), Fraction(9975, 10000)
# ASSUMPTION: average Finanzkraft per weighted inhabitant, EUR (Länder taxes after the VAT
# distribution plus 75% of municipal taxes, order of magnitude for 2024). It scales own_revenue
# and fiscal_need and the 0.25% term of the general BEZ; it does not move the horizontal flows.
EBAR = Fraction(6000)
COLUMNS = ["region_id", "name", "population", "own_revenue", "fiscal_need", "prior_transfer",
           "city_state", "weighted_population", "finanzkraft", "finanzkraft_pc_weighted",
           "ausgleichsmesszahl", "published_horizontal", "published_transfer",
           "general_bez_derived"]


def fmt(x: Fraction, nd: int = 3) -> str:
    q = Fraction(round(x, nd))
    sign = "-" if q < 0 else ""
    n = (abs(q) * 10**nd).numerator
    return f"{sign}{n // 10**nd}.{n % 10**nd:0{nd}d}"


def read() -> list[dict]:
    if SHARED.exists() and SHARED.read_bytes() != RAW_FLOW.read_bytes():
        print(f"WARNING: {SHARED} differs from {RAW_FLOW}; using the raw/ copy", file=sys.stderr)
    with RAW_POP.open(encoding="utf-8", newline="") as f:
        pop = {r["land_code"]: int(r["population"]) for r in csv.DictReader(f)}
    with RAW_FLOW.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16 and set(pop) == {r["land_code"] for r in rows}
    recs = []
    for r in rows:
        code = r["land_code"]
        w = pop[code] * (CITY_WEIGHT if code in CITY_STATES else 1)
        flow = Fraction(r["net_EUR_millions_(negative=pays)"])
        amz = EBAR * w / MILLION
        fk = amz - flow / RATE
        bez = BEZ_RATE * max(Fraction(0), BEZ_LEVEL * amz - (fk + flow))
        recs.append(dict(code=code, name=r["land"], pop=pop[code], w=w, flow=flow, amz=amz, fk=fk,
                         bez=bez, city=int(code in CITY_STATES)))
    return recs


def main() -> None:
    recs = read()
    with OUT.open("w", encoding="utf-8", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(COLUMNS)
        for r in recs:
            wr.writerow([r["code"].lower(), r["name"], r["pop"], fmt(r["fk"]), fmt(r["amz"]),
                         fmt(max(Fraction(0), r["flow"])), r["city"], fmt(r["w"], 1), fmt(r["fk"]),
                         fmt(r["fk"] * MILLION / r["w"], 2), fmt(r["amz"]), fmt(r["flow"]),
                         fmt(r["flow"]), fmt(r["bez"])])
    report(recs)


def report(recs: list[dict]) -> None:
    W = sum(r["w"] for r in recs)
    fk_total = sum(r["fk"] for r in recs)
    mean = fk_total * MILLION / W
    flows = sum(r["flow"] for r in recs)
    print(f"wrote {OUT.name}: {len(recs)} rows; population {sum(r['pop'] for r in recs):,}; "
          f"weighted {float(W):,.1f}")
    print(f"sum of published flows {fmt(flows)} (rounding residual); receivers "
          f"{fmt(sum(r['flow'] for r in recs if r['flow'] > 0))}; payers "
          f"{fmt(sum(r['flow'] for r in recs if r['flow'] < 0))}")
    print(f"mean FK per weighted inhabitant from the derived FKMZ {float(mean):.4f} (EBAR {float(EBAR)})")
    print(f"general BEZ (derived) total {fmt(sum(r['bez'] for r in recs))}")
    print("| Land | w | FKMZ | FK/w (EUR) | f published | f recomputed | BEZ derived |")
    print("|---|---|---|---|---|---|---|")
    for r in recs:
        f_re = RATE * (mean * r["w"] / MILLION - r["fk"])
        print(f"| {r['code']} | {float(r['w']):,.0f} | {fmt(r['fk'])} | {float(r['fk'] * MILLION / r['w']):.1f} | "
              f"{fmt(r['flow'])} | {fmt(f_re)} | {fmt(r['bez'])} |")


if __name__ == "__main__":
    main()
