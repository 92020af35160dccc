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
# National trends in the recorded offence (stalking unless the title says otherwise) and in how
# investigations end, with the counting-rule changes that break the series.

# %% tags=["parameters"]
source = "demo"
offence = "8Q"

# %%
from analysis.reports import sections
from analysis.runs import params

p = params.check("national_trends", dict(source=source, offence=offence))
ctx = sections.context(p["source"], p["offence"])
ctx.banner()

# %%
sections.national_summary(ctx)

# %%
sections.recent_national_sentences(ctx)

# %% [markdown]
# ## Counting-rule changes
#
# Any trend must be read against these. From 2020/21 the figures are not comparable with
# earlier years.

# %%
sections.counting_rule_breaks()

# %% [markdown]
# ## Recorded offences
#
# Stalking (8Q) beside harassment (8L): part of the April 2020 rise in stalking is a move out of
# harassment.

# %% tags=["figure"]
sections.volumes_figure(ctx)

# %% [markdown]
# ## How investigations ended (closed basis)
#
# Shares of the investigations closed each year, with Wilson 95% intervals. Evidential
# difficulties are outcome types 14-16; "no suspect identified" (type 18) is counted apart.

# %%
sections.national_table(ctx)

# %% tags=["figure"]
sections.national_trend_figure(ctx)
