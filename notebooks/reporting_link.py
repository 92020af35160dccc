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
# The dose is each force's log growth in recorded offences (of the offence in the title) from 2019/20 to 2020/21. The primary
# outcome is on the recorded basis: of the outcomes assigned to offences recorded in a year (by
# the time the data were counted), the share charged, so that each year holds the offences
# recorded in it; years whose offences have been followed under two years are left out. The closed-basis versions are sensitivity analyses (see the methods
# page for why, from the simulation study).

# %% tags=["parameters"]
source = "demo"
offence = "8Q"

# %%
from analysis.reports import sections
from analysis.runs import params

p = params.check("reporting_link", dict(source=source, offence=offence))
ctx = sections.context(p["source"], p["offence"])
ctx.banner()

# %%
sections.link_summary(ctx)

# %%
sections.link_size_and_shape(ctx)

# %% [markdown]
# ## Caveats (read these before quoting the result)

# %%
sections.link_caveats(ctx)

# %% [markdown]
# ## Negative control
#
# Offences whose recording the stalking rules did not touch (a set fixed before it was applied
# to real data), with stalking's dose: their charges should not move with it.

# %%
sections.link_negative_control(ctx)

# %% [markdown]
# ## Every estimator

# %%
sections.link_models_table(ctx)

# %% [markdown]
# ## Event study: dose by year, relative to 2019/20
#
# The primary model with one dose coefficient per year (recorded basis). Before 2020 the
# coefficients should be near zero (no pre-trend); after, they show the association year by
# year. Intervals use the leave-one-force-out jackknife (CV3).

# %%
sections.link_pre_trend(ctx)

# %% [markdown]
# Rambachan and Roth's relative-magnitudes bounds, for the methods: they bound the event study's
# mean post-2020 coefficient (not the headline), allowing the post-2020 changes in the trend gap
# to be up to Mbar times the largest pre-2020 one. With 43 forces they are wide, so the headline
# uses the smoothness bound in "In brief" instead (a steady trend carried forward, and the trend
# that would overturn the parallel-trends estimate).

# %%
sections.link_pre_trend_sensitivity(ctx)

# %%
es_table, es_figure = sections.event_study(ctx)
es_table

# %% tags=["figure"]
es_figure

# %% [markdown]
# ## Which forces move the estimate?
#
# The primary estimate with each force left out in turn, the forces that move it most first.

# %%
influence_text, influence_table, influence_figure = sections.link_influence(ctx)
influence_text

# %%
influence_table

# %% tags=["figure"]
influence_figure

# %% [markdown]
# ## The shape of the dose-response
#
# The primary model with the dose as a natural cubic spline (knots at the 10%, 50% and 90%
# quantiles of the forces' doses) instead of a straight line: the change in charge log-odds from
# 2020/21 against a force at the mean dose, with pointwise intervals from the leave-one-force-out
# jackknife (CV3), and the dose thirds for comparison.

# %%
spline_text, spline_table, spline_figure = sections.link_dose_spline(ctx)
spline_text

# %%
spline_table

# %% tags=["figure"]
spline_figure

# %% [markdown]
# ## Each force's own change: the estimate the force pages print
#
# One hierarchical link model gives every force its own change in charge odds after April 2020,
# against the change in all forces, with an interval; the line is the primary estimate. A force
# with few cases is drawn towards the line (docs/methods.md, "Each force's own change").

# %%
gaps_text, gaps_figure = sections.link_force_gaps(ctx)
gaps_text

# %% tags=["figure"]
gaps_figure

# %% [markdown]
# ## Robustness: first differences, force by force
#
# Each force's change in charge log-odds between pooled years before and after the change,
# unpooled, and the first-difference estimate's line from the table above (not a new fit). A
# robustness view only: the force pages use the model above.

# %% tags=["figure"]
sections.dose_response_figure(ctx)

# %% [markdown]
# ## Decomposition of the national change
#
# How much of the national fall in the charge rate comes from the mix of forces (between) and
# how much from rates within forces (within); exactly additive, bootstrap intervals.

# %%
sections.decomposition_table(ctx)
