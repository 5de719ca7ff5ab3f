#!/usr/bin/env python3
"""Build instances/australia-8/regions.csv (GST distribution 2025-26) from raw/.

Inputs : raw/australia_gst_relativities.csv  verbatim copy of shared/data/australia_gst_relativities.csv
         raw/abs_erp_2025_03_31.csv          ABS estimated resident population, 31 March 2025
                                              (transcribed from the page named in its source column)
Output : regions.csv (UTF-8, LF); a derivation report on stdout.

Exact arithmetic (fractions.Fraction), so every run writes the same bytes. Money in A$ million,
rounded half-even to 3 decimals (A$1,000).

The rule (Federal Financial Relations Act 2009, s.9; CGC relativities):
    GST_i = rel_i * pop_i * B / sum_j rel_j * pop_j ,   GST per person_i = rel_i * k,
    k = B / sum_j rel_j pop_j   (A$ per relativity-weighted person).
The CGC publishes rel_i and the GST per person (whole A$) but not its pool and population
projections. k is DERIVED as the midpoint of the interval consistent with all eight published
per-person figures (each +-A$0.5); the pool is then B = k * sum rel_j pop_j on the ABS March 2025
populations (DERIVED; the CGC's "around $95 billion" rests on its projected 2025-26 population).
own_revenue = 0 and fiscal_need_i = k x r*_i x pop_i (ESTIMATE): the GST-funded need without
the 0.75 floor, with WA's relativity r*_WA = 0.18 (raw/wa_unfloored_relativity.csv, WA Budget
2025-26 as reported, rounded) and the other states' relativities scaled by one factor s so the
needs sum to the pool (the floor's cost spread in proportion, as the CGC's normalisation does).
Under the formula every state but WA is at level 1/s and WA at 0.75/0.18 (printed below).
"""
from __future__ import annotations

import csv
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW_REL = HERE / "raw" / "australia_gst_relativities.csv"
RAW_POP = HERE / "raw" / "abs_erp_2025_03_31.csv"
RAW_WA = HERE / "raw" / "wa_unfloored_relativity.csv"
SHARED = HERE / ".." / ".." / ".." / "shared" / "data" / "australia_gst_relativities.csv"
OUT = HERE / "regions.csv"
YEAR = "2025-26"
PREV = "2024-25"
MILLION = 10**6
NAMES = {"NSW": "New South Wales", "VIC": "Victoria", "QLD": "Queensland", "WA": "Western Australia",
         "SA": "South Australia", "TAS": "Tasmania", "ACT": "Australian Capital Territory",
         "NT": "Northern Territory"}
COLUMNS = ["region_id", "name", "population", "own_revenue", "fiscal_need", "prior_transfer",
           "gst_relativity_2025_26", "relativity_unfloored_est", "published_gst_per_capita",
           "published_transfer", "published_gst_share_pct", "published_population_share_pct"]


def fmt(x: Fraction, nd: int = 3) -> str:
    q = Fraction(round(x, nd))
    sign = "-" if q < 0 else ""
    n = abs(q) * 10**nd
    assert n.denominator == 1
    n = n.numerator
    return f"{sign}{n // 10**nd}.{n % 10**nd:0{nd}d}"


def derive_k(rows: list[dict]) -> tuple[Fraction, Fraction, Fraction]:
    """The interval of k consistent with every published per-person figure, and its midpoint."""
    half = Fraction(1, 2)
    lo = max((Fraction(r["pp"]) - half) / r["rel"] for r in rows)
    hi = min((Fraction(r["pp"]) + half) / r["rel"] for r in rows)
    assert lo <= hi, "no single k reproduces every published GST per person"
    return lo, hi, (lo + hi) / 2


def read_rows() -> list[dict]:
    if SHARED.exists() and SHARED.read_bytes() != RAW_REL.read_bytes():
        print(f"WARNING: {SHARED} differs from {RAW_REL}; using the raw/ copy", file=sys.stderr)
    with RAW_POP.open(encoding="utf-8", newline="") as f:
        pop = {r["state"]: int(r["erp_2025_03_31"]) for r in csv.DictReader(f)}
    rows = []
    with RAW_REL.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["payment_year"] != YEAR:
                continue
            gst_share, pop_share = (s.strip().split("%")[0] for s in r["shares"].split("/"))
            rows.append(dict(state=r["state"], rel=Fraction(r["gst_relativity"]),
                             pp=int(r["gst_per_person_AUD"]), pop=pop[r["state"]],
                             gst_share=gst_share, pop_share=pop_share))
    assert [r["state"] for r in rows] == list(NAMES), rows
    return rows


def main() -> None:
    rows = read_rows()
    lo, hi, k = derive_k(rows)
    weighted = sum(r["rel"] * r["pop"] for r in rows)
    pool = Fraction(round(k * weighted / MILLION, 3))       # A$ million, 3 decimals
    with RAW_WA.open(encoding="utf-8", newline="") as f:
        wa = Fraction(next(csv.DictReader(f))["relativity_without_the_2018_arrangements"])
    wa_pop = next(r["pop"] for r in rows if r["state"] == "WA")
    s = (weighted - wa * wa_pop) / (weighted - Fraction(3, 4) * wa_pop)   # others' relativities x s
    for r in rows:
        r["rstar"] = wa if r["state"] == "WA" else r["rel"] * s
    assert sum(r["rstar"] * r["pop"] for r in rows) == weighted
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            gst = r["rel"] * r["pop"] * pool / weighted
            need = r["rstar"] * r["pop"] * pool / weighted
            w.writerow([r["state"].lower(), NAMES[r["state"]], r["pop"], "0.000", fmt(need), fmt(gst),
                        f"{float(r['rel']):.5f}", fmt(r["rstar"], 5), r["pp"], fmt(gst), r["gst_share"],
                        r["pop_share"]])
    print(f"unfloored: WA {float(wa)}, others x s = {float(s):.6f}; level under the formula: "
          f"others {float(1 / s):.4f}, WA {float(Fraction(3, 4) / wa):.4f}")
    print(f"wrote {OUT.name}: {len(rows)} rows")
    print(f"k interval [{float(lo):.4f}, {float(hi):.4f}] A$ per weighted person; midpoint {float(k):.4f}")
    print(f"sum rel*pop = {float(weighted):,.1f}; pool B = {fmt(pool)} A$ million; "
          f"population {sum(r['pop'] for r in rows):,}")
    print("| state | rel | pop | GST (A$m) | per person | published | share % (pub) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        gst = r["rel"] * r["pop"] * pool / weighted
        print(f"| {r['state']} | {float(r['rel']):.5f} | {r['pop']:,} | {fmt(gst)} | "
              f"{float(gst * MILLION / r['pop']):.2f} | {r['pp']} | "
              f"{float(100 * gst / pool):.2f} ({r['gst_share']}) |")


if __name__ == "__main__":
    main()
