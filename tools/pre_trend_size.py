"""Size and power of the event study's two joint pre-trend tests on generated data (developer
tool): the CV3 Wald F test and the wild cluster score bootstrap, at `link_slope` = 0, on the
primary's basis, seeds 1000 + replicate (the method study's), 399 sign flips.

    .venv/bin/python tools/pre_trend_size.py --scenario baseline --reps 200

Prints each test's rejection rate at 5% with its Monte Carlo standard error.
"""

from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

from analysis.demo import generator
from analysis.stats import link, method_study
from analysis.stats.link_panel import link_panel


def p_values(scenario: str, rep: int) -> tuple[float, float]:
    """The F test's and the wild bootstrap test's p-values on one generated dataset."""
    cfg = generator.load_config(
        None, {**method_study.STUDY_PINS, "link_slope": 0, "seed": 1000 + rep}, scenario
    )
    data = generator.simulate(cfg, offences=("8Q",))
    d = link.usable(link_panel(data.outcomes, data.recorded))
    b = link.PRIMARY
    es = link.event_study(b.sample(d), success=b.success, total=b.total, bootstrap_reps=399, seed=rep + 1)
    return es.pre_test["p_value"], es.pre_test["wild_p_value"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="baseline")
    p.add_argument("--reps", type=int, default=200)
    a = p.parse_args()
    threadpool_limits(1)
    ps = np.array([p_values(a.scenario, rep) for rep in range(a.reps)])
    for name, col in (("F test (CV3 covariance)", 0), ("wild cluster score bootstrap", 1)):
        r = float(np.mean(ps[:, col] < 0.05))
        print(
            f"{a.scenario}: {name}: rejection {r:.3f} (MCSE {np.sqrt(r * (1 - r) / a.reps):.3f}), {a.reps} reps"
        )


if __name__ == "__main__":
    main()
