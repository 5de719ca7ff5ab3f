#!/usr/bin/env python3
"""Build instances/korea-municipal (regions.csv, groups.csv) from raw/: the units the Local
Share Tax ordinary grant (보통교부세) pays in 2024.

Inputs (verbatim copies of shared/data): raw/korea_lofin_2024_entities.tsv (243 governments,
lofin365 2024), raw/korea_sigungu_area_2023.csv (areas and 65+ of the 229 시군구),
raw/korea17_2024.csv (17 regions: English names, whole-region area and 65+).
Outputs: regions.csv, groups.csv (UTF-8, LF); the fit report on stdout (copied into SOURCES.md).

Units (174): the 17 provincial-level governments, with each metropolitan city's (and Seoul's)
autonomous districts (자치구) folded in, as the Local Share Tax Act computes them (자치구 get no
ordinary grant of their own; their need and revenue are counted with the city); and the 75
cities (시) and 82 counties (군), including the 6 counties of Busan, Daegu, Incheon and Ulsan.
Money in KRW billion (3 decimals). Exact arithmetic (fractions.Fraction): byte-identical runs.

  own_revenue          자체수입 (local tax + non-tax revenue), general account, 2024 settled
                       (folded unit: the city government + its districts)
  revenue_incl_grants  재정자주도 numerator: own + 지방교부세 (all kinds) (+ 조정교부금 for cities
                       and counties). Folded unit: the city government's numerator + the
                       districts' own revenue (the districts' 조정교부금 comes from the city's
                       own taxes: counting it would count that money twice)
  published_transfer   revenue_incl_grants - own_revenue  (MIXED, see SOURCES.md)
  standard_revenue     local tax, 2024 budget basis (folded: city + districts); the Act counts
                       ordinary taxes at 80% of the standard rate (the formula applies the 80%)
  need_target          0.8 x standard_revenue + published_transfer: the Act's identity
                       basic need = basic revenue + grant / coefficient, with coefficient 1
  fiscal_need          ESTIMATE: OLS of need_target on tier-specific terms: metro/special
                       (1, pop), province (1, pop, area), city and county (1, pop, area, pop65);
                       fitted values (all > 0)
"""
from __future__ import annotations

import csv
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw"
SHARED = HERE / ".." / ".." / ".." / "shared" / "data"
FILES = ("korea_lofin_2024_entities.tsv", "korea_sigungu_area_2023.csv", "korea17_2024.csv")
BILLION = 10**9
# 2024 ordinary grant as settled, KRW billion (DERIVED, UNCERTAIN): the 2024 budget-basis
# ordinary grant 0.97 x 61,694.8 = 59,843.956 less half of the estimated 4.1 trillion cut after
# the 2024 tax re-estimate (MOIS had local governments bear 50% in 2024, 50% from the 2026 grant).
BUDGET = Fraction(616948, 10) * Fraction(97, 100) - Fraction(4100, 2)
METRO_CODES = {"11", "26", "27", "28", "29", "30", "31"}
PROVINCE_CODES = {"41", "42", "43", "44", "45", "46", "47", "48"}
SPEC = {"metro": ("pop",), "special": ("pop",), "province": ("pop", "area"),
        "city": ("pop", "area", "pop65"), "county": ("pop", "area", "pop65")}
FIT_TIER = {"metro": "metro", "special": "metro", "province": "province", "city": "city", "county": "county"}
COLUMNS = ["region_id", "name", "name_ko", "tier", "province", "population", "own_revenue",
           "fiscal_need", "prior_transfer", "area_km2", "pop65", "revenue_incl_grants",
           "published_transfer", "standard_revenue", "need_target", "districts_folded", "lofin_code"]
COUNTED = Fraction(8, 10)   # Local Share Tax Act art. 8: ordinary taxes counted at 80%


def fmt(x: Fraction, nd: int = 3) -> str:
    q = Fraction(round(x, nd))
    sign = "-" if q < 0 else ""
    n = (abs(q) * 10**nd).numerator
    return f"{sign}{n // 10**nd}.{n % 10**nd:0{nd}d}" if nd else f"{sign}{n}"


def read_raw() -> tuple[list[list[str]], dict, dict]:
    for name in FILES:
        if (SHARED / name).exists() and (SHARED / name).read_bytes() != (RAW / name).read_bytes():
            print(f"WARNING: shared {name} differs from raw/{name}; using raw/", file=sys.stderr)
    with (RAW / FILES[0]).open(encoding="utf-8", newline="") as f:
        lofin = list(csv.reader(f, delimiter="\t"))[1:]
    with (RAW / FILES[1]).open(encoding="utf-8-sig", newline="") as f:
        area = {(r["시도"], r["시군구"]): r for r in csv.DictReader(f)}
    with (RAW / FILES[2]).open(encoding="utf-8", newline="") as f:
        k17 = {r["lofin_code"]: r for r in csv.DictReader(f)}
    assert len(lofin) == 243 and len(k17) == 17
    return lofin, area, k17


