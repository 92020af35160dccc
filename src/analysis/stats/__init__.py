"""The statistics: measures and intervals, funnels, shrinkage and ranks, the decomposition, the link estimators and the method study."""

# what a method-study replicate runs: every estimator, or the primary link estimator alone
# (about a third of the cost, for the thousands of replicates its targets need). Here, not in
# method_study, so that the command line's help need not import pandas.
BATTERIES = ("full", "primary", "headline", "nowcast")
