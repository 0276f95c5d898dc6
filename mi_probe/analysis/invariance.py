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

from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from scipy.stats import norm

from .._deps import require
from .._validation import (
    check_choice,
    check_int,
    check_random_state,
    check_same_samples,
    is_tensor,
    subsample_index,
)
from ._nuisance import (
    AdditiveNoise,
    Brightness,
    CallableNuisance,
    Nuisance,
    Occlusion,
    Rotation,
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
    "CallableNuisance",
    "COLUMNS",
    "ESTIMATORS",
]

COLUMNS = ("layer", "I_zn", "I_zy", "I_zx", "invariance", "I_zn_null")
ESTIMATORS = ("ksg", "gaussian", "binning")
_MAX_DISCRETE = 32  # distinct values up to which an integer-valued nuisance is a label


def _materialize(data: Any, targets: Any) -> tuple[torch.Tensor, np.ndarray | None]:
    """(x tensor, labels or None) from a tensor, an array, an (x, y) tuple or a DataLoader."""
    y = None
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
    if targets is not None:
        y = targets
    if y is not None:
        from .._validation import check_labels

        y = check_labels(y.detach().cpu().numpy() if is_tensor(y) else y, "targets")
        check_same_samples(x.shape[0], y.shape[0], "data", "targets")
    return x, y


