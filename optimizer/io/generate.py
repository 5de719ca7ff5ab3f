"""Synthetic but realistic instances, for tests and benchmarks.

Shapes follow the Korean data (instances/korea-17): lognormal populations, need per
capita rising with the elderly share and with sparse settlement, own revenue per capita
lognormal and only loosely tied to need, so that own/need spans roughly 0.3 to 1.2.
The budget is set to close ``budget_share`` of the gap to the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.core.levels import gap_to_level


@dataclass(frozen=True)
class GeneratedInstance:
    regions: pd.DataFrame
    budget: float
    threshold: float
    toml: str


def generate(n: int, seed: int, threshold: float = 0.9, budget_share: float = 1.1) -> GeneratedInstance:
    if n < 1:
        raise ValueError("n must be >= 1")
    rng = np.random.default_rng(seed)
    population = np.maximum(1000, np.round(rng.lognormal(11.0, 1.1, n))).astype(np.int64)
    elderly = np.clip(rng.normal(0.21, 0.06, n), 0.05, 0.5)
    density = rng.lognormal(0.0, 0.8, n)
    # KRW billion per person: ~3.8 million KRW standard need, +1.5x per elderly share point,
    # more per head where settlement is sparse.
    need_pc = 0.0038 * (1 + 1.5 * (elderly - 0.21)) * density ** -0.15
    own_pc = need_pc * np.clip(rng.lognormal(np.log(0.65), 0.35, n), 0.15, 2.5)
    need = np.round(population * need_pc, 3)
    own = np.round(population * own_pc, 3)
    need = np.maximum(need, 0.001)
    gap = gap_to_level(threshold, own, need).sum()
    budget = round(float(budget_share * gap), 3)
    width = len(str(n))
    regions = pd.DataFrame({
        "region_id": [f"r{i:0{width}d}" for i in range(n)],
        "name": [f"Region {i}" for i in range(n)],
        "population": population,
        "own_revenue": own,
        "fiscal_need": need,
        "prior_transfer": np.round(gap_to_level(1.0, own, need) * 0.8, 3),
    })
    toml = (
        f'name = "generated-n{n}-s{seed}"\n'
        f'description = "Synthetic instance: {n} regions, seed {seed} (equalize generate)."\n'
        'unit = "KRW billion"\n'
        f"year = 2024\n"
        'sources = ["Synthetic: optimizer/generate.py, shaped after instances/korea-17."]\n\n'
        f"[budget]\ntotal = {budget!r}\n\n[threshold]\nlevel = {threshold!r}\n"
    )
    return GeneratedInstance(regions, budget, threshold, toml)