def build_units(lofin: list[list[str]], area: dict, k17: dict) -> list[dict]:
    prefix = {r[0][:2]: r[1][:2] for r in lofin if r[0].endswith("00000")}
    units: dict[str, dict] = {}
    for code, name, pop, ltax_k, own, _denom, jaju in lofin:
        p = code[:2]
        own_b, jaju_b, ltax_b = Fraction(int(own), BILLION), Fraction(int(jaju), BILLION), Fraction(int(ltax_k), 10**6)
        if code.endswith("00000"):
            k = k17[code]
            tier = "province" if p in PROVINCE_CODES else ("special" if p in {"32", "49"} else "metro")
            units[code] = dict(id=k["region_en"].lower(), name=k["region_en"], ko=k["region_ko"], tier=tier,
                               prov=k["region_en"].lower(), p=p, pop=int(pop), own=own_b, G=jaju_b,
                               ltax=ltax_b, area=Fraction(k["area_km2_2023_12_31"]),
                               pop65=Fraction(int(k["pop65_2023_12_31"])), folded=0, code=code)
            continue
        short = name[2:]
        if p in METRO_CODES and short.endswith("구"):      # autonomous district: fold into its city
            u = units[p + "00000"]
            u["own"] += own_b
            u["G"] += own_b
            u["ltax"] += ltax_b
            u["folded"] += 1
            continue
        a = area.get((prefix[p], short)) or area[("경북", short)]   # 군위군 moved to Daegu 2023-07-01
        units[code] = dict(id=f"kr{code}", name=name, ko=name, tier="city" if short.endswith("시") else "county",
                           prov=units[p + "00000"]["id"], p=p, pop=int(pop), own=own_b, G=jaju_b, ltax=ltax_b,
                           area=Fraction(a["면적"]), pop65=Fraction(a["고령"]), folded=0, code=code)
    return list(units.values())


