"""Korean labels and money in 억/조: the one place every Korean output (the HTML report with
``--lang ko``, the Excel workbook) takes its words from.

``label(key, lang)`` gives the heading or column label of ``key`` (English when ``lang`` is
"en" or the key has no Korean entry); ``money_ko(amount, unit)`` writes an amount of a KRW
unit in 조/억 ("KRW billion" = 10억, so 59,843.956 -> "59조 8,440억"); ``region_name`` takes
``name_ko`` where the instance has it."""

from __future__ import annotations

import math

from optimizer.core.instance import unit_per_capita

EOK = 1e8          # 억 = 10^8 won
JO = 1e12          # 조 = 10^12 won = 10,000억

# English label -> Korean. Keys are the allocation columns, summary fields and report headings.
LABELS_KO: dict[str, str] = {
    # allocation columns (optimizer.core.result.ALLOCATION_COLUMNS and what later rounds add)
    "region_id": "지역 코드", "name": "지역", "name_ko": "지역(한글)", "population": "인구",
    "own_revenue": "자체수입", "fiscal_need": "재정수요", "threshold": "기준 수준",
    "prior_transfer": "전년도 교부액", "transfer": "교부액", "change": "전년 대비 증감",
    "change_pct": "증감률(%)", "transfer_per_capita": "1인당 교부액(원)", "level_before": "교부 전 수준",
    "level_after": "교부 후 수준", "shortfall": "기준 미달액", "threshold_dual": "기준 제약의 잠재가격",
    "binding": "구속 조건", "reason": "사유", "pop65": "65세 이상 인구", "area_km2": "면적(km²)",
    # headline and summary
    "budget": "예산", "budget_used": "사용액", "required_budget": "기준 달성 필요액",
    "objective": "목적함수", "objective_value": "목적함수 값", "min_level": "최저 수준",
    "regions_below_threshold": "기준 미달 지역 수", "status": "상태", "unit": "단위",
    "budget_shadow_price": "예산의 잠재가격", "price_of_fairness": "공평성의 비용",
    # inequality metrics
    "mean_level": "평균 수준", "max_level": "최고 수준", "max_min_ratio": "최고/최저 비율",
    "cv": "변동계수", "gini": "지니계수", "theil": "타일 지수", "atkinson_1": "앳킨슨 지수(1)",
    "atkinson_2": "앳킨슨 지수(2)", "population_share_below_threshold": "기준 미달 인구 비율",
    "total_shortfall": "총 미달액", "weighted_shortfall": "가중 미달액", "solve_seconds": "계산 시간(초)",
    "before": "교부 전", "after": "교부 후", "metric": "지표", "level": "수준",
    # report headings
    "Equalization report": "재정 균등화 보고서", "Headline": "핵심 요약", "Allocation": "배분 결과",
    "Levels before and after": "교부 전후 재정 수준", "Objectives compared": "목적함수 비교",
    "Budget frontier": "예산 변화에 따른 결과", "Inequality": "불평등 지표",
    "Data sources and estimates": "자료 출처와 추정", "How it was computed": "계산 방법",
    "Total": "합계", "Estimates and choices": "추정과 선택", "Sources": "출처",
    "versions": "버전", "command line": "명령어", "input SHA-256": "입력 SHA-256",
    "file": "파일", "generated": "작성 시각", "solver": "솔버", "instance": "사례",
    "regions": "지역 수", "description": "설명", "year": "연도",
    "Change against last year": "전년 대비 변화", "up": "증가", "down": "감소", "unchanged": "변동 없음",
}


def label(key: str, lang: str = "en") -> str:
    """The label of ``key`` in ``lang`` ("en": the key itself, underscores as spaces for columns)."""
    if lang == "ko" and key in LABELS_KO:
        return LABELS_KO[key]
    return key.replace("_", " ") if "_" in key and " " not in key else key


def won_factor(unit: str) -> float | None:
    """Won per unit for a KRW unit ('KRW billion' -> 1e9, 'KRW' -> 1); None for any other currency."""
    base, factor = unit_per_capita(unit)
    return factor if base.upper() in ("KRW", "WON", "원") else None


def money_ko(amount: float, unit: str) -> str:
    """``amount`` (in ``unit``) in 조 and 억, rounded to the nearest 억: 59843.956 KRW billion ->
    '59조 8,440억', 577.265 -> '5,773억', -1234.5 -> '-1조 2,345억'. Amounts under 1억 keep
    won ('5,000만 원' is not used: '0.3억'). A non-KRW unit: the number with the unit."""
    factor = won_factor(unit)
    if amount is None or not math.isfinite(amount):
        return "-"
    if factor is None:
        return f"{amount:,.1f} {unit}"
    won = amount * factor
    sign = "-" if won < 0 else ""
    eok_total = abs(won) / EOK
    if eok_total < 1:
        return f"{sign}{eok_total:.1f}억" if eok_total >= 0.05 else "0"
    eok_total = round(eok_total)
    jo, eok = divmod(int(eok_total), 10_000)
    if jo == 0:
        return f"{sign}{eok:,}억"
    return f"{sign}{jo:,}조" + (f" {eok:,}억" if eok else "")


def region_name(row: dict, lang: str) -> str:
    """``name_ko`` when Korean is asked for and the instance has it, else ``name``."""
    ko = row.get("name_ko")
    if lang == "ko" and isinstance(ko, str) and ko.strip():
        return ko
    return str(row.get("name", row.get("region_id", "")))
