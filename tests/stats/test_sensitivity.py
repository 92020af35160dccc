"""The Rambachan-Roth relative-magnitudes sensitivity (analysis.stats.sensitivity): against
HonestDiD's published examples, against scipy's linear programs and truncated normal, and on
data built to have a known answer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.stats import sensitivity

# --- HonestDiD's published example: Medicaid expansions ------------------------------------------
# The README of HonestDiD (github.com/asheshrambachan/HonestDiD, "Example usage - Medicaid
# expansions"; the same example in github.com/mcaceresb/stata-honestdid): a TWFE event study of
# insurance coverage (dins) on expansion in 2014, reference 2013, five pre-periods (2008-2012) and
# two post-periods (2014, 2015), errors clustered by state (43 clusters).
# MEDICAID_BETA and MEDICAID_SE: the coefficients and standard errors as printed by reghdfe in the
# Stata solution of that example (github.com/Mixtape-Sessions/Advanced-DID, Exercise 2).
# MEDICAID_SIGMA: the full covariance, which no README prints, recomputed from the published data
# (Exercises/Data/ehec_data.csv there) with the same regression and reghdfe's small-sample factor
# (N - 1)/(N - K) x G/(G - 1), K = 7 coefficients + 8 year effects; it reproduces every printed
# coefficient and standard error to the last digit (test_medicaid_covariance_is_the_published_one).
MEDICAID_BETA = np.array([-0.0052854, -0.0112973, -0.002676, -0.0014193, 0.0003397, 0.0464469, 0.0692062])
MEDICAID_SE = np.array([0.0086536, 0.0085244, 0.0071078, 0.0063271, 0.007391, 0.0091519, 0.01035])
MEDICAID_SIGMA = np.array(
    [
        [7.48848471e-05, 6.039875524e-05, 4.44461869e-05, 3.385765599e-05, 4.328013509e-05, 4.765882184e-05, 2.425129537e-05],
        [6.039875524e-05, 7.266499061e-05, 3.789328116e-05, 2.866576307e-05, 4.543321343e-05, 4.428852685e-05, 2.824655793e-05],
        [4.44461869e-05, 3.789328116e-05, 5.052050724e-05, 2.673677951e-05, 2.778193833e-05, 3.060645424e-05, 9.637548016e-06],
        [3.385765599e-05, 2.866576307e-05, 2.673677951e-05, 4.00322178e-05, 2.412860869e-05, 2.380869371e-05, 2.923901909e-06],
        [4.328013509e-05, 4.543321343e-05, 2.778193833e-05, 2.412860869e-05, 5.462665387e-05, 3.682535316e-05, 9.72297779e-06],
        [4.765882184e-05, 4.428852685e-05, 3.060645424e-05, 2.380869371e-05, 3.682535316e-05, 8.375674029e-05, 6.321403303e-05],
        [2.425129537e-05, 2.824655793e-05, 9.637548016e-06, 2.923901909e-06, 9.72297779e-06, 6.321403303e-05, 0.0001071235815],
    ]
)  # fmt: skip
FIRST, AVERAGE = np.array([1.0, 0.0]), np.array([0.5, 0.5])
# Published robust intervals (method C-LF, Delta^RM, alpha 0.05): {Mbar: (lb, ub)}
R_README = {  # HonestDiD README as it is now (three significant digits)
    0.5: (0.0241, 0.0673),
    1.0: (0.0171, 0.0720),
    1.5: (0.00859, 0.0796),
    2.0: (-0.00107, 0.0883),
}
R_README_EARLIER = {  # the same README at commit 02b541b, an earlier run of the package
    0.5: (0.0240, 0.0672),
    1.0: (0.0170, 0.0720),
    1.5: (0.00824, 0.0797),
    2.0: (-0.000916, 0.0881),
}
STATA_FIRST = {0.5: (0.024, 0.067), 1.0: (0.017, 0.072), 1.5: (0.008, 0.080), 2.0: (-0.001, 0.088)}
STATA_AVERAGE = {  # l_vec = (0.5, 0.5): the mean of the two post-period effects
    0.0: (0.041, 0.075),
    0.5: (0.033, 0.080),
    1.0: (0.020, 0.090),
    1.5: (0.006, 0.103),
    2.0: (-0.008, 0.117),
}

# --- The R package's own example data, BCdata_EventStudy (Benzarti and Carloni) -------------
# betahat and sigma of the data set shipped with the R package (as exported, 10 significant
# digits, in github.com/eohne/HonestDiD.jl test/reference.jl); four pre- and four post-periods.
# BC_R: the R package's robust intervals for the first post-period effect at Mbar 0.5-2 (as
# exported from R by github.com/anzonyquispe/honestdid tests/r_test_results.json). R's upper end
# at Mbar = 2, 0.37946, is the edge of its grid (20 standard errors of theta), not of the set.
BC_BETA = np.array(
    [0.006696351804, 0.02934503369, -0.006472972222, 0.0730149895, 0.1959611177, 0.3120639026, 0.2395415455, 0.1260425001]
)  # fmt: skip
BC_SIGMA = np.array(
    [
        [0.0008428358124, 0.0004768686777, 0.0002618051076, 0.0002354220342, 0.0001676371467, 0.0001128707663, 1.992816215e-05, -0.0001368265366],
        [0.0004768686777, 0.0006425420288, 0.0003987425007, 0.0002435515198, 0.0002201960306, 0.0001804591157, 3.84376508e-05, -2.960421989e-05],
        [0.0002618051076, 0.0003987425007, 0.0005229949602, 0.000211768609, 0.0001840722252, 0.000145852784, 7.005197403e-05, 5.952994979e-05],
        [0.0002354220342, 0.0002435515198, 0.000211768609, 0.0003089595411, 0.0001197866077, 0.0001334081317, 0.0001016335009, 0.0001079051726],
        [0.0001676371467, 0.0002201960306, 0.0001840722252, 0.0001197866077, 0.000359970436, 0.0002478818642, 0.0001749579242, 0.0001654256921],
        [0.0001128707663, 0.0001804591157, 0.000145852784, 0.0001334081317, 0.0002478818642, 0.0004263949813, 0.0002171437809, 0.0002892747871],
        [1.992816215e-05, 3.84376508e-05, 7.005197403e-05, 0.0001016335009, 0.0001749579242, 0.0002171437809, 0.0004886697861, 0.0003805322049],
        [-0.0001368265366, -2.960421989e-05, 5.952994979e-05, 0.0001079051726, 0.0001654256921, 0.0002892747871, 0.0003805322049, 0.000761739444],
    ]
)  # fmt: skip
BC_R = {
    0.5: (0.11812948578177346, 0.27158386602562062),
    1.0: (0.06723125075039843, 0.31868372530838568),
    1.5: (0.013294315120135292, 0.36958196033976071),
    2.0: (-0.042161970809571847, 0.3794577372861469),
}


def _grid_step(sigma: np.ndarray, n_pre: int, weights: np.ndarray) -> float:
    """HonestDiD's resolution: it reports the smallest and largest accepted of 1,000 points on
    +-20 standard errors of theta, so its ends lie up to one step inside the set's."""
    return 40 * float(np.sqrt(weights @ sigma[n_pre:, n_pre:] @ weights)) / 999


