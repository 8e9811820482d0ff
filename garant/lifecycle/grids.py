"""Decision grids (referential `decision_grid`): which grid applies to a system, its criteria."""

from __future__ import annotations

# D1 medical & care and D3 clinical research are judged on the medical grid; D2 on support.
GRID_BY_DOMAIN = {"D1": "medical_and_care", "D2": "support_functions", "D3": "medical_and_care"}


def grid_for_domain(domain: str) -> str:
    return GRID_BY_DOMAIN.get(domain, "medical_and_care")
