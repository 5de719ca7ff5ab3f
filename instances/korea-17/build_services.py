"""Build instances/korea-17-services/{regions.csv,services.csv}: an ESTIMATE of each region's
fiscal need split into services (stdlib only, exact rational arithmetic: byte-identical runs).

    python instances/korea-17/build_services.py

Why a separate instance folder: a services.csv inside korea-17 would change its default solve
(optimizer/services.py turns every service threshold into a hard floor on the region transfer).

Method (see SOURCES.md, "Services (ESTIMATE)"):
- national composition of 2023 기준재정수요 (shared/data/korea17_2024_NOTES.md, section 5): of
  총수요 147.8조, 인건비 19.5, 아동복지 10.1, 일반관리비 9.8, 지역관리비 9.2, 노인복지 8.6 (조원);
  the remaining 90.6 is "other";
- per region, weight_k = national share_k x tilt_k, with tilt = (65+ share of the region) /
  (national 65+ share) for elderly care, (area per person of the region) / (national area per
  person) for regional management, 1 for every other service; shares = weights / their sum;
- need_{r,k} = fiscal_need_r x share_{r,k}, rounded half-even to 0.001 (KRW million); "other"
  takes the rounding remainder, so each region's services sum exactly to its fiscal_need;
- thresholds (CHOICE): elderly care 0.94 (the largest level on a 0.01 grid whose general-transfer
  floor sum_r max(0, theta N_r - own_r) = 59,542.2 fits the budget 59,843.956), every other
  service blank (= the region's threshold, 0.92).
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "korea-17-services"

# 2023 national 기준재정수요 items, 조원 (NOTES section 5); total 147.8
TOTAL = Fraction("147.8")
ITEMS = [("personnel", Fraction("19.5")),        # 인건비
         ("child_welfare", Fraction("10.1")),    # 아동복지
         ("general_admin", Fraction("9.8")),     # 일반관리비
         ("regional_mgmt", Fraction("9.2")),     # 지역관리비 (tilted by area per person)
         ("elderly_care", Fraction("8.6"))]      # 노인복지 (tilted by the 65+ share)
THRESHOLDS = {"elderly_care": "0.94"}            # CHOICE; blank = the region's threshold


def q3(x: Fraction) -> Decimal:
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.001"), ROUND_HALF_EVEN)


def main() -> None:
    with open(HERE / "regions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    pop = {r["region_id"]: Fraction(r["population"]) for r in rows}
    pop65 = {r["region_id"]: Fraction(r["pop65"]) for r in rows}
    area = {r["region_id"]: Fraction(r["area_km2"]) for r in rows}
    nat65 = sum(pop65.values()) / sum(pop.values())
    nat_area = sum(area.values()) / sum(pop.values())
    shares = ITEMS + [("other", TOTAL - sum(v for _, v in ITEMS))]
    out = []
    for r in rows:
        rid = r["region_id"]
        tilt = {"elderly_care": (pop65[rid] / pop[rid]) / nat65, "regional_mgmt": (area[rid] / pop[rid]) / nat_area}
        w = {k: v / TOTAL * tilt.get(k, 1) for k, v in shares}
        total_w = sum(w.values())
        need = Fraction(r["fiscal_need"])
        parts = {k: q3(need * w[k] / total_w) for k, _ in ITEMS}
        parts["other"] = Decimal(r["fiscal_need"]) - sum(parts.values())
        for k, _ in shares:
            out.append([rid, k, f"{parts[k]:.3f}", THRESHOLDS.get(k, "")])
    OUT.mkdir(exist_ok=True)
    (OUT / "regions.csv").write_bytes((HERE / "regions.csv").read_bytes())
    with open(OUT / "services.csv", "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["region_id", "service", "need", "threshold"])
        wr.writerows(out)
    print(f"wrote {OUT / 'services.csv'} ({len(out)} rows) and a copy of regions.csv")


if __name__ == "__main__":
    main()
