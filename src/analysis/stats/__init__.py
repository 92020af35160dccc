"""The statistics: measures and intervals, funnels, shrinkage and ranks, the decomposition, the link estimators and the method study."""