def solve(A: list[list[Fraction]], b: list[Fraction]) -> list[Fraction]:
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(n):
        piv = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        M[c] = [v / M[c][c] for v in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                M[r] = [x - M[r][c] * y for x, y in zip(M[r], M[c])]
    return [M[i][n] for i in range(n)]


def regressors(u: dict) -> list[Fraction]:
    return [Fraction(1)] + [Fraction(u[v]) for v in SPEC[u["tier"]]]


def fit(units: list[dict]) -> dict[str, list[Fraction]]:
    """OLS per fit tier (the model is fully tier-interacted, so it separates by tier)."""
    coef = {}
    for t in ("metro", "province", "city", "county"):
        rows = [u for u in units if FIT_TIER[u["tier"]] == t]
        X = [regressors(u) for u in rows]
        k = len(X[0])
        A = [[sum(x[i] * x[j] for x in X) for j in range(k)] for i in range(k)]
        coef[t] = solve(A, [sum(x[i] * u["Y"] for x, u in zip(X, rows)) for i in range(k)])
    return coef


def predict(coef: dict, u: dict) -> Fraction:
    return sum(c * x for c, x in zip(coef[FIT_TIER[u["tier"]]], regressors(u)))


def r2(y: list[Fraction], f: list[Fraction]) -> float:
    m = sum(y) / len(y)
    return float(1 - sum((a - b) ** 2 for a, b in zip(y, f)) / sum((a - m) ** 2 for a in y))


def write(units: list[dict]) -> None:
    with (HERE / "regions.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for u in units:
            t = u["G"] - u["own"]
            w.writerow([u["id"], u["name"], u["ko"], u["tier"], u["prov"], u["pop"], fmt(u["own"]),
                        fmt(u["N"]), fmt(t), fmt(u["area"], 2), fmt(u["pop65"], 0), fmt(u["G"]), fmt(t),
                        fmt(u["ltax"]), fmt(u["Y"]), u["folded"], u["code"]])
    with (HERE / "groups.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["group_id", "region_id", "kind"])
        for prov in dict.fromkeys(u["prov"] for u in units):
            for u in units:
                if u["prov"] == prov:
                    w.writerow([f"prov-{prov}", u["id"], "union"])
        for gid, provs in (("busan-gyeongnam", ("busan", "gyeongnam")), ("daegu-gyeongbuk", ("daegu", "gyeongbuk"))):
            for p in provs:
                w.writerow([gid, p, "merger"])
        for gid, provs in (("busan-gyeongnam-region", ("busan", "gyeongnam")),
                           ("daegu-gyeongbuk-region", ("daegu", "gyeongbuk")),
                           ("chungcheong", ("daejeon", "sejong", "chungbuk", "chungnam"))):
            for u in units:
                if u["prov"] in provs:
                    w.writerow([gid, u["id"], "union"])


def report(units: list[dict], coef: dict) -> None:
    y = [u["Y"] for u in units]
    f = [u["N"] for u in units]
    # leave-one-province-out: refit without every unit of province p, predict those units
    lopo: dict[str, Fraction] = {}
    for prov in dict.fromkeys(u["prov"] for u in units):
        c = fit([u for u in units if u["prov"] != prov])
        for u in units:
            if u["prov"] == prov:
                lopo[u["id"]] = predict(c, u)
    g = [lopo[u["id"]] for u in units]
    print(f"units {len(units)}: " + ", ".join(f"{t} {sum(u['tier'] == t for u in units)}" for t in SPEC))
    print(f"population upper tier {sum(u['pop'] for u in units if u['tier'] in ('metro', 'special', 'province')):,}; "
          f"cities+counties {sum(u['pop'] for u in units if u['tier'] in ('city', 'county')):,}")
    own_total, g_total = sum(u["own"] for u in units), sum(u["G"] for u in units)
    print(f"sums (KRW billion): own {fmt(own_total)}  revenue_incl_grants {fmt(g_total)}  "
          f"published_transfer {fmt(g_total - own_total)}  standard_revenue {fmt(sum(u['ltax'] for u in units))}  "
          f"need_target {fmt(sum(y))}  need {fmt(sum(f))}  budget {fmt(BUDGET)}")
    print("| fit tier | n | coefficients (KRW billion: 1, per person, per km2, per 65+ person) | R2 | LOPO R2 |")
    print("|---|---|---|---|---|")
    for t in ("metro", "province", "city", "county"):
        idx = [i for i, u in enumerate(units) if FIT_TIER[u["tier"]] == t]
        cs = ", ".join(f"{float(c):.6g}" for c in coef[t])
        print(f"| {t} | {len(idx)} | {cs} | {r2([y[i] for i in idx], [f[i] for i in idx]):.4f} | "
              f"{r2([y[i] for i in idx], [g[i] for i in idx]):.4f} |")
    print(f"| all | {len(units)} | | {r2(y, f):.4f} | {r2(y, g):.4f} |")
    print(f"LOPO predictions <= 0: {sum(1 for v in g if v <= 0)}; min fitted need {fmt(min(f))}")
    own = [Fraction(round(u["own"], 3)) for u in units]
    need = [Fraction(round(u["N"], 3)) for u in units]

    def R(t: Fraction) -> Fraction:
        return sum((max(Fraction(0), t * n - o) for n, o in zip(need, own)), Fraction(0))

    th = max(Fraction(t, 100) for t in range(1, 301) if R(Fraction(t, 100)) <= Fraction(95, 100) * BUDGET)
    print(f"threshold choice {float(th):.2f}: R = {fmt(R(th))} (0.95 x budget = {fmt(Fraction(95, 100) * BUDGET)})")
    korea_lst_check(units)
    gn = sorted(units, key=lambda u: u["G"] / u["N"])
    print("lowest revealed level (revenue incl. grants / need): " +
          ", ".join(f"{u['id']} {float(u['G'] / u['N']):.3f}" for u in gn[:3]) +
          "; highest: " + ", ".join(f"{u['id']} {float(u['G'] / u['N']):.3f}" for u in gn[-3:]))


def korea_lst_check(units: list[dict]) -> None:
    """The ordinary-grant rule on these columns (a check of the data, not the engine's formula):
    shortfall = max(0, need - 0.8 x standard revenue), grant = budget x shortfall / sum."""
    short = [max(Fraction(0), u["N"] - COUNTED * u["ltax"]) for u in units]
    grant = [BUDGET * s / sum(short) for s in short]
    pub = [u["G"] - u["own"] for u in units]
    n = len(units)
    mg, mp = sum(grant) / n, sum(pub) / n
    cov = sum((a - mg) * (b - mp) for a, b in zip(grant, pub))
    corr = float(cov) / (float(sum((a - mg) ** 2 for a in grant)) * float(sum((b - mp) ** 2 for b in pub))) ** 0.5
    print(f"rule check: recipients {sum(1 for s in short if s > 0)} of {n}; correlation with published_transfer "
          f"{corr:.3f}; non-recipients: " + ", ".join(u["id"] for u, s in zip(units, short) if s == 0))
    shares = []
    for t in SPEC:
        idx = [i for i, u in enumerate(units) if u["tier"] == t]
        shares.append(f"{t} {float(100 * sum(grant[i] for i in idx) / BUDGET):.1f}% "
                      f"(published {float(100 * sum(pub[i] for i in idx) / sum(pub)):.1f}%)")
    print("rule check, share of the pool by tier: " + ", ".join(shares))


def main() -> None:
    units = build_units(*read_raw())
    for u in units:
        u["Y"] = COUNTED * u["ltax"] + u["G"] - u["own"]
    coef = fit(units)
    for u in units:
        u["N"] = predict(coef, u)
        assert u["N"] > 0, u["id"]
    write(units)
    report(units, coef)


if __name__ == "__main__":
    main()
