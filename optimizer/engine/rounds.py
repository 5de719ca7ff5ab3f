"""Which solve a round needs: plain, multi-year (engine/phasing.py) or with services
(engine/services.py). Nothing here prints; the CLI calls ``solve_round``."""

from __future__ import annotations

from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.engine.phasing import solve_phased
from optimizer.engine.services import solve_with_services
from optimizer.engine.solve import DEFAULT_OBJECTIVE, objective_spec, prepare_round, solve, verify_extras
from optimizer.engine.surplus import spend_mode, spend_surplus
from optimizer.prepare.phasing import phasing_of
from optimizer.prepare.services import service_options, services_frame


def solve_round(inst: Instance, opts, years: int | None = None, earmarked: bool | None = None,
                fairness_over: str | None = None) -> Result:
    ph = phasing_of(inst, years)
    svc = services_frame(inst)
    so = service_options(inst, earmarked, fairness_over)
    if svc is None and (earmarked or fairness_over == "services"):
        raise UsageError("--earmarked / --fairness-over services need a services.csv in the instance")
    if ph is not None and svc is not None:
        raise UsageError("[phasing] and services.csv cannot be combined yet (docs/policies.md)")
    if ph is not None:
        return solve_phased(inst, opts, ph)
    if svc is not None:
        return solve_with_services(inst, opts, svc, so)
    return solve(inst, opts)



def pay_out(inst: Instance, opts, result: Result) -> Result:
    """--spend all on a Result solved elsewhere (a sweep's persistent model): the round
    prepared again and the surplus stage of engine/surplus.py run on it; unchanged unless
    the round spends all."""
    if not spend_mode(inst, opts)[0]:
        return result
    spec = objective_spec(opts.objective or inst.objective or DEFAULT_OBJECTIVE)
    prep = prepare_round(inst, spec, opts)
    return spend_surplus(prep, spec, opts, result, verify_extras(prep, opts))
