import numpy as np
import pytest

import mi_probe
from mi_probe.estimators import MI_ESTIMATORS, get_estimator
from mi_probe.estimators.ksg import KSGEstimator
from tests._helpers import gaussian_pair


def test_estimate_mi_ksg_returns_nats():
    x, y, truth = gaussian_pair(2000, 1, 0.8, seed=1)
    r = mi_probe.estimate_mi(x, y, "ksg", random_state=0)
    assert r.estimator == "ksg" and r.n_samples == 2000
    assert abs(float(r) - truth) < 0.05


def test_instance_and_name_agree():
    x, y, _ = gaussian_pair(500, 2, 0.5, seed=2)
    a = mi_probe.estimate_mi(x, y, "ksg", n_neighbors=5, random_state=0)
    b = mi_probe.estimate_mi(x, y, KSGEstimator(n_neighbors=5, random_state=0))
    assert float(a) == float(b)
    assert "n_neighbors=5" in repr(KSGEstimator(n_neighbors=5))
    assert KSGEstimator(n_neighbors=5).get_params()["n_neighbors"] == 5


def test_init_stores_without_checking():
    est = KSGEstimator(n_neighbors=-4)  # checked only when estimate runs
    with pytest.raises(ValueError, match="n_neighbors must be >= 1, got -4"):
        est.estimate(np.zeros(10), np.zeros(10))


def test_unknown_estimator_and_parameter():
    with pytest.raises(ValueError, match="estimator must be one of .*'ksg'.*; got 'kgs'"):
        mi_probe.estimate_mi([1.0, 2.0], [1.0, 2.0], estimator="kgs")
    with pytest.raises(ValueError, match="estimator 'ksg' takes no parameter n_bins"):
        mi_probe.estimate_mi([1.0, 2.0], [1.0, 2.0], estimator="ksg", n_bins=3)
    with pytest.raises(ValueError, match="parameters were given with an estimator instance"):
        get_estimator(KSGEstimator(), n_neighbors=3)
    with pytest.raises(ValueError, match="estimator must be a name or an MIEstimator instance"):
        get_estimator(42)


def test_entropy_entry_point():
    x = np.random.default_rng(0).standard_normal((4000, 2)) * 3.0
    truth = np.log(2 * np.pi * np.e * 9.0)  # 2 * 0.5 log(2 pi e sigma^2)
    r = mi_probe.entropy(x, estimator="kl", random_state=0)
    assert abs(float(r) - truth) < 0.08
    with pytest.raises(ValueError, match="entropy estimator 'kl' takes no parameter n_bins"):
        mi_probe.entropy(x, estimator="kl", n_bins=4)
    with pytest.raises(ValueError, match="estimator must be one of"):
        mi_probe.entropy(x, estimator="nope")


def test_registry_names_cover_issue():
    for name in ("ksg", "mixed", "binning", "discrete", "kde", "gaussian"):
        assert name in MI_ESTIMATORS


def test_lazy_public_names():
    assert "attach" in dir(mi_probe)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        mi_probe.nope  # noqa: B018
