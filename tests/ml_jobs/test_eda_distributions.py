"""Fits recover the parameters of data drawn from known distributions, and choose the right count model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_jobs.eda.distributions import fit_bernoulli, fit_discrete, fit_normal
from ml_jobs.eda.profile import iqr_outliers


@settings(max_examples=15, deadline=None)
@given(st.floats(-100, 100), st.floats(0.1, 20), st.integers(0, 2**31))
def test_a_normal_fit_recovers_mean_and_sd(mean: float, sd: float, seed: int) -> None:
    # Given 4000 draws from N(mean, sd)
    values = pd.Series(np.random.default_rng(seed).normal(mean, sd, 4000))
    # When fitted; then both parameters are within 5 standard errors
    fit = fit_normal(values)
    assert abs(fit.mean - mean) < 5 * sd / np.sqrt(4000)
    assert abs(fit.std - sd) < 5 * sd / np.sqrt(2 * 4000)


def test_the_goodness_of_fit_tells_normal_from_skewed_data() -> None:
    rng = np.random.default_rng(3)
    assert fit_normal(pd.Series(rng.normal(0, 1, 3000))).p_value > 0.01
    skewed = fit_normal(pd.Series(rng.exponential(1.0, 3000)))
    assert skewed.p_value < 0.001
    assert skewed.skew > 1


@settings(max_examples=15, deadline=None)
@given(st.floats(0.5, 30), st.integers(0, 2**31))
def test_poisson_data_is_fitted_as_poisson_with_its_rate(rate: float, seed: int) -> None:
    # Given 5000 Poisson counts; when fitted; then Poisson is chosen (dispersion about 1) and its rate recovered
    fit = fit_discrete(pd.Series(np.random.default_rng(seed).poisson(rate, 5000)))
    assert abs(fit.poisson_lambda - rate) < 5 * np.sqrt(rate / 5000)
    assert abs(fit.dispersion - 1) < 0.15


def test_binomial_data_is_fitted_as_binomial_with_its_n_and_p() -> None:
    # Given 20000 draws from Binomial(12, 0.4): variance below the mean
    fit = fit_discrete(pd.Series(np.random.default_rng(5).binomial(12, 0.4, 20_000)))
    # Then the binomial wins on AIC and its parameters come back
    assert fit.distribution == "binomial"
    assert fit.aic_binomial < fit.aic_poisson
    assert fit.binomial_n == 12
    assert abs(fit.binomial_p - 0.4) < 0.01
    assert "under-dispersed" in fit.reason


def test_negative_whole_numbers_get_no_count_model() -> None:
    assert fit_discrete(pd.Series([-3, -1, 0, 2, 5])).distribution == "none"


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 0.95), st.integers(0, 2**31))
def test_a_bernoulli_fit_covers_p(p: float, seed: int) -> None:
    # Given yes/no draws with P(yes) = p; then the estimate is close and its 95% interval is sane
    draws = np.where(np.random.default_rng(seed).random(3000) < p, "yes", "no")
    fit = fit_bernoulli(pd.Series(draws))
    assert fit.positive == "yes"
    assert abs(fit.p - p) < 5 * np.sqrt(p * (1 - p) / 3000)
    assert fit.low < fit.p < fit.high


def test_iqr_outliers_count_what_lies_beyond_the_fences() -> None:
    # Given 1..100 plus two far values; then exactly those two are outside Q1 - 1.5 IQR and Q3 + 1.5 IQR
    values = pd.Series([*range(1, 101), -500, 900, None])
    assert iqr_outliers(values)["outliers"] == 2
