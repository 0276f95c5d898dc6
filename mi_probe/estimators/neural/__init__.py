"""Neural and variational mutual-information estimators (PyTorch).

Contrastive lower bounds with a trained critic (:func:`mine_mi`, :func:`nwj_mi`,
:func:`infonce_mi`, :func:`smile_mi`, :func:`js_mi`), decoder-based bounds
(:func:`ba_mi` lower, :func:`club_mi` upper), and bounds for Gaussian stochastic
encoders (:func:`gaussian_encoder_kl_bound`, :func:`gaussian_encoder_mi`). All values
are in nats. The Information Dropout layer, whose KL term bounds its own I(x; z), is
:class:`mi_probe.layers.InformationDropout`.

Examples
--------
>>> import numpy as np, mi_probe
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((4000, 1))
>>> y = 0.795 * x + 0.607 * rng.standard_normal((4000, 1))  # I = 0.50 nats
>>> r = mi_probe.estimate_mi(x, y, estimator="infonce", random_state=0, progress=False)
>>> abs(r.value - 0.50) < 0.1, r.diagnostics["ceiling"] > r.value
(True, True)
"""

from .bounds import (
    dv_bound,
    infonce_bound,
    js_bound,
    js_nwj_bound,
    nwj_bound,
    smile_bound,
)
from .contrastive import (
    InfoNCEEstimator,
    JSEstimator,
    MINEEstimator,
    NWJEstimator,
    SMILEEstimator,
    infonce_mi,
    js_mi,
    mine_mi,
    nwj_mi,
    smile_mi,
)
from .critics import JointCritic, SeparableCritic, make_critic
from .variational import (
    BarberAgakovEstimator,
    CLUBEstimator,
    GaussianDecoder,
    ba_mi,
    club_mi,
    gaussian_encoder_kl_bound,
    gaussian_encoder_mi,
)

__all__ = [
    "mine_mi",
    "nwj_mi",
    "infonce_mi",
    "smile_mi",
    "js_mi",
    "MINEEstimator",
    "NWJEstimator",
    "InfoNCEEstimator",
    "SMILEEstimator",
    "JSEstimator",
    "ba_mi",
    "club_mi",
    "BarberAgakovEstimator",
    "CLUBEstimator",
    "GaussianDecoder",
    "gaussian_encoder_kl_bound",
    "gaussian_encoder_mi",
    "JointCritic",
    "SeparableCritic",
    "make_critic",
    "dv_bound",
    "nwj_bound",
    "infonce_bound",
    "smile_bound",
    "js_bound",
    "js_nwj_bound",
]

# Submodules not imported above (``mi_probe.estimators.neural.<name>``) are imported on first access.
from ..._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
