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
# Charge/summons rates differ between forces. How much of that is chance? Funnel plots show
# what chance alone would produce; shrinkage and rank intervals show how well the data can
# place each force. There is no league table here on purpose. The models are fitted once by
# `stalking-outcomes analyse`; this notebook reads their tables.

# %% tags=["parameters"]
source = "demo"
offence = "8Q"
year = ""

# %%
from analysis.reports import sections
from analysis.runs import params

p = params.check("force_comparison", dict(source=source, offence=offence, year=year))
ctx = sections.context(p["source"], p["offence"])
year = ctx.year(p["year"])
result = sections.funnel_for(ctx, year)
shr = sections.shrinkage_for(ctx, year)
ctx.banner()

# %%
sections.comparison_summary(ctx, result, shr)

# %% [markdown]
# ## Funnel plot
#
# Limits at 95% (dashed) and 99.8% (solid). Three methods: exact binomial limits (chance only),
# limits inflated by the overdispersion factor phi, and random-effects limits (tau squared) that
# allow for real differences between forces. When phi is large, the exact limits flag many
# forces and the random-effects limits show which stand out even so.

# %% tags=["figure"]
sections.funnel_figure(ctx, result, year)

# %%
sections.flagged(result)

# %% [markdown]
# ## Overdispersion and flags in every year

# %%
sections.funnel_summary_table(ctx)

# %% [markdown]
# ## Change between 2019/20 and 2020/21

# %% tags=["figure"]
sections.change_funnel_figure(ctx)

# %% [markdown]
# ## Shrunken rates and rank intervals

# %% tags=["figure"]
sections.caterpillar_figure(ctx, shr, year)

# %%
sections.shrinkage_table(shr)
