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
# A simulation study on generated data whose true parameters are known: each named scenario
# breaks one of the generator's assumptions, and every estimator is scored against the truth,
# each figure with its Monte Carlo error. With `results` empty this notebook runs a small study
# of `reps` replicates per scenario; the full study is `make validate` (500 replicates per
# scenario), whose tables are in `docs/validation/` — set `results` to its table to
# show them here. All data here are GENERATED.

# %% tags=["parameters"]
reps = 20
seed = 1000
link_slope = -0.4
scenarios = "all"
results = ""

# %%
from analysis.reports import plots, sections, validation_text
from analysis.runs import params

given = dict(reps=reps, seed=seed, link_slope=link_slope, scenarios=scenarios, results=results)
p = params.check("method_validation", given)
table = validation_text.study(p["results"], p["reps"], p["seed"], p["link_slope"], p["scenarios"])
validation_text.opening(table)

# %% [markdown]
# ## Which estimators hold up, scenario by scenario

# %%
validation_text.summary(table)

# %% tags=["figure"]
plots.show(
    plots.validation_plot(validation_text.judgements(table)),
    alt="Bias and 95% interval coverage of each interval estimator under each scenario, with "
    "Monte Carlo error bars (generated data)",
)

# %% [markdown]
# The interval estimators by scenario: bias and coverage each beside its Monte Carlo standard
# error, the rejection rate at 5% (power here, since the true slope is not zero; the size under
# a true slope of 0 is in `docs/validation/`), and the verdict.

# %%
validation_text.scenario_table(table)

# %% [markdown]
# Every row of the study: bias, RMSE, 95% interval coverage and the rejection rate at 5% for
# each estimator; for funnels, recall and the share of ordinary forces flagged against both
# truths; for shrinkage, mean squared error and interval and rank-interval coverage against the
# cases closed in the year.

# %%
sections.validation_table(table)
