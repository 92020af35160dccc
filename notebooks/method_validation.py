# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# A simulation study on generated data whose true parameters are known. This notebook runs a
# small study; the full one is `stalking-outcomes validate-methods --reps 200` (`make validate`).
# All data here are GENERATED.

# %% tags=["parameters"]
reps = 20
seed = 1000
link_slope = -0.4

# %%
from analysis.reports import sections
from analysis.runs import params
from analysis.stats.method_study import validate_methods

p = params.validate("method_validation", dict(reps=reps, seed=seed, link_slope=link_slope))
table, records = validate_methods(
    p["reps"], seed=p["seed"], overrides={"link_slope": p["link_slope"]}, jobs=1
)
sections.validation_summary(table, p["reps"], p["link_slope"])

# %% [markdown]
# Bias, RMSE, 95% interval coverage and the rejection rate at 5% for each estimator; for
# funnels, the recall of the forces given extreme true effects and the share of the others
# flagged; for shrinkage, mean squared error against the true rates.

# %%
sections.validation_table(table)