# How far two published runs of the same example disagree: the least-favourable critical value
# is simulated (1,000 draws), so ours, drawn differently, differs by as much.
RUN_SPREAD = max(abs(a - b) for m in R_README for a, b in zip(R_README[m], R_README_EARLIER[m]))


def _tolerance(sigma: np.ndarray, n_pre: int, weights: np.ndarray, rounding: float) -> float:
    """A published end point's resolution: the grid step, the runs' spread and its rounding."""
    return _grid_step(sigma, n_pre, weights) + RUN_SPREAD + rounding


def test_medicaid_covariance_is_the_published_one():
    assert np.sqrt(np.diag(MEDICAID_SIGMA)) == pytest.approx(MEDICAID_SE, abs=6e-8)
    assert np.allclose(MEDICAID_SIGMA, MEDICAID_SIGMA.T) and np.linalg.eigvalsh(MEDICAID_SIGMA).min() > 0


@pytest.mark.parametrize(
    ("published", "weights", "rounding"),
    [
        (R_README, FIRST, 5e-5),  # three significant digits: at most half of 0.0001
        (R_README_EARLIER, FIRST, 5e-5),
        (STATA_FIRST, FIRST, 5e-4),  # three decimals
        (STATA_AVERAGE, AVERAGE, 5e-4),
    ],
    ids=["R-now", "R-earlier", "Stata-first", "Stata-average"],
)
def test_medicaid_robust_intervals_match_the_published_ones(published, weights, rounding):
    rm = sensitivity.RelativeMagnitudes(MEDICAID_BETA, MEDICAID_SIGMA, 5, weights)
    tol = _tolerance(MEDICAID_SIGMA, 5, weights, rounding)
    assert 0.0003 < tol < 0.0013  # the resolution the comparison claims, for the record
    for mbar, (low, high) in published.items():
        ci = rm.interval(mbar)
        assert ci.low == pytest.approx(low, abs=tol), mbar
        assert ci.high == pytest.approx(high, abs=tol), mbar


@pytest.mark.parametrize("weights", [FIRST, AVERAGE], ids=["first", "average"])
def test_medicaid_breakdown_is_where_the_published_intervals_first_include_zero(weights):
    published = R_README if weights is FIRST else STATA_AVERAGE
    rm = sensitivity.RelativeMagnitudes(MEDICAID_BETA, MEDICAID_SIGMA, 5, weights)
    bd = rm.breakdown(0.0)
    excluding = [m for m, (low, _) in published.items() if low > 0]
    including = [m for m, (low, _) in published.items() if low <= 0]
    assert max(excluding) < bd < min(including)  # 1.5 < bd < 2 for both
    assert rm.interval(bd - 0.01).excludes(0.0)
    assert not rm.interval(bd + 0.01).excludes(0.0)


