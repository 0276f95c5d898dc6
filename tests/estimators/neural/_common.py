"""Settings shared by the neural-estimator tests: small critics, a few hundred steps."""

from __future__ import annotations

from mi_probe.estimators.neural import infonce_mi, js_mi, mine_mi, nwj_mi, smile_mi

# 2-D Gaussian (x and y one-dimensional) with I = 0.49987 nats (rho = 0.795).
RHO = 0.795
N = 4000
# One budget for every accuracy test; measured errors at this budget are within
# 0.03 nats for every bound on seeds 0-2 (measured when these tests were written,
# before the separable default changed); the tolerance is 0.1.
FAST = dict(
    hidden_dims=(32, 32),
    max_steps=250,
    learning_rate=2e-3,
    validation_fraction=0.4,
    progress=False,
)
TOL = 0.1
SEEDS = (0, 1, 2)

# the critic-based lower bounds, by estimator name
LOWER = {"mine": mine_mi, "nwj": nwj_mi, "infonce": infonce_mi, "smile": smile_mi, "js": js_mi}
