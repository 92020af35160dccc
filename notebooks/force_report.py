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
# How one police force dealt with the offence in the title, beside England and Wales. Every number below is
# computed from the Home Office outcomes data (or, where it says so, generated demo data) by
# the `analysis` package; nothing is typed in by hand.

# %% tags=["parameters"]
force = "Northamptonshire"
offence = "8Q"
source = "demo"
year = ""
basis = "closed"

# %%
from analysis.reports import sections
from analysis.runs import params

p = params.check("force_report", dict(force=force, offence=offence, source=source, year=year, basis=basis))
ctx = sections.context(p["source"], p["offence"])
year = ctx.year(p["year"])
ctx.banner()

# %%
sections.figures_to_quote(ctx, p["force"], year)

# %%
sections.force_rule(p["force"])

# %%
sections.force_verdict(ctx, p["force"], year)

# %%
sections.headline_prose(ctx, p["force"], year, p["basis"])

# %% [markdown]
# ## The figures for the year
#
# Rates on the **closed basis** are shares of the investigations closed in the year (outcome
# types 1-22); rates on the **recorded basis** are shares of the offences recorded in the year,
# counted when the file was published, so recent quarters are incomplete. Intervals are Wilson 95%.

# %%
sections.force_numbers(ctx, p["force"], year)

# %% [markdown]
# ## Since the last edition
#
# Each quarter the Home Office republishes the outcomes data: earlier years come back with
# corrections and with the outcomes assigned since. What moved for this force between the data
# edition this report uses and the one before it (every force: the changes table, linked from the site's index).

# %%
sections.since_last_edition(ctx, p["force"])

# %% [markdown]
# ## Recent years still maturing
#
# On the recorded basis a year's charge rate keeps rising after the year ends, as slow
# investigations close. For each year still maturing: the rate as published, the rate it is
# expected to end at with a 95% interval, and how much of its final charges are published so far.
# These are **projections**, not published figures (how they are made: the methods page).

# %%
maturing_text, maturing_table = sections.maturing(ctx, p["force"])
maturing_text

# %%
maturing_table

# %% [markdown]
# ## Trends against England and Wales
#
# Dashed lines mark the counting-rule changes (April 2014, April 2018, April 2020). Years either
# side of April 2020 are not comparable: much of the rise in recorded stalking is harassment
# between ex-partners now recorded as stalking.

# %% tags=["figure"]
sections.force_trend_figure(ctx, p["force"])

# %%
sections.force_years_table(ctx, p["force"])

# %% [markdown]
# ## Place in the funnel plot
#
# The force's charge rate against the number of investigations it closed, with limits for what
# chance alone would produce around the national rate. The solid black lines allow for the real
# differences between forces (random-effects, tau squared); the grey lines do not.

# %%
position, funnel_figure = sections.force_funnel_position(ctx, p["force"], year)
position

# %% tags=["figure"]
funnel_figure

# %% [markdown]
# ## Shrunken rate and rank interval
#
# Small forces' rates bounce around by chance; the shrunken rate (a hierarchical model of all
# forces) pulls each towards the overall rate by as much as its uncertainty warrants, allowing
# for how uncertain the spread between forces is itself. The rank interval says how far the data
# can place the force among all forces. There is no league table: ranks this uncertain should
# not be quoted alone.

# %%
rankability, rank_table, rank_figure = sections.force_rank(ctx, p["force"], year)
rankability

# %%
rank_table

# %% tags=["figure"]
rank_figure

# %% [markdown]
# ## The April 2020 change: rise in recording and the national link
#
# The force's growth in recorded offences from 2019/20 to 2020/21 (its dose), its own change in
# charge odds after April 2020 against the change in all forces, and how far that sits from the
# national link's line for a force with its rise. Both come from one hierarchical link model,
# fitted once for all forces: a force with few cases is drawn towards the line, and its interval
# says how far. The national estimate is below.

# %%
sections.link_summary(ctx)

# %%
link_table, link_figure = sections.force_link(ctx, p["force"])
link_table

# %% tags=["figure"]
link_figure

# %% [markdown]
# ## What these data cannot tell you
#
# - Recorded crime measures what the police record, not what happens. Recording practice and
#   counting rules move these figures as much as changes in offending or policing.
# - Outcomes are counted per offence, not per victim or suspect; a closed-basis year mixes
#   offences recorded in different years.
# - "Evidential difficulties" covers very different situations (a victim who does not support
#   action, a suspect who cannot be identified, evidence that is not enough).
# - Comparing forces after April 2020 compares forces whose recording changed by different
#   amounts; none of these figures is a causal effect.
