#!/usr/bin/env python3
"""Build instances/korea-17/regions.csv from the shared Korean 17-region table.

Input : raw/korea17_2024.csv, a verbatim copy of ../../../shared/data/korea17_2024.csv
        (if the shared file is present and differs from the copy, a warning is printed).
Output: regions.csv (UTF-8, LF, header row); a derivation report is printed to stdout.

All arithmetic is exact (fractions.Fraction), so the output is byte-identical on every
run and platform. Money is in KRW billion (십억원), rounded half-even to 3 decimals.

Derivations (see SOURCES.md and the shared korea17_2024_NOTES.md §6):
  own_i            = own_revenue_2024_settled_krw / 1e9                    (recipe A)
  G_i              = own_i * fir_2024_initial_pct / fsr_2024_initial_pct   (DERIVED, UNCERTAIN)
  revealed_i       = G_i - own_i: 교부세 of all kinds (+ part of 조정교부금)     (DERIVED, UNCERTAIN)
  prior_transfer_i = revealed_i * BUDGET / sum(revealed): the ordinary-grant basis, so that
                     last year's transfers and this round's pool are like for like   (ESTIMATE)
  fiscal_need_i    = k * (a*pop_i + b*pop65_i + c*area_i), (a,b,c) >= 0 by NNLS of G on
                     (pop, pop65, area), no intercept; k rescales so sum N = sum G (ESTIMATE, N2)
Threshold: R(theta) = sum_i max(0, theta*N_i - own_i) on the rounded columns; theta = largest
value on a 0.01 grid with R(theta) <= 0.95 * BUDGET.
Requires Python 3.11 standard library only (numpy/scipy, when importable, cross-check NNLS).
"""
from __future__ import annotations

import csv
import itertools
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw" / "korea17_2024.csv"
SHARED = HERE / ".." / ".." / ".." / "shared" / "data" / "korea17_2024.csv"
OUT = HERE / "regions.csv"

# 2024 ordinary Local Share Tax (보통교부세), KRW billion. DERIVED, UNCERTAIN:
# 97% (Local Share Tax Act: ordinary 97 / special 3) of the 2024 budget figure for
# 지방교부세 excluding 부동산교부세 and 소방안전교부세 = 61조 6948억원 (보통+특별),
# polinews.co.kr idxno=655647 (2024-06-25, 조인철 의원 bill). Must equal instance.toml [budget].
BUDGET = Fraction(616948, 10) * Fraction(97, 100)  # = 59,843.956
FEASIBILITY_MARGIN = Fraction(95, 100)

COLUMNS = ["region_id", "name", "name_ko", "population", "own_revenue",
           "fiscal_need", "prior_transfer", "pop65", "area_km2"]
BILLION = 10**9
Q3 = Fraction(1, 1000)


def rnd(x: Fraction, nd: int = 3) -> Fraction:
    """Round half-even to nd decimals, exactly."""
    return Fraction(round(x, nd))


def fmt(x: Fraction, nd: int = 3) -> str:
    q = rnd(x, nd)
    sign = "-" if q < 0 else ""
    q = abs(q)
    scaled = q * 10**nd
    assert scaled.denominator == 1
    n = scaled.numerator
    return f"{sign}{n // 10**nd}.{n % 10**nd:0{nd}d}"