def _reduce(a: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """Top principal components (constant columns dropped); (n, min(k, rank))."""
    a = np.asarray(a, dtype=np.float64)
    a = a[:, a.std(axis=0) > 0]
    if a.shape[1] == 0:
        return np.zeros((a.shape[0], 1))
    if a.shape[1] <= n_components:
        return a
    from sklearn.decomposition import PCA

    k = min(n_components, a.shape[0] - 1)
    return PCA(n_components=k, svd_solver="auto", random_state=seed).fit_transform(a)


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
        return float(r.diagnostics.get("raw_value", r.value))


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


def invariance(
    model: torch.nn.Module,
    data: Any,
    layers: Any = "all",
    nuisance: Any = None,
    *,
    targets: Any = None,
    estimator: str = "ksg",
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
    model : torch.nn.Module
        The network; it is not changed (weights, train/eval flags, ``requires_grad``
        and the torch RNG are as before; transforms draw from numpy).
    data : tensor, array, (x, y) tuple or DataLoader
        Inputs (first axis = samples); labels from a tuple or loader give ``I_zy``.
    layers : str, module, type or list of them, default "all"
        Layers to probe (see :func:`mi_probe.attach`).
    nuisance : str, Nuisance, callable or array-like
        Either per-sample nuisance values ``(n_samples,)`` or ``(n_samples, k)``
        (integers with at most 32 distinct rows are treated as discrete), or a
        transform family applied to the inputs with a random parameter per sample:
        ``"occlusion"`` (patch row, column, size), ``"rotation"`` (angle, degrees),
        ``"translation"`` (dy, dx pixels), ``"noise"`` (additive Gaussian noise std),
        ``"brightness"`` (additive offset), an instance of those classes with your
        ranges (``Rotation(max_degrees=30)``), or a callable
        ``fn(x, rng) -> (x_transformed, params)`` drawing from the numpy ``rng``.
    targets : array-like, optional
        Class labels (overrides labels found in ``data``).
    estimator : {"ksg", "gaussian", "binning"}, default "ksg"
        ``"ksg"``: KSG k-NN for continuous nuisances, Ross's k-NN estimator for
        discrete nuisances and for labels. ``"gaussian"``: the Gaussian (linear)
        estimator (labels one-hot). ``"binning"``: plug-in on ``n_bins`` uniform bins.
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
        Progress bar while collecting activations.

    Returns
    -------
    pandas.DataFrame
        One row per layer (input first) with columns ``layer, I_zn, I_zy, I_zx,
        invariance, I_zn_null`` (nats; invariance unitless) and, after them,
        ``invariance_low``, ``invariance_high`` (interval), ``I_zn_low``,
        ``I_zn_high``, ``I_zn_p_value``, ``I_xn`` (input's nuisance information),
        ``I_xy``, ``bound`` (``I_zx - I_xy``), ``bound_ok``, ``n_features``,
        ``n_components``, ``nuisance``, ``estimator``, ``n_samples``.
        ``df.attrs["settings"]`` records every setting and the estimator per column.

    Raises
    ------
    ValueError
        Bad options, data or nuisance values of the wrong length, a transform that
        does not fit the data's shape, or an unknown layer.

    Notes
    -----
    * ``I_zx``: for a deterministic layer on a finite data set ``I(x; z)`` is the
      entropy of ``z`` (infinite for continuous z). It is reported as
      ``H(bin(PCA(z)))`` with ``n_bins`` uniform bins, the convention of the
      information-plane literature; it cannot exceed ``log n``.
    * The bound ``I(z; n) <= I(z; x) - I(x; y)`` (Achille & Soatto 2018) holds for a
      representation that is sufficient for y when n and y are independent; with the
      binned ``I_zx`` it is usually loose. ``bound_ok`` reports whether it holds.
    * A continuous nuisance with many tied values (occlusion positions, pixel shifts) is
      dequantised (uniform noise over its grid cell; ``settings["nuisance_dequantized"]``)
      so that the k-NN estimators see no ties; this can only lower ``I_zn``.
    * ``invariance`` is NaN when the input's nuisance information ``I_xn`` is not
      above its own permutation null (nothing to be invariant to).
    * ``I_zn_null`` is the level that shuffled (independent) nuisances reach: a layer
      with ``I_zn <= I_zn_null`` carries no detectable nuisance information.

    Examples
    --------
    >>> import torch, mi_probe
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU())
    >>> x = torch.rand(300, 8, 8)
    >>> df = mi_probe.invariance(net, x, layers=["2"], nuisance="brightness",
    ...                          n_permutations=5, n_resamples=0)
    >>> list(df.columns[:6])
    ['layer', 'I_zn', 'I_zy', 'I_zx', 'invariance', 'I_zn_null']
    """
    pd = require("pandas", "the invariance table")
    check_choice(estimator, "estimator", ESTIMATORS)
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
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    rng = check_random_state(random_state)

    x, y = _materialize(data, targets)
    n_all = x.shape[0]
    family = as_nuisance(nuisance)
    values = None
    if family is None:
        values = per_sample_values(nuisance, "nuisance", n_all)
    idx = subsample_index(n_all, max_samples, rng)
    x = x[torch.as_tensor(idx)]
    y = y[idx] if y is not None else None
    if family is not None:
        x, values = family(x, rng)
        nuisance_name = family.name
    else:
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

    from ..probes import attach

    with attach(model, layers) as probe:
        acts = probe.collect(x, batch_size=batch_size, progress_bar=progress_bar)

    seed = int(rng.integers(0, 2**31 - 1))
    reps: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
    x_flat = x.reshape(n, -1).double().cpu().numpy()
    reps["input"] = (_reduce(x_flat, n_components, seed), x_flat.shape[1])
    for name, t in acts.items():
        a = t.double().numpy()
        reps[name] = (_reduce(a, n_components, seed), a.shape[1])

    mi = _MI(estimator, n_neighbors, n_bins)
    halves = _half_indices(n, n_resamples, np.random.default_rng(seed)) if n_resamples else []
    perm_seeds = np.random.default_rng(seed + 1).integers(0, 2**31 - 1, size=n_permutations)
    from ..estimators.binning import binning_entropy

    def nuisance_info(z: np.ndarray) -> tuple[float, list[float], np.ndarray]:
        full = mi(z, values, discrete, seed)
        half = [mi(z[h], values[h], discrete, seed) for h in halves]
        null = np.array(
            [
                mi(z, values[np.random.default_rng(int(s)).permutation(n)], discrete, int(s))
                for s in perm_seeds
            ]
        )
        return full, half, null

    x_red = reps["input"][0]
    i_xn, i_xn_half, i_xn_nulls = nuisance_info(x_red)
    i_xn_null = float(np.quantile(i_xn_nulls, 0.95)) if n_permutations else 0.0
    i_xy = mi(x_red, y, True, seed) if y is not None else float("nan")
    zq = float(norm.ppf(0.975))
    usable = i_xn > max(i_xn_null, 0.0)

    rows = []
    for name, (z, n_feat) in reps.items():
        if name == "input":
            if not include_input:
                continue
            full, half, nulls = i_xn, i_xn_half, i_xn_nulls
        else:
            full, half, nulls = nuisance_info(z)
        i_zn = max(full, 0.0)
        null = float(np.quantile(nulls, 0.95)) if n_permutations else float("nan")
        p_value = (
            (1.0 + float(np.sum(nulls >= full))) / (1.0 + nulls.size)
            if n_permutations
            else float("nan")
        )
        i_zy = max(mi(z, y, True, seed), 0.0) if y is not None else float("nan")
        i_zx = float(binning_entropy(z, n_bins=n_bins).value)
        if usable:
            score = 1.0 - i_zn / i_xn
            if half:
                s_half = np.array(
                    [1.0 - max(a, 0.0) / max(b, 1e-12) for a, b in zip(half, i_xn_half)]
                )
                sd = float(s_half.std(ddof=1)) if s_half.size > 1 else 0.0
                width = zq * sd + abs(score - float(s_half.mean()))
                lo, hi = score - width, score + width
            else:
                lo = hi = float("nan")
        else:
            score = lo = hi = float("nan")
        if half:
            h = np.array(half)
            sd = float(h.std(ddof=1)) if h.size > 1 else 0.0
            w = zq * sd + abs(full - float(h.mean()))
            zn_lo, zn_hi = max(full - w, 0.0), max(full + w, 0.0)
        else:
            zn_lo = zn_hi = float("nan")
        bound = i_zx - i_xy if y is not None else float("nan")
        flags = _row_flags(z, values, full, half, null if n_permutations else None)
        rows.append(
            {
                "layer": name,
                "I_zn": i_zn,
                "I_zy": i_zy,
                "I_zx": i_zx,
                "invariance": score,
                "I_zn_null": null,
                "invariance_low": lo,
                "invariance_high": hi,
                "I_zn_low": zn_lo,
                "I_zn_high": zn_hi,
                "I_zn_p_value": p_value,
                "I_xn": max(i_xn, 0.0),
                "I_xy": max(i_xy, 0.0) if y is not None else float("nan"),
                "bound": bound,
                "bound_ok": bool(i_zn <= bound) if y is not None else None,
                "n_features": n_feat,
                "n_components": z.shape[1],
                "nuisance": nuisance_name,
                "estimator": mi.name(discrete),
                "n_samples": n,
                **flags,
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["settings"] = {
        "nuisance": repr(family) if family is not None else "per-sample values",
        "nuisance_discrete": discrete,
        "nuisance_dequantized": dequantized,
        "estimator_I_zn": mi.name(discrete),
        "estimator_I_zy": mi.name(True),
        "estimator_I_zx": f"H(bin(PCA(z))), {n_bins} uniform bins (plug-in)",
        "n_components": n_components,
        "n_neighbors": n_neighbors,
        "n_permutations": n_permutations,
        "null_quantile": 0.95,
        "n_resamples": n_resamples,
        "interval": "score +- (1.96 sd + |bias gap|) over half-size subsamples",
        "I_xn_null": i_xn_null,
        "n_samples": n,
        "random_state": (
            "Generator" if isinstance(random_state, np.random.Generator) else random_state
        ),
        "units": "nats",
    }
    return df
