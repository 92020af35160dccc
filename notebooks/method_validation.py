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
# each figure with its Monte Carlo error and the number of replicates behind it. This page shows
# the study's committed tables (`docs/validation/`, made by `stalking-outcomes validate-methods`
# through the Makefile's `validate` targets; the command that made each is shown with it); it
# runs no simulation. Tables kept as a record of an earlier generator or count come last, each
# saying why, and are not judged. A coverage or rejection rate from fewer than 100 replicates is
# never shown. All data here are GENERATED.

# %% tags=["parameters"]
folder = ""

# %%
from IPython.display import display

from analysis.reports import validation_text
from analysis.runs import params

p = params.check("method_validation", dict(folder=folder))
study = validation_text.read_study(p["folder"])
validation_text.opening(study)

# %% [markdown]
# ## Which estimators hold up, scenario by scenario

# %%
validation_text.holds_up(study)

# %% tags=["figure"]
validation_text.study_figure(study)

# %% [markdown]
# ## The tables
#
# Every row of each table: bias, 95% interval coverage and the rejection rate at 5% (power
# where the true slope is not zero, the size where it is), each beside its Monte Carlo standard
# error, with the replicates and the verdict against the targets; for funnels, recall and the
# share of ordinary forces flagged against both truths (as the mean estimate); for shrinkage,
# mean squared error and interval and rank-interval coverage against the cases closed in the
# year.

# %%
for shown in validation_text.study_tables(study):
    display(shown)