def solve(A: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Exact Gauss-Jordan solve of a small square system; None if singular."""
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for col in range(n):
        piv = next((r for r in range(col, n) if M[r][col] != 0), None)
        if piv is None:
            return None
        M[col], M[piv] = M[piv], M[col]
        p = M[col][col]
        M[col] = [v / p for v in M[col]]
        for r in range(n):
            if r != col and M[r][col] != 0:
                f = M[r][col]
                M[r] = [vr - f * vc for vr, vc in zip(M[r], M[col])]
    return [M[i][n] for i in range(n)]


def nnls_exact(X: list[list[Fraction]], y: list[Fraction]) -> list[Fraction]:
    """Exact NNLS for a few columns: OLS on every support subset, keep the feasible
    (all coefficients >= 0) solution with the least residual sum of squares. The NNLS
    optimum is OLS on its own support (KKT), so this finds the global optimum."""
    p = len(X[0])
    best, best_ssr = None, None
    for k in range(p + 1):
        for S in itertools.combinations(range(p), k):
            coef = [Fraction(0)] * p
            if S:
                A = [[sum(r[i] * r[j] for r in X) for j in S] for i in S]
                rhs = [sum(r[i] * yy for r, yy in zip(X, y)) for i in S]
                sol = solve(A, rhs)
                if sol is None or any(v < 0 for v in sol):
                    continue
                for i, v in zip(S, sol):
                    coef[i] = v
            ssr = sum((yy - sum(c * v for c, v in zip(coef, r))) ** 2 for r, yy in zip(X, y))
            if best_ssr is None or ssr < best_ssr:
                best, best_ssr = coef, ssr
    return best


def main() -> None:
    if SHARED.exists() and SHARED.read_bytes() != RAW.read_bytes():
        print(f"WARNING: {SHARED} differs from {RAW}; using the raw/ copy", file=sys.stderr)
    with RAW.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 17, len(rows)

    recs = []
    for r in rows:
        own = Fraction(int(r["own_revenue_2024_settled_krw"]), BILLION)
        fsr = Fraction(r["fsr_2024_initial_pct"])
        fir = Fraction(r["fir_2024_initial_pct"])
        G = own * fir / fsr
        recs.append(dict(
            region_id=r["region_en"].strip().lower(),
            name=r["region_en"].strip(),
            name_ko=r["region_ko"].strip(),
            pop=int(r["pop_2023_12_31"]),
            pop65=int(r["pop65_2023_12_31"]),
            area=Fraction(r["area_km2_2023_12_31"]),
            own=own, G=G, fsr=fsr, fir=fir,
        ))
    for x in recs:
        assert x["region_id"].isascii() and x["region_id"].isalpha(), x["region_id"]
    assert sum(x["pop"] for x in recs) == 51_325_329

    # ---- N2: NNLS of G on (pop, pop65, area), no intercept -------------------------
    X = [[Fraction(x["pop"]), Fraction(x["pop65"]), x["area"]] for x in recs]
    y = [x["G"] for x in recs]
    a, b, c = nnls_exact(X, y)
    fit = [a * r[0] + b * r[1] + c * r[2] for r in X]
    ybar = sum(y) / len(y)
    r2 = 1 - sum((yy - ff) ** 2 for yy, ff in zip(y, fit)) / sum((yy - ybar) ** 2 for yy in y)
    k = sum(y) / sum(fit)
    for x, ff in zip(recs, fit):
        x["N"] = k * ff
        assert x["N"] > 0, x["region_id"]

    try:  # optional cross-check against scipy's NNLS (does not affect the output)
        import numpy as np
        from scipy.optimize import nnls
        s = np.array([1e-6, 1e-6, 1e-3])
        cs, _ = nnls(np.array([[float(v) for v in r] for r in X]) * s, np.array([float(v) for v in y]))
        cs = cs * s
        ok = all(abs(float(u) - v) <= 1e-9 * max(1.0, abs(v)) + 1e-12 for u, v in zip((a, b, c), cs))
        print(f"scipy.optimize.nnls cross-check: {'agrees' if ok else 'DIFFERS: ' + repr(cs)}")
    except ImportError:
        print("scipy not importable: NNLS cross-check skipped")

    # ---- prior_transfer on the ordinary-grant basis (ESTIMATE) -------------------------
    # the revealed transfer G - own is 교부세 of all kinds (sum 66,802.3) against a pool that
    # is the ordinary grant alone (BUDGET); no per-region 보통교부세 table was found, so each
    # region's revealed transfer is scaled by the ordinary grant's share of the total
    revealed = [x["G"] - x["own"] for x in recs]
    share = BUDGET / sum(revealed)
    for x, t in zip(recs, revealed):
        x["T"] = t * share

    # ---- write regions.csv ----------------------------------------------------------
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for x in recs:
            w.writerow([x["region_id"], x["name"], x["name_ko"], x["pop"],
                        fmt(x["own"]), fmt(x["N"]), fmt(x["T"]),
                        x["pop65"], fmt(x["area"], 2)])

    # ---- report (on the rounded values the engine will read) -------------------------
    own_r = [rnd(x["own"]) for x in recs]
    N_r = [rnd(x["N"]) for x in recs]
    T_r = [rnd(x["T"]) for x in recs]

    def R(theta: Fraction) -> Fraction:
        return sum((max(Fraction(0), theta * n - o) for n, o in zip(N_r, own_r)), Fraction(0))

    cap = FEASIBILITY_MARGIN * BUDGET
    theta = max(Fraction(t, 100) for t in range(1, 301) if R(Fraction(t, 100)) <= cap)

    print(f"wrote {OUT.name}: {len(recs)} rows")
    print(f"NNLS (G on pop, pop65, area; KRW billion per person / per 65+ person / per km2):")
    print(f"  a = {float(a):.9g}  b = {float(b):.9g}  c = {float(c):.9g}  R2 = {float(r2):.4f}")
    print(f"  rescale k = sum G / sum fit = {float(k):.6f}")
    print(f"  per-unit after rescale: a' = {float(k*a)*1e9:,.0f} KRW/person, "
          f"b' = {float(k*b)*1e9:,.0f} KRW/65+ person, c' = {float(k*c)*1e9:,.0f} KRW/km2")
    print(f"sums: own {fmt(sum(own_r))}  N {fmt(sum(N_r))}  G {fmt(sum(y))}  "
          f"revealed G - own {fmt(sum(revealed))}  prior_transfer {fmt(sum(T_r))}")
    print(f"ordinary-grant share of the revealed transfer: budget / sum(G - own) = {float(share):.6f}")
    print(f"budget {fmt(BUDGET)}  0.95*budget {fmt(cap)}")
    print("| theta | R(theta) | R/budget |")
    print("|---|---|---|")
    for t in range(70, 101, 5):
        th = Fraction(t, 100)
        print(f"| {t/100:.2f} | {fmt(R(th))} | {float(R(th)/BUDGET):.3f} |")
    print(f"chosen theta = {float(theta):.2f}: R = {fmt(R(theta))}; "
          f"R(theta+0.01) = {fmt(R(theta + Q3 * 10))}")
    lo, hi = Fraction(0), Fraction(3)  # R is increasing: bisect R(theta*) = BUDGET
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if R(mid) <= BUDGET else (lo, mid)
    print(f"max-min level reachable with the whole budget (R(theta*) = budget): "
          f"theta* = {float(lo):.4f}")
    print("| region_id | own | N | G | G - own | prior_transfer | own/N | G/N |")
    print("|---|---|---|---|---|---|---|---|")
    for x, o, n, t in zip(recs, own_r, N_r, T_r):
        print(f"| {x['region_id']} | {fmt(o)} | {fmt(n)} | {fmt(x['G'])} | {fmt(x['G'] - x['own'])} | {fmt(t)} | "
              f"{float(o / n):.3f} | {float(x['G'] / n):.3f} |")


if __name__ == "__main__":
    main()
