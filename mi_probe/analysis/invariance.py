"""How invariant is each layer to a nuisance? ``I(z; n)`` per layer, with its null level.

A nuisance is a factor of the input that should not matter for the task: the position
of an occluding patch, a rotation angle, a brightness offset, the recording session...
:func:`invariance` probes the layers of a model and reports, per layer ``z``:

* ``I_zn``: the information the layer keeps about the nuisance, with ``I_zn_null``, the
  95% level of a permutation test (shuffled ``n``): below it, "invariant" and "estimator
  noise" cannot be told apart;
* ``invariance = 1 - I(z; n) / I(x; n)``: the fraction of the input's nuisance
  information that the layer has discarded (0 at the input, 1 for a fully invariant
  layer), with a half-sample interval;
* ``I_zy`` (labels) and ``I_zx``, and the Achille & Soatto bound
  ``I(z; n) <= I(z; x) - I(x; y)`` checked per layer.

References
----------
.. [1] A. Achille, S. Soatto, "Emergence of invariance and disentanglement in deep
   representations", JMLR 19 (2018), Proposition 3.1.
.. [2] B. C. Ross, "Mutual information between discrete and continuous data sets",
   PLoS ONE 9 (2014) (the estimator for discrete nuisances and labels).
.. [3] A. Kraskov, H. Stoegbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from .._deps import require
from .._progress import progress
from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_random_state,
    check_same_samples,
    is_tensor,
    named_kwargs,
    subsample_index,
)
from ._nuisance import (
    AdditiveNoise,
    Brightness,
    CallableNuisance,
    Gain,
    Masking,
    NoiseSNR,
    Nuisance,
    Occlusion,
    Phase,
    Polarity,
    Rotation,
    TimeShift,
    Translation,
    as_nuisance,
    per_sample_values,
)

__all__ = [
    "invariance",
    "Nuisance",
    "Occlusion",
    "Rotation",
    "Translation",
    "AdditiveNoise",
    "Brightness",
    "Gain",
    "NoiseSNR",
    "TimeShift",
    "Polarity",
    "Phase",
    "Masking",
    "CallableNuisance",
    "COLUMNS",
    "ESTIMATORS",
    "TARGET_ESTIMATORS",
]

# the label of invariance()'s per-layer progress lines; report() sets it to name the
# nuisance and its place among the report's nuisances (private, not an argument)
_PROGRESS_DESC: ContextVar[str | None] = ContextVar("_PROGRESS_DESC", default=None)

COLUMNS = ("layer", "I_zn", "I_zy", "I_zx", "invariance", "I_zn_null")
ESTIMATORS = ("ksg", "gaussian", "binning")
_MAX_DISCRETE = 32  # distinct values up to which an integer-valued nuisance is a label


def _check_finite_x(x: torch.Tensor) -> None:
    """Reject NaN and inf inputs (the recorder's message): they would be dropped silently."""
    if x.dtype.is_floating_point or x.is_complex():
        if bool(torch.isnan(x).any()):
            raise ValueError("x contains NaN")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains inf")


def _materialize(data: Any, targets: Any) -> tuple[torch.Tensor, np.ndarray | None]:
    """(x tensor, raw targets or None) from a tensor, an array, an (x, y) tuple or a DataLoader.

    ``x`` is checked for NaN and inf. Targets come back as a numpy array (first axis =
    samples), not yet classified as labels or continuous values (:func:`_prepare_targets`).
    """
    y: Any = None
    if isinstance(data, torch.utils.data.DataLoader):
        xs, ys = [], []
        for batch in data:
            if isinstance(batch, (tuple, list)):
                xs.append(torch.as_tensor(batch[0]))
                if len(batch) > 1:
                    ys.append(torch.as_tensor(batch[1]))
            else:
                xs.append(torch.as_tensor(batch))
        if not xs:
            raise ValueError("data has no rows")
        x = torch.cat(xs)
        y = torch.cat(ys).numpy() if ys and len(ys) == len(xs) else None
    elif isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(f"data as a tuple must be (x, y), got {len(data)} elements")
        x, y = data
    else:
        x = data
    if not is_tensor(x):
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"data must hold numbers, got dtype {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(arr))
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError("data has no rows")
    _check_finite_x(x)
    if targets is not None:
        y = targets
    if y is not None:
        y = np.asarray(y.detach().cpu().numpy() if is_tensor(y) else y)
        if y.ndim == 0:
            raise ValueError("targets must have one entry per sample, got a scalar")
        check_same_samples(x.shape[0], y.shape[0], "data", "targets")
    return x, y


# float targets with integer values and at most this many distinct rows count as labels
_MAX_AUTO_CLASSES = 256


def _prepare_targets(y: np.ndarray, discrete_y: Any) -> tuple[np.ndarray, bool]:
    """(values, discrete): labels as (n, 1) int64 symbols 0..K-1, or continuous (n, p) floats.

    ``discrete_y="auto"``: integer or bool dtype, or floats with integer values and at
    most ``min(256, n / 2)`` distinct rows, are labels; other floats are continuous.
    """
    from .._validation import check_labels, encode_rows

    if discrete_y == "auto":
        if y.dtype.kind in "biu":
            discrete = True
        elif y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            k = np.unique(y.reshape(y.shape[0], -1), axis=0).shape[0]
            discrete = k <= min(_MAX_AUTO_CLASSES, max(2, y.shape[0] // 2))
        else:
            discrete = False
    else:
        discrete = bool(discrete_y)
    if discrete:
        sym, _ = encode_rows(check_labels(y.reshape(y.shape[0], -1), "targets"))
        return sym.reshape(-1, 1), True
    return check_array(y.reshape(y.shape[0], -1), "targets", min_samples=1), False


def _activation_matrix(a: Any, name: str, n_all: int) -> np.ndarray:
    """One collected activation as (n, features) float32/float64, finite, n_all rows."""
    if is_tensor(a):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains inf")
    check_same_samples(n_all, arr.shape[0], "data", name)
    return arr


def _select_activations(activations: Any, layers: Any, n_all: int) -> OrderedDict[str, Any]:
    """The probed layers' collected activations, in the order given, checked."""
    if not isinstance(activations, Mapping) or not activations:
        raise ValueError(
            "activations must be a non-empty dict {layer: array (n_samples, ...)}, e.g. the "
            f"result of Probe.collect; got {type(activations).__name__}"
        )
    keys = [str(k) for k in activations]
    if isinstance(layers, str) and layers == "all":
        names = keys
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
        for name in names:
            if not isinstance(name, str) or name not in keys:
                raise ValueError(
                    f"layers: {name!r} is not in activations; it has: "
                    + ", ".join(repr(k) for k in keys)
                )
    by_key = {str(k): v for k, v in activations.items()}
    return OrderedDict(
        (name, _activation_matrix(by_key[name], f"activations[{name!r}]", n_all)) for name in names
    )


def _reduce(a: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """Top principal components (constant columns dropped); (n, min(k, rank)), float64.

    Exact PCA scores from the smaller of the two Gram matrices: ``A A^T`` (n x n) for a
    layer wider than the sample, ``A^T A`` (d x d) otherwise, accumulated in float64
    (an n x width float32 layer is never copied whole to float64). A component's sign is
    arbitrary, which no estimator here sees (a sign flip is an invertible map).
    ``seed`` is kept for the signature; the result is deterministic.
    """
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    a = a[:, a.std(axis=0) > 0]
    if a.shape[1] == 0:
        return np.zeros((a.shape[0], 1))
    if a.shape[1] <= n_components:
        return a.astype(np.float64)
    n, d = a.shape
    k = min(n_components, n - 1)
    mean = a.mean(axis=0, dtype=np.float64)
    if d > n:
        c = a - mean.astype(a.dtype)
        gram = np.zeros((n, n))
        step = max(1, (1 << 24) // max(n, 1))  # column blocks of ~16M entries
        for j in range(0, d, step):
            blk = np.asarray(c[:, j : j + step], dtype=np.float64)
            gram += blk @ blk.T
        w, v = np.linalg.eigh(gram)
        order = np.argsort(w)[::-1][:k]
        return v[:, order] * np.sqrt(np.clip(w[order], 0.0, None))
    c = np.asarray(a, dtype=np.float64) - mean
    w, v = np.linalg.eigh(c.T @ c)
    order = np.argsort(w)[::-1][:k]
    return c @ v[:, order]


def _n_distinct_rows(values: np.ndarray) -> int:
    row = np.dtype((np.void, values.dtype.itemsize * values.shape[1]))
    return int(np.unique(np.ascontiguousarray(values).view(row)).size)


def _is_discrete(values: np.ndarray, n_discrete: Any) -> bool:
    if n_discrete != "auto":
        return bool(n_discrete)
    if not np.all(values == np.round(values)):
        return False
    return _n_distinct_rows(values) <= _MAX_DISCRETE


def _dequantize(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Spread tied continuous-treated values uniformly over their grid cell.

    A nuisance with many repeated values (occlusion positions, pixel shifts) breaks the
    k-NN estimators' no-ties assumption. Adding ``U(-h/2, h/2)`` noise, with ``h`` the
    smallest gap between distinct values of the column, is the usual dequantisation:
    ``I(z; n + u) <= I(z; n)`` by data processing, and the null level stays at ~0.
    """
    if 1.0 - _n_distinct_rows(values) / values.shape[0] <= 0.05:
        return values, False
    out = values.astype(np.float64, copy=True)
    for j in range(values.shape[1]):
        u = np.unique(values[:, j])
        h = float(np.min(np.diff(u))) if u.size > 1 else 1.0
        out[:, j] += h * (rng.uniform(size=values.shape[0]) - 0.5)
    return out, True


def _onehot(labels: np.ndarray) -> np.ndarray:
    from .._validation import encode_rows

    sym, k = encode_rows(labels)
    out = np.zeros((labels.shape[0], max(k - 1, 1)))
    for j in range(k - 1):
        out[:, j] = sym == j
    return out


class _MI:
    """I(z; t) with one estimator, for discrete or continuous t; returns raw nats."""

    def __init__(self, estimator: str, n_neighbors: int, n_bins: int) -> None:
        self.estimator = estimator
        self.k = n_neighbors
        self.n_bins = n_bins

    def name(self, discrete: bool) -> str:
        if self.estimator == "ksg":
            return "mixed (Ross k-NN)" if discrete else "ksg"
        return self.estimator

    def __call__(self, z: np.ndarray, t: np.ndarray, discrete: bool, seed: int) -> float:
        if z.std(axis=0).max() == 0:
            return 0.0
        if self.estimator == "ksg":
            if discrete:
                from ..estimators.mixed import mixed_mi

                r = mixed_mi(z, t.astype(np.int64), n_neighbors=self.k, random_state=seed)
            else:
                from ..estimators.ksg import ksg_mi

                r = ksg_mi(z, t, n_neighbors=self.k, random_state=seed)
        elif self.estimator == "binning":
            from ..estimators.binning import binning_mi

            r = binning_mi(
                z, t.astype(np.int64) if discrete else t, n_bins=self.n_bins, y_discrete=discrete
            )
        else:
            from ..estimators.gaussian import gaussian_mi

            z = z[:, z.std(axis=0) > 0]
            r = gaussian_mi(z, _onehot(t) if discrete else t, regularization=1e-6)
        d = r.diagnostics
        value = float(d.get("raw_value", r.value))
        if d.get("unclamped_value") is not None:  # an estimator that clamps at its ceiling
            value = max(value, float(d["unclamped_value"]))
        return value


def _label_entropy(codes: np.ndarray) -> float:
    """Plug-in entropy H(y) in nats of integer symbols (n,) or (n, 1)."""
    counts = np.bincount(np.asarray(codes, dtype=np.int64).reshape(-1))
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


class _TargetInfo:
    """``I(z; y)`` for the targets: the table's estimator or usable information.

    Discrete ``y``: the estimate is clamped into ``[0, H(y)]`` (``H(y)`` plug-in, the
    exact ceiling on the sample) and ``clamped`` says when it was above the ceiling.
    """

    def __init__(
        self,
        mi: _MI,
        target_estimator: str,
        y: np.ndarray,
        discrete: bool,
        n_folds: int = 5,
    ) -> None:
        self.estimator = target_estimator
        self.mi = mi if target_estimator == mi.estimator else _MI(target_estimator, mi.k, mi.n_bins)
        self.y = y
        self.discrete = discrete
        self.n_folds = n_folds
        self.ceiling = _label_entropy(y) if discrete else float("inf")

    def name(self) -> str:
        if self.estimator == "usable":
            fam = "logistic regression" if self.discrete else "linear-Gaussian regression"
            return f"usable information ({fam}, {self.n_folds}-fold cross-fitted, lower bound)"
        return self.mi.name(self.discrete)

    def __call__(self, raw: np.ndarray, reduced: np.ndarray, seed: int) -> dict[str, Any]:
        low = high = float("nan")
        if self.estimator == "usable":
            from ..estimators.usable import usable_information

            keep = raw.std(axis=0) > 0
            if not keep.any():
                value = 0.0
            else:
                r = usable_information(
                    raw[:, keep],
                    self.y.reshape(-1) if self.discrete else self.y,
                    n_folds=self.n_folds,
                    discrete_y=self.discrete,
                    n_permutations=0,
                    random_state=seed,
                )
                value = float(r.diagnostics.get("raw_value", r.value))
                if r.interval is not None:
                    low, high = (float(v) for v in r.interval)
        else:
            value = self.mi(reduced, self.y, self.discrete, seed)
        clamped = bool(value > self.ceiling + 1e-9)
        out = min(max(value, 0.0), self.ceiling)
        if np.isfinite(low):
            low, high = min(max(low, 0.0), self.ceiling), min(max(high, 0.0), self.ceiling)
        return {"value": out, "raw": value, "low": low, "high": high, "clamped": clamped}


def _half_indices(n: int, n_resamples: int, rng: np.random.Generator) -> list[np.ndarray]:
    seeds = rng.integers(0, 2**31 - 1, size=n_resamples)
    return [np.random.default_rng(int(s)).choice(n, size=n // 2, replace=False) for s in seeds]


def _row_flags(
    z: np.ndarray, values: np.ndarray, full: float, half: list[float], null: float | None
) -> dict[str, Any]:
    """Reliability columns of one row (see :func:`mi_probe.estimators.reliability.flags_for`).

    ``unstable_in_n``: the half-sample estimates of I(z;n) drift from the full one by
    more than max(0.05 nats, 10%, 3 sd of the halves); ``few_samples_for_dim`` and
    ``many_ties`` as for any estimate; ``not_above_null``: I(z;n) at or below the
    permutation null; ``warning``: the serious flags that are set.
    """
    from ..estimators.reliability import SERIOUS_FLAGS, sample_flags

    out: dict[str, Any] = sample_flags(z, np.asarray(values, dtype=float).reshape(len(values), -1))
    out.pop("tie_fraction", None)
    if len(half) > 1:
        h = np.asarray(half)
        drift = abs(full - float(h.mean()))
        out["unstable_in_n"] = bool(drift > max(0.05, 0.1 * abs(full), 3.0 * float(h.std(ddof=1))))
    else:
        out["unstable_in_n"] = None
    out["not_above_null"] = None if null is None else bool(full <= null)
    out["warning"] = ", ".join(f for f in SERIOUS_FLAGS if out.get(f))
    return out


def _add_warning(flags: dict[str, Any], name: str) -> None:
    flags["warning"] = ", ".join(w for w in (flags.get("warning") or "", name) if w)


# a layer's excess over the input's own I(x; n) below max(this many nats, 10% of it, the
# estimates' half-sample spread) is estimator noise, not flagged
_DPI_TOLERANCE = 0.05
TARGET_ESTIMATORS = ("usable", "ksg", "gaussian", "binning")


@named_kwargs
def invariance(
    model: torch.nn.Module | None,
    data: Any,
    layers: Any = "all",
    nuisance: Any = None,
    *,
    activations: Mapping[str, Any] | None = None,
    targets: Any = None,
    discrete_y: bool | str = "auto",
    estimator: str = "ksg",
    target_estimator: str | None = None,
    n_components: int = 10,
    n_neighbors: int = 3,
    n_bins: int = 10,
    n_permutations: int = 20,
    n_resamples: int = 10,
    include_input: bool = True,
    max_samples: int | None = 2000,
    batch_size: int = 512,
    n_discrete: bool | str = "auto",
    random_state: Any = 0,
    progress_bar: bool = False,
) -> Any:
    """Per-layer nuisance information ``I(z; n)``, invariance score and null level.

    Parameters
    ----------
    model : torch.nn.Module or None
        The network; it is not changed (weights, train/eval flags, ``requires_grad``
        and the torch RNG are as before; transforms draw from numpy). Not run (and may
        be None) when ``activations`` are given.
    data : tensor, array, (x, y) tuple or DataLoader
        Inputs (first axis = samples); labels from a tuple or loader give ``I_zy``.
        NaN or inf inputs are refused.
    layers : str, module, type or list of them, default "all"
        Layers to probe (see :func:`mi_probe.attach`); with ``activations``, names
        (keys) of the activations to use, ``"all"`` for every key.
    nuisance : str, Nuisance, callable or array-like
        Either per-sample nuisance values ``(n_samples,)`` or ``(n_samples, k)``
        (integers with at most 32 distinct rows are treated as discrete), or a
        transform family applied to the inputs with a random parameter per sample.
        Images: ``"occlusion"`` (patch row, column, size), ``"rotation"`` (angle,
        degrees), ``"translation"`` (dy, dx pixels). 1-D signals ``(n, L)`` or
        ``(n, C, L)``: ``"time_shift"`` (samples), ``"phase"`` (radians). Any input:
        ``"noise"`` (additive Gaussian noise std), ``"snr"`` (noise at a signal-to-noise
        ratio, dB), ``"gain"`` (dB), ``"polarity"`` (sign), ``"brightness"`` (additive
        offset), ``"masking"`` (fraction of values zeroed). Or an instance of those
        classes with your ranges (``Rotation(max_degrees=30)``, ``Gain(max_db=6)``), or
        a callable ``fn(x, rng) -> (x_transformed, params)`` drawing from the numpy
        ``rng``. An image transform refuses inputs that are not images.
    activations : dict {layer: array (n_samples, ...)}, optional
        Activations already collected on ``data`` (e.g. by
        :meth:`mi_probe.probes.Probe.collect`), one row per sample in the order of
        ``data``, so that a large model runs once for several analyses. Only with
        per-sample ``nuisance`` values (a transform changes the inputs, so the model
        must see them).
    targets : array-like, optional
        Targets (override labels found in ``data``): class labels or continuous values
        ``(n_samples,)`` or ``(n_samples, p)``.
    discrete_y : {"auto", True, False}, default "auto"
        Whether the targets are class labels. ``"auto"``: integer or bool dtype, or
        floats with integer values and at most ``min(256, n / 2)`` distinct rows.
    estimator : {"ksg", "gaussian", "binning"}, default "ksg"
        ``"ksg"``: KSG k-NN for continuous nuisances and targets, Ross's k-NN estimator
        for discrete ones. ``"gaussian"``: the Gaussian (linear) estimator (labels
        one-hot). ``"binning"``: plug-in on ``n_bins`` uniform bins.
    target_estimator : {"usable", "ksg", "gaussian", "binning"} or None, default None
        Estimator of ``I_zy`` and ``I_xy`` (None: ``estimator``). ``"usable"``: usable
        information (:func:`mi_probe.estimators.usable.usable_information`: held-out
        cross-entropy of a cross-fitted logistic regression for labels, of a Gaussian
        linear regression for continuous targets) on the full layer, a lower bound on
        ``I(z; y)`` that does not saturate at ``H(y)`` on a deterministic layer.
    n_components : int, default 10
        Each layer (and the input) is reduced to its top principal components before
        estimation. By data processing ``I(PCA(z); n) <= I(z; n)``: the reported
        values are lower bounds on the layer's information in high dimension.
    n_neighbors : int, default 3
        k of the k-NN estimators.
    n_bins : int, default 10
        Bins per component for ``I_zx`` (and for ``estimator="binning"``).
    n_permutations : int, default 20
        Shuffles of ``n`` for the null level ``I_zn_null`` (95% quantile) and p-value.
    n_resamples : int, default 10
        Half-size subsamples for the intervals of ``I_zn`` and of the invariance score
        (0 to skip).
    include_input : bool, default True
        Add a row ``layer="input"`` for the (transformed) input itself.
    max_samples : int or None, default 2000
        Seeded subsample of the data (k-NN cost grows as n log n per estimate).
    batch_size : int, default 512
    n_discrete : {"auto", True, False}
        Whether per-sample or drawn nuisance values are discrete labels.
    random_state : None, int or numpy Generator, default 0
        Seed of the subsample, the transforms, the permutations and the estimators.
    progress_bar : bool, default False
        Progress on stderr while collecting activations, and per layer while the
        nuisance information, its null and its resamples are measured (the long part).

    Returns
    -------
    pandas.DataFrame
        One row per layer (input first) with columns ``layer, I_zn, I_zy, I_zx,
        invariance, I_zn_null`` (nats; invariance unitless, in [0, 1] or NaN) and, after
        them, ``invariance_low``, ``invariance_high`` (interval), ``invariance_note``
        (why a score is undefined or its reference was raised; empty otherwise),
        ``I_zn_low``, ``I_zn_high``, ``I_zn_p_value``, ``I_xn`` (the reference: the
        input's nuisance information, see Notes), ``I_xn_input`` (the estimate on the
        input's own components), ``I_xn_source`` (the row the reference comes from),
        ``dpi_violation`` (this row's ``I_zn`` exceeds ``I_xn_input``), ``I_xy``,
        ``I_zy_low``, ``I_zy_high`` (usable information's interval, else NaN),
        ``I_zy_ceiling`` (``H(y)`` for labels), ``I_zy_clamped`` (the estimate was
        above it and was clamped), ``bound`` (``I_zx - I_xy``), ``bound_ok``,
        ``n_features``, ``n_components``, ``nuisance``, ``estimator``, ``n_samples``,
        and the reliability flags ``few_samples_for_dim``, ``many_ties``,
        ``unstable_in_n``, ``not_above_null``, ``warning``.
        ``df.attrs["settings"]`` records every setting and the estimator per column.

    Raises
    ------
    ValueError
        Bad options, NaN or inf in the inputs or activations, data, targets,
        activations or nuisance values of the wrong length, a transform that does not
        fit the data's shape, a transform nuisance with ``activations``, or an unknown
        layer.

    Warns
    -----
    RuntimeWarning
        A layer's ``I(z; n)`` exceeds the input's own estimate (data processing
        violated by the estimates), or an ``I(z; y)`` estimate exceeded ``H(y)`` and was
        clamped.

    Notes
    -----
    * The reference ``I(x; n)``. Every layer is a function of ``x``, so by data
      processing ``I(x; n) >= I(z; n)`` for each of them. The estimate on the input's
      top principal components (``I_xn_input``) can read far less than that (the
      nuisance may live in low-variance directions of the raw input, such as the noise
      level of a signal), and then layers show ``I(z; n) > I(x; n)``, which cannot be.
      The reference ``I_xn`` is therefore the largest estimate over the input and
      all probed layers: each is an estimate of a lower bound on ``I(x; n)``, and the
      largest is the tightest. Rows whose ``I_zn`` exceeds ``I_xn_input`` by more than
      ``max(0.05 nats, 10% of I_xn_input, 1.96 sd of the difference over the half-size
      subsamples)`` (estimator noise below that) are flagged
      ``dpi_violation``, named in ``warning`` and in ``invariance_note``, and a
      ``RuntimeWarning`` is emitted.
    * ``invariance = 1 - I_zn / I_xn`` is then in [0, 1] (0 for the row that sets the
      reference, and 0 for the input row by definition, whose note says when its own
      estimate under-reads the reference); its interval comes from the same half-size subsamples for every row
      (the reference recomputed per subsample), clipped to [0, 1]. It is NaN, with the
      reason in ``invariance_note``, when the reference is not above its permutation
      null: there is no detectable nuisance information to be invariant to.
    * ``I_zx``: for a deterministic layer on a finite data set ``I(x; z)`` is the
      entropy of ``z`` (infinite for continuous z). It is reported as
      ``H(bin(PCA(z)))`` with ``n_bins`` uniform bins, the convention of the
      information-plane literature; it cannot exceed ``log n``.
    * ``I_zy`` of class labels is clamped into ``[0, H(y)]`` (plug-in ``H(y)`` of the
      sample: no estimate of ``I(z; y)`` can exceed it); ``I_zy_clamped`` says when an
      estimate (e.g. the Gaussian one on one-hot labels) was above it.
    * The bound ``I(z; n) <= I(z; x) - I(x; y)`` (Achille & Soatto 2018) holds for a
      representation that is sufficient for y when n and y are independent; with the
      binned ``I_zx`` it is usually loose. ``bound_ok`` reports whether it holds.
    * A continuous nuisance with many tied values (occlusion positions, pixel shifts) is
      dequantised (uniform noise over its grid cell; ``settings["nuisance_dequantized"]``)
      so that the k-NN estimators see no ties; this can only lower ``I_zn``.
    * ``I_zn_null`` is the level that shuffled (independent) nuisances reach: a layer
      with ``I_zn <= I_zn_null`` carries no detectable nuisance information. It is a
      per-row level (each row tested alone; ``I_zn_p_value`` likewise).
    * Whether the reference ``I_xn`` is above chance (the score defined) is a
      max-statistic permutation test: the reference is the largest estimate over the
      rows, so it is compared with ``settings["I_xn_null"]``, the 95% quantile over the
      permutations (shared by all rows) of each permutation's largest estimate over the
      rows, not with one row's null. A nuisance unrelated to the data is then called
      defined about 5% of the time whatever the number of layers (a random 4-level
      "session" on a 7-row conv net, seeds 0-99: 4 of 100 with this test, 31 of 100
      when the largest of the rows was compared with one row's null).
      ``settings["I_xn_p_value"]`` is its p-value; the invariance scores are NaN when
      the reference is not above ``settings["I_xn_null"]``.

    Examples
    --------
    >>> import torch, mi_probe
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU())
    >>> x = torch.rand(300, 8, 8)
    >>> df = mi_probe.invariance(net, x, layers=["2"], nuisance="brightness",
    ...                          n_permutations=5, n_resamples=0)
    >>> list(df.columns[:6])
    ['layer', 'I_zn', 'I_zy', 'I_zx', 'invariance', 'I_zn_null']

    Activations collected once, reused with per-sample nuisance values:

    >>> with mi_probe.attach(net, ["2"]) as probe:
    ...     acts = probe.collect(x, progress_bar=False)
    >>> offset = torch.rand(300)
    >>> df = mi_probe.invariance(None, x + offset[:, None, None], nuisance=offset.numpy(),
    ...                          activations=acts, n_permutations=5, n_resamples=0)
    """
    pd = require("pandas", "the invariance table")
    check_choice(estimator, "estimator", ESTIMATORS)
    if target_estimator is not None:
        check_choice(target_estimator, "target_estimator", TARGET_ESTIMATORS)
    check_choice(discrete_y, "discrete_y", ("auto", True, False))
    n_components = check_int(n_components, "n_components", low=1)
    n_neighbors = check_int(n_neighbors, "n_neighbors", low=1)
    n_bins = check_int(n_bins, "n_bins", low=2)
    n_permutations = check_int(n_permutations, "n_permutations", low=0)
    n_resamples = check_int(n_resamples, "n_resamples", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    check_choice(n_discrete, "n_discrete", ("auto", True, False))
    if max_samples is not None:
        max_samples = check_int(max_samples, "max_samples", low=10)
    if nuisance is None:
        raise ValueError(
            "nuisance is required: per-sample values, a transform name, a Nuisance or a callable"
        )
    if activations is None and not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    rng = check_random_state(random_state)

    x, y_raw = _materialize(data, targets)
    n_all = x.shape[0]
    family = as_nuisance(nuisance)
    if family is not None and activations is not None:
        raise ValueError(
            f"nuisance {family.name!r} is a transform of the inputs, but activations were "
            "collected on the untransformed inputs: pass the model without activations, or "
            "transform the data yourself and pass the per-sample nuisance values"
        )
    given = _select_activations(activations, layers, n_all) if activations is not None else None
    values = None
    if family is None:
        values = per_sample_values(nuisance, "nuisance", n_all)
    idx = subsample_index(n_all, max_samples, rng)
    x = x[torch.as_tensor(idx)]
    y, y_discrete = (None, True) if y_raw is None else _prepare_targets(y_raw[idx], discrete_y)
    if family is not None:
        x, values = family(x, rng)
        nuisance_name = family.name
    else:
        assert values is not None  # family is None: per-sample values were given
        values = values[idx]
        nuisance_name = "n"
    assert values is not None
    n = x.shape[0]
    if n <= n_neighbors + 1:
        raise ValueError(
            f"n_neighbors={n_neighbors} needs more than {n_neighbors + 1} samples, got {n}"
        )
    discrete = _is_discrete(values, n_discrete)
    dequantized = False
    if not discrete:
        values, dequantized = _dequantize(values, rng)

    if given is not None:
        acts: Mapping[str, Any] = OrderedDict((k, v[idx]) for k, v in given.items())
    else:
        from ..probes import attach

        assert model is not None  # checked above when activations is None
        with attach(model, layers) as probe:
            acts = probe.collect(x, batch_size=batch_size, progress_bar=progress_bar)

    seed = int(rng.integers(0, 2**31 - 1))
    raws: OrderedDict[str, np.ndarray] = OrderedDict()
    raws["input"] = x.reshape(n, -1).double().cpu().numpy()
    for name, t in acts.items():
        a = t.numpy() if is_tensor(t) else np.asarray(t)
        raws[name] = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    reps = OrderedDict((name, _reduce(a, n_components, seed)) for name, a in raws.items())

    mi = _MI(estimator, n_neighbors, n_bins)
    target = (
        _TargetInfo(mi, target_estimator or estimator, y, y_discrete) if y is not None else None
    )
    n_ceiling = _label_entropy(_onehot_symbols(values)) if discrete else float("inf")
    halves = _half_indices(n, n_resamples, np.random.default_rng(seed)) if n_resamples else []
    perm_seeds = np.random.default_rng(seed + 1).integers(0, 2**31 - 1, size=n_permutations)
    from ..estimators.binning import binning_entropy

    def nuisance_info(z: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        full = mi(z, values, discrete, seed)
        half = np.array([mi(z[h], values[h], discrete, seed) for h in halves])
        null = np.array(
            [
                mi(z, values[np.random.default_rng(int(s)).permutation(n)], discrete, int(s))
                for s in perm_seeds
            ]
        )
        return full, half, null

    desc = _PROGRESS_DESC.get() or (
        f"invariance ({nuisance_name if family is not None else 'per-sample nuisance'}): layers"
    )
    stats = {
        name: nuisance_info(z)
        for name, z in progress(reps.items(), total=len(reps), desc=desc, enabled=progress_bar)
    }
    fulls = {name: min(max(st[0], 0.0), n_ceiling) for name, st in stats.items()}

    # the reference I(x; n): the largest lower-bound estimate over the input and the layers
    source = max(fulls, key=lambda k: fulls[k])
    i_xn = fulls[source]
    i_xn_input = fulls["input"]
    # Is the reference above chance? It is a maximum over rows, so its null is the maximum
    # over rows too: the permutations are shared by all rows, and each one's largest
    # (clipped) estimate is a draw of the reference under independence (a max-statistic
    # test, family-wise over the rows; one row's null would be beaten by chance far more
    # often than 5% of the time)
    null_max = (
        np.clip(np.vstack([st[2] for st in stats.values()]), 0.0, n_ceiling).max(axis=0)
        if n_permutations
        else np.zeros(0)
    )
    i_xn_null = float(np.quantile(null_max, 0.95)) if n_permutations else 0.0
    i_xn_p_value = (
        (1.0 + float(np.sum(null_max >= i_xn))) / (1.0 + null_max.size)
        if n_permutations
        else float("nan")
    )
    defined = i_xn > max(i_xn_null, 0.0)
    ref_half = (
        np.max(np.clip(np.vstack([st[1] for st in stats.values()]), 0.0, n_ceiling), axis=0)
        if halves
        else np.zeros(0)
    )
    sd_in = float(np.std(stats["input"][1], ddof=1)) if len(halves) > 1 else 0.0

    tys: dict[str, dict[str, Any]] = {}
    if target is not None:
        tys = {name: target(raws[name], z, seed) for name, z in reps.items()}
    i_xy = tys["input"]["value"] if target is not None else float("nan")
    zq = float(norm.ppf(0.975))

    rows = []
    violations, clamped_rows = [], []
    for name, z in reps.items():
        if name == "input" and not include_input:
            continue
        full, half, nulls = stats[name]
        i_zn = fulls[name]
        null = float(np.quantile(nulls, 0.95)) if n_permutations else float("nan")
        p_value = (
            (1.0 + float(np.sum(nulls >= full))) / (1.0 + nulls.size)
            if n_permutations
            else float("nan")
        )
        ty = tys.get(name)
        i_zx = float(binning_entropy(z, n_bins=n_bins).value)
        sd_z = float(np.std(half, ddof=1)) if half.size > 1 else 0.0
        tol = max(
            _DPI_TOLERANCE,
            0.1 * i_xn_input,
            zq * float(np.hypot(sd_z, sd_in)) / np.sqrt(2.0),
        )
        violation = bool(name != "input" and i_zn - i_xn_input > tol)
        notes = []
        if defined and name == "input":
            score = lo = hi = 0.0  # the input keeps its own information, by definition
            if source != "input":
                notes.append(
                    f"the input's own estimate I(x;n) = {i_xn_input:.3g} nats under-reads it: "
                    f"layer {source!r} reads {i_xn:.3g} (the reference)"
                )
        elif defined:
            score = 1.0 - i_zn / i_xn
            ok = ref_half > 0
            if ok.sum() > 0:
                s_half = 1.0 - np.clip(half[ok], 0.0, n_ceiling) / ref_half[ok]
                sd = float(s_half.std(ddof=1)) if s_half.size > 1 else 0.0
                width = zq * sd + abs(score - float(s_half.mean()))
                lo, hi = max(score - width, 0.0), min(score + width, 1.0)
            else:
                lo = hi = float("nan")
            if source != "input":
                notes.append(
                    f"reference I(x;n) = {i_xn:.3g} nats from layer {source!r}, the largest "
                    f"estimate (the input's own: {i_xn_input:.3g})"
                )
        else:
            score = lo = hi = float("nan")
            notes.append(
                f"undefined: I(x;n) = {i_xn:.3g} nats is not above its permutation null "
                f"{i_xn_null:.3g} (95% quantile of the largest estimate over the rows per "
                "permutation; no detectable nuisance information to be invariant to)"
            )
        if violation:
            violations.append(name)
            notes.append(
                f"data processing violated: I(z;n) = {i_zn:.3g} > the input's estimate "
                f"{i_xn_input:.3g} nats (an estimation error)"
            )
        if half.size:
            sd = float(half.std(ddof=1)) if half.size > 1 else 0.0
            w = zq * sd + abs(full - float(half.mean()))
            zn_lo, zn_hi = max(full - w, 0.0), min(max(full + w, 0.0), n_ceiling)
        else:
            zn_lo = zn_hi = float("nan")
        bound = i_zx - i_xy if target is not None else float("nan")
        flags = _row_flags(z, values, full, list(half), null if n_permutations else None)
        if violation:
            _add_warning(flags, "dpi_violation")
        if ty is not None and ty["clamped"]:
            clamped_rows.append(name)
            _add_warning(flags, "I_zy_clamped")
        nan = float("nan")
        rows.append(
            {
                "layer": name,
                "I_zn": i_zn,
                "I_zy": ty["value"] if ty is not None else nan,
                "I_zx": i_zx,
                "invariance": score,
                "I_zn_null": null,
                "invariance_low": lo,
                "invariance_high": hi,
                "invariance_note": "; ".join(notes),
                "I_zn_low": zn_lo,
                "I_zn_high": zn_hi,
                "I_zn_p_value": p_value,
                "I_xn": i_xn,
                "I_xn_input": i_xn_input,
                "I_xn_source": source,
                "dpi_violation": violation,
                "I_xy": i_xy if target is not None else nan,
                "I_zy_low": ty["low"] if ty is not None else nan,
                "I_zy_high": ty["high"] if ty is not None else nan,
                "I_zy_ceiling": target.ceiling if target is not None and y_discrete else nan,
                "I_zy_clamped": ty["clamped"] if ty is not None else None,
                "bound": bound,
                "bound_ok": bool(i_zn <= bound) if target is not None else None,
                "n_features": raws[name].shape[1],
                "n_components": z.shape[1],
                "nuisance": nuisance_name,
                "estimator": mi.name(discrete),
                "n_samples": n,
                **flags,
            }
        )
    if violations:
        warnings.warn(
            f"invariance: I(z;n) of {', '.join(violations)} exceeds the input's own estimate "
            f"I(x;n) = {i_xn_input:.3g} nats, which data processing forbids: the input's "
            f"estimate under-reads; the reference is {i_xn:.3g} nats from {source!r} "
            "(rows flagged dpi_violation)",
            RuntimeWarning,
            stacklevel=2,
        )
    if clamped_rows:
        assert target is not None  # only rows with a target are clamped
        warnings.warn(
            f"invariance: the I(z;y) estimate of {', '.join(clamped_rows)} exceeded "
            f"H(y) = {target.ceiling:.3g} nats and was clamped (rows flagged I_zy_clamped)",
            RuntimeWarning,
            stacklevel=2,
        )
    df = pd.DataFrame(rows)
    df.attrs["settings"] = {
        "nuisance": repr(family) if family is not None else "per-sample values",
        "nuisance_discrete": discrete,
        "nuisance_dequantized": dequantized,
        "estimator_I_zn": mi.name(discrete),
        "estimator_I_zy": target.name() if target is not None else None,
        "targets": None if y is None else ("labels" if y_discrete else "continuous"),
        "estimator_I_zx": f"H(bin(PCA(z))), {n_bins} uniform bins (plug-in)",
        "reference_I_xn": "largest I(z;n) over the input and the probed layers "
        "(data processing: each is a lower bound on I(x;n))",
        "I_xn_source": source,
        "activations": "given" if given is not None else "collected",
        "n_components": n_components,
        "n_neighbors": n_neighbors,
        "n_permutations": n_permutations,
        "null_quantile": 0.95,
        "n_resamples": n_resamples,
        "interval": "score +- (1.96 sd + |bias gap|) over half-size subsamples, in [0, 1]",
        "I_xn_null": i_xn_null,
        "I_xn_p_value": i_xn_p_value,
        "I_xn_null_method": "max-statistic permutation test: 95% quantile, over the "
        "permutations, of the largest I(z;n) over the input and the probed layers "
        "(the same shuffles for every row)",
        "n_samples": n,
        "random_state": (
            "Generator" if isinstance(random_state, np.random.Generator) else random_state
        ),
        "units": "nats",
    }
    return df


def _onehot_symbols(values: np.ndarray) -> np.ndarray:
    """Discrete nuisance rows as symbols 0..K-1 (for the ceiling H(n))."""
    from .._validation import encode_rows

    sym, _ = encode_rows(np.round(values).astype(np.int64))
    return sym