def test_r_package_example_with_four_post_periods():
    rm = sensitivity.RelativeMagnitudes(BC_BETA, BC_SIGMA, 4, np.array([1.0, 0, 0, 0]))
    tol = _tolerance(BC_SIGMA, 4, np.array([1.0, 0, 0, 0]), 0.0)
    for mbar, (low, high) in BC_R.items():
        ci = rm.interval(mbar)
        assert ci.low == pytest.approx(low, abs=tol), mbar
        if mbar < 2:
            assert ci.high == pytest.approx(high, abs=tol), mbar
        else:  # R's upper end is its grid's edge: the set goes further
            assert ci.high > high


def test_robust_intervals_grow_with_mbar_and_start_near_the_conventional_one():
    rm = sensitivity.RelativeMagnitudes(MEDICAID_BETA, MEDICAID_SIGMA, 5, AVERAGE)
    cis = [rm.interval(m) for m in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert all(a.low > b.low and a.high < b.high for a, b in itertools.pairwise(cis))
    # Mbar = 0 is exact parallel trends after the break: about the conventional 95% interval
    half = 1.96 * rm.theta_sd
    assert cis[0].low == pytest.approx(rm.theta_hat - half, abs=0.2 * half)
    assert cis[0].high == pytest.approx(rm.theta_hat + half, abs=0.2 * half)


def test_dual_vertices_give_the_linear_programs_optimum():
    # min eta s.t. y - X t <= eta sd, solved by scipy, against the largest vertex value
    rng = np.random.default_rng(1)
    for n_post in (1, 2, 3, 5):
        weights = rng.uniform(0.1, 1.0, n_post)
        post = sensitivity.post_moments(n_post)
        x = post @ np.linalg.svd(weights[None, :])[2][1:].T
        rays = sensitivity.extreme_rays(x)
        assert np.allclose(rays @ x, 0, atol=1e-10) and (rays >= 0).all()
        for _ in range(5):
            y, sd = rng.normal(size=len(post)), rng.uniform(0.5, 2.0, len(post))
            lp = optimize.linprog(
                c=np.r_[1.0, np.zeros(x.shape[1])],
                A_ub=-np.column_stack([sd, x]),
                b_ub=-y,
                bounds=[(None, None)] * (1 + x.shape[1]),
            )
            assert lp.status == 0
            assert ((rays @ y) / (rays @ sd)).max() == pytest.approx(lp.fun, abs=1e-8)


def test_truncated_normal_quantile_matches_scipy_far_into_the_tails():
    low = np.array([-np.inf, -1.0, 0.5, 8.0, 30.0, -4.0])
    high = np.array([1.0, 2.0, np.inf, 9.0, np.inf, -3.0])
    for p in (0.05, 0.5, 0.955):
        ours = sensitivity.truncnorm_quantile(p, low, high)
        assert ours == pytest.approx(stats.truncnorm.ppf(p, low, high), rel=1e-7)


def test_quantile_r7_is_numpys():
    x = np.random.default_rng(2).normal(size=(1000, 3))
    assert sensitivity.quantile_r7(x, 0.995) == pytest.approx(np.quantile(x, 0.995, axis=0))


def test_robust_interval_covers_under_a_violation_at_the_bound():
    # A linear difference in trends, every change 0.01, continuing after the break: on the edge
    # of Delta^RM(1). A method that ignored it would miss the mean effect about 4 times in 10.
    periods = np.delete(np.arange(-5, 3), 5)  # reference period 0 left out
    tau = np.r_[np.zeros(5), 0.03, 0.05]
    beta = 0.01 * periods + tau
    rng = np.random.default_rng(7)
    root = np.linalg.cholesky(MEDICAID_SIGMA)
    reps, missed = 300, 0
    for _ in range(reps):
        draw = beta + root @ rng.standard_normal(7)
        rm = sensitivity.RelativeMagnitudes(draw, MEDICAID_SIGMA, 5, AVERAGE)
        missed += not rm.accepts(AVERAGE @ tau[5:], 1.0)[0]
    assert missed / reps <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)


def test_summary_reports_the_interval_breakdown_and_method():
    s = sensitivity.summary(MEDICAID_BETA, MEDICAID_SIGMA, 5, AVERAGE, mbar=1.0)
    rm = sensitivity.RelativeMagnitudes(MEDICAID_BETA, MEDICAID_SIGMA, 5, AVERAGE)
    assert (s["ci_low"], s["ci_high"]) == (rm.interval(1.0).low, rm.interval(1.0).high)
    assert s["excludes_zero"] and s["breakdown_mbar"] == rm.breakdown(0.0)
    assert s["largest_pre_change"] == pytest.approx(-0.002676 + 0.0112973)  # 2009 to 2010
    assert "hybrid" in s["method"] and s["n_pre"] == 5 and s["n_post"] == 2


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="covariance"):
        sensitivity.RelativeMagnitudes(MEDICAID_BETA, MEDICAID_SIGMA, 5, np.ones(3) / 3)
    with pytest.raises(ValueError, match="pre- and post-period"):
        sensitivity.RelativeMagnitudes(MEDICAID_BETA, MEDICAID_SIGMA, 7, np.ones(0))
