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
# The models are fitted once by `stalking-outcomes analyse`; this notebook reads their tables.
# The dose is each force's log growth in recorded stalking from 2019/20 to 2020/21; the outcome
# is the share of investigations closed in a year that were charged.

# %% tags=["parameters"]
source = "demo"
offence = "8Q"

# %%
from analysis.reports import sections
from analysis.runs import params

p = params.validate("reporting_link", dict(source=source, offence=offence))
ctx = sections.context(p["source"], p["offence"])
ctx.banner()

# %%
sections.link_summary(ctx)

# %% [markdown]
# ## Caveats (read these before quoting the result)

# %%
sections.link_caveats(ctx)

# %% [markdown]
# ## Every estimator

# %%
sections.link_models_table(ctx)

# %% [markdown]
# ## Event study: dose by year, relative to 2019/20
#
# Before 2020 the coefficients should be near zero (no pre-trend); after, they show the
# association year by year. The 2020/21 coefficient is diluted because investigations closed
# that year include offences recorded before April 2020.

# %%
es_table, es_figure = sections.event_study(ctx)
es_table

# %% tags=["figure"]
es_figure

# %% [markdown]
# ## Dose and change in charge rate, force by force
#
# The line is the first-difference estimate from the table above, not a new fit.

# %% tags=["figure"]
sections.dose_response_figure(ctx)

# %% [markdown]
# ## Decomposition of the national change
#
# How much of the national fall in the charge rate comes from the mix of forces (between) and
# how much from rates within forces (within); exactly additive, bootstrap intervals.

# %%
sections.decomposition_table(ctx)
