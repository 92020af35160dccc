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
# # Comparing forces: funnel plots, shrinkage and rank intervals
#
# Charge/summons rates differ between forces. How much of that is chance? Funnel plots show
# what chance alone would produce; shrinkage and rank intervals show how well the data can
# place each force. There is no league table here on purpose.

# %% tags=["parameters"]
source = "demo"
offence = "8Q"
year = ""

# %%
from analysis.reports import plots, sections
from analysis.runs import params

p = params.validate("force_comparison", dict(source=source, offence=offence, year=year))
ctx = sections.context(p["source"], p["offence"])
year = ctx.year(p["year"])
print(ctx.banner())
result = sections.funnel_for(ctx, year)
print(result.sensitivity())

# %% [markdown]
# ## Funnel plot
#
# Limits at 95% (dashed) and 99.8% (solid). Three methods: exact binomial limits (chance only),
# limits inflated by the overdispersion factor phi, and random-effects limits (tau squared) that
# allow for real differences between forces. When phi is large, the exact limits flag many
# forces and the random-effects limits show which stand out even so.

# %%
plots.funnel_plot(result, synthetic=ctx.synthetic, title=f"Charge rates {year}")

# %%
sections.flagged(result)

# %% [markdown]
# ## Overdispersion and flags in every year

# %%
ctx.table("funnel_summary.csv")[["label", "target", "units", "phi", "phi_p_value", "tau2", "sensitivity"]]

# %% [markdown]
# ## Change between 2019/20 and 2020/21

# %%
from analysis.stats import funnel

change = funnel.change_funnel(ctx.panel, "2019/20", "2020/21")
print(change.sensitivity())
plots.change_funnel_plot(change, synthetic=ctx.synthetic)

# %% [markdown]
# ## Shrunken rates and rank intervals

# %%
shr = sections.shrinkage_for(ctx, year)
print(f"tau = {shr.summary['tau']:.3f} on the logit scale; rankability {shr.summary['rankability']:.2f}.")
plots.caterpillar_plot(shr, synthetic=ctx.synthetic)

# %%
shr.units[
    [
        "force",
        "n",
        "raw_rate",
        "shrunk_rate",
        "shrunk_low",
        "shrunk_high",
        "shrinkage_factor",
        "rank_low",
        "rank_median",
        "rank_high",
    ]
].round(4)
