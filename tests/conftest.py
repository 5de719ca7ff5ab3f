from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs a fixed set of examples (no flaky surprise on a clean clone); locally hypothesis
# keeps exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"


def write_instance(folder: Path, rows: list[dict], budget: float = 100.0, threshold: float = 0.5,
                   extra_toml: str = "", header: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.toml").write_text(
        f'name = "t"\nunit = "KRW billion"\n\n[budget]\ntotal = {budget}\n\n'
        f"[threshold]\nlevel = {threshold}\n{extra_toml}", encoding="utf-8")
    header = header or list(rows[0].keys())
    lines = [",".join(header)] + [",".join(str(r.get(c, "")) for c in header) for r in rows]
    (folder / "regions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def toy3() -> Path:
    return INSTANCES / "toy-3"


@pytest.fixture
def korea17() -> Path:
    return INSTANCES / "korea-17"
