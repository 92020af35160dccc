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
# # Did forces whose recorded stalking rose most see charge rates fall most?
#
# The models are fitted once by `stalking-outcomes analyse`; this notebook reads their tables.
# The dose is each force's log growth in recorded stalking from 2019/20 to 2020/21; the outcome
# is the share of investigations closed in a year that were charged.

# %% tags=["parameters"]
source = "demo"
offence = "8Q"

# %%
from analysis.reports import plots, sections
from analysis.runs import params

p = params.validate("reporting_link", dict(source=source, offence=offence))
ctx = sections.context(p["source"], p["offence"])
print(ctx.banner())
primary = ctx.link_primary()
print(primary["sentence"])

# %% [markdown]
# ## Caveats (read these before quoting the result)

# %%
for c in primary["caveats"]:
    print("-", c)

# %% [markdown]
# ## Every estimator

# %%
ctx.table("link_models.csv")[
    ["estimator", "specification", "estimate", "ci_low", "ci_high", "p_value", "method", "note"]
]

# %% [markdown]
# ## Event study: dose by year, relative to 2019/20
#
# Before 2020 the coefficients should be near zero (no pre-trend); after, they show the
# association year by year. The 2020/21 coefficient is diluted because investigations closed
# that year include offences recorded before April 2020.

# %%
es = ctx.table("event_study.csv")
plots.event_study_plot(es, synthetic=ctx.synthetic)

# %%
es[["financial_year", "estimate", "ci_low", "ci_high", "p_value"]].round(4)

# %% [markdown]
# ## Dose and change in charge rate, force by force

# %%
plots.dose_response_plot(ctx.table("link_panel.csv"), synthetic=ctx.synthetic)

# %% [markdown]
# ## Decomposition of the national change
#
# How much of the national fall in the charge rate comes from the mix of forces (between) and
# how much from rates within forces (within); exactly additive, bootstrap intervals.

# %%
ctx.table("decomposition.csv")[
    ["component", "year_from", "year_to", "estimate", "ci_low", "ci_high", "share_of_change"]
].round(4)
