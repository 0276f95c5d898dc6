"""A folder with an HTML and a Markdown report on a model's layers.

:func:`report` probes the layers once on clean data, measures per layer ``I(x; z)``,
``I(z; y)``, the total correlation TC(z), ``I(z; n)`` and the invariance score for each
nuisance (via :func:`mi_probe.invariance`), and the disentanglement metrics when
ground-truth factors are given; it writes ``index.html``, ``report.md``,
``results.csv``, ``settings.json`` and seaborn figures under ``figures/``, and returns
the same numbers as a DataFrame.

This is the one place where analysis meets plotting: the figures are drawn by
:mod:`mi_probe.plotting`, imported only inside :func:`report` when ``figures=True``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._csv import write_csv
from .._deps import require
from .._progress import progress
from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_random_state,
    check_same_samples,
    subsample_index,
)
from ._nuisance import Nuisance, as_nuisance, per_sample_values
from .invariance import (
    _PROGRESS_DESC,
    TARGET_ESTIMATORS,
    _materialize,
    _prepare_targets,
    _reduce,
    _select_activations,
    invariance,
)

__all__ = ["report", "report_long"]

_TC_ESTIMATORS = ("ksg", "gaussian")
_DIS_COLUMNS = (
    "mig",
    "sap",
    "dci_disentanglement",
    "dci_completeness",
    "dci_informativeness",
    "modularity",
    "factorvae",
)


def _nuisance_items(nuisances: Any) -> list[tuple[str, Any]]:
    if nuisances is None:
        return []
    if isinstance(nuisances, Mapping):
        items = [(str(k), v) for k, v in nuisances.items()]
    elif (
        isinstance(nuisances, (str, Nuisance)) or callable(nuisances) or hasattr(nuisances, "shape")
    ):
        items = [("", nuisances)]
    else:
        items = [("", v) for v in nuisances]
    out: list[tuple[str, Any]] = []
    for i, (name, spec) in enumerate(items):
        if not name:
            fam = as_nuisance(spec)
            name = fam.name if fam is not None else f"n{i}"
        if name in dict(out):
            name = f"{name}_{i}"
        out.append((name, spec))
    return out


def _top_variance(a: np.ndarray, k: int) -> np.ndarray:
    std = a.std(axis=0)
    order = np.argsort(-std, kind="stable")[:k]
    order = np.sort(order[std[order] > 0])
    return order


def _md_table(
    df: Any,
    digits: int = 3,
    nan_text: Mapping[Any, str] | None = None,
    marks: Mapping[Any, Any] | None = None,
) -> str:
    """``df`` as a Markdown table; ``marks`` ({column: one bool per row}) appends
    :data:`_CEILING_MARK` to the cells it flags."""
    cols = [str(c) for c in df.columns]
    nan_text = nan_text or {}
    marks = marks or {}

    def fmt(v: Any, col: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return nan_text.get(col, "nan") if not np.isfinite(v) else f"{v:.{digits}f}"
        return _md_escape(v)

    def cell(v: Any, col: Any, i: int) -> str:
        flagged = col in marks and bool(marks[col][i])
        return fmt(v, col) + (f" {_CEILING_MARK}" if flagged else "")

    lines = [
        "| " + " | ".join(_md_escape(c) for c in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for i, row in enumerate(df.itertuples(index=False)):
        lines.append(
            "| " + " | ".join(cell(v, c, i) for v, c in zip(row, df.columns, strict=True)) + " |"
        )
    return "\n".join(lines)


def _module_type(model: torch.nn.Module | None, name: str) -> str | None:
    """The class name of the module a probed layer key names, or None when unknown.

    Only a key that is exactly a submodule's name is looked up (``"fc:input"``, a tuple
    output's key or activations given without a model get None: nothing is guessed).
    """
    if model is None or name == "input" or not name:
        return None
    try:
        return type(model.get_submodule(name)).__name__
    except (AttributeError, TypeError, ValueError):
        return None


def _repeated_layers(reps: Mapping[str, np.ndarray]) -> dict[str, str]:
    """``{layer: earlier layer}`` for each row whose (flattened) activations are exactly
    those of the row before it (Flatten after ReLU, Identity, Dropout in eval mode);
    a chain of repeats points to its first row. Compared only when the shapes match."""
    out: dict[str, str] = {}
    names = list(reps)
    for prev, name in zip(names, names[1:], strict=False):
        a, b = reps[prev], reps[name]
        if a.shape == b.shape and np.array_equal(a, b):
            out[name] = out.get(prev, prev)
    return out


# columns of an invariance() table that report() measures once, on the clean inputs
_CLEAN_COLUMNS = (
    "I_zx",
    "I_zx_at_ceiling",
    "I_zy",
    "I_zy_low",
    "I_zy_high",
    "I_zy_clamped",
    "I_zy_ceiling",
    "I_xy",
    "bound",
    "bound_ok",
)


def _without_empty_intervals(df: Any) -> Any:
    """``df`` without the ``I_zy_low``/``I_zy_high`` columns when no row has them (the
    I(z; y) estimator gave no interval): a column of "nan" on the page says nothing. The
    CSV keeps them."""
    empty = [
        c
        for c in ("I_zy_low", "I_zy_high")
        if c in df.columns and not np.isfinite(df[c].to_numpy(dtype=float)).any()
    ]
    return df.drop(columns=empty)


def _fill_clean_numbers(t: Any, main: Any, i_xy: float, ceiling: float | None) -> None:
    """Put the report's one measurement of I_zx, I_zy, I_xy (clean inputs) into an
    invariance() table, and its bound and bound_ok from them, so that every number shown
    in two tables is the same number."""
    layer = t["layer"]
    for col in ("I_zx", "I_zy", "I_zy_low", "I_zy_high"):
        t[col] = layer.map(main[col]).astype(float)
    t["I_zx_at_ceiling"] = [bool(main.loc[k, "I_zx_at_ceiling"]) for k in layer]
    t["I_zy_clamped"] = [main.loc[k, "I_zy_clamped"] for k in layer]
    has_y = bool(np.isfinite(i_xy))
    t["I_zy_ceiling"] = ceiling if ceiling is not None else float("nan")
    t["I_xy"] = i_xy
    t["bound"] = t["I_zx"] - i_xy
    t["bound_ok"] = (
        [bool(v <= b) for v, b in zip(t["I_zn"], t["bound"], strict=True)] if has_y else None
    )


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em;
     border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
h1, h2, h3, p, figcaption { overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right;
         overflow-wrap: anywhere; }
td.n { white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
table.text td, table.text th { text-align: left; vertical-align: top; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: 0.4em 0; }
.note { color: #555; font-size: 0.9em; }
code { background: #f6f6f6; padding: 0 3px; overflow-wrap: anywhere; }
figure { margin: 1em 0; }
figcaption { max-width: 60em; }
"""


def report(
    model: torch.nn.Module | None,
    data: Any,
    layers: Any = "all",
    nuisances: Any = None,
    factors: Any = None,
    out: str | Path = "report/",
    *,
    activations: Mapping[str, Any] | None = None,
    targets: Any = None,
    discrete_y: bool | str = "auto",
    estimator: str = "ksg",
    target_estimator: str | None = None,
    n_components: int = 10,
    n_bins: int = 10,
    n_permutations: int = 20,
    n_resamples: int = 10,
    max_samples: int | None = 2000,
    tc_estimator: str = "ksg",
    tc_units: int = 10,
    max_units: int = 64,
    factor_names: Any = None,
    title: str = "mi_probe report",
    figures: bool = True,
    random_state: Any = 0,
    progress_bar: bool = False,
) -> Any:
    """Measure every probed layer and write an HTML + Markdown report folder.

    Parameters
    ----------
    model : torch.nn.Module or None
        The network (not changed). With ``activations`` it runs only for transform
        nuisances, and may be None when every nuisance is given as per-sample values.
    data : tensor, array, (x, y) tuple or DataLoader
        Inputs, with labels for ``I(z; y)`` (or pass ``targets``). NaN or inf inputs are
        refused.
    layers : str, module, type or list of them, default "all"
        With ``activations``: the keys to use (``"all"``: every key).
    nuisances : dict, list or single nuisance, optional
        ``{name: spec}`` where each spec is what :func:`mi_probe.invariance` takes as
        ``nuisance`` (per-sample values, a transform name such as ``"rotation"``, a
        :class:`~mi_probe.analysis.invariance.Nuisance`, or a callable).
    factors : array-like, shape (n_samples, n_factors), optional
        Ground-truth factors for the disentanglement metrics of each layer.
    out : str or Path, default "report/"
        Folder to write (created; existing files of the same names are replaced).
    activations : dict {layer: array (n_samples, ...)}, optional
        Activations already collected on ``data`` (e.g. by
        :meth:`mi_probe.probes.Probe.collect`), one row per sample in the order of
        ``data``: the model is not run for the clean measurements, nor for per-sample
        nuisances (a large model runs once).
    targets : array-like, optional
        Targets (override labels found in ``data``): class labels or continuous values.
    discrete_y : {"auto", True, False}, default "auto"
        Whether the targets are class labels (see :func:`mi_probe.invariance`).
    estimator, target_estimator, n_components, n_bins, n_permutations, n_resamples
        As in :func:`mi_probe.invariance` (also used for the clean ``I_zx``, ``I_zy``);
        ``target_estimator="usable"`` reports usable information as ``I_zy``.
    max_samples : int or None, default 2000
        Seeded subsample of the data used for everything.
    tc_estimator : {"ksg", "gaussian"}, default "ksg"
        Estimator of TC(z), computed on the ``tc_units`` highest-variance units of each
        layer (a TC over hundreds of units is not estimable from a few thousand samples).
    tc_units : int, default 10
    max_units : int, default 64
        Disentanglement metrics use the ``max_units`` highest-variance units per layer.
    factor_names : sequence of str, optional
        Names of the factors' columns (default ``v0, v1, ...``).
    title : str
    figures : bool, default True
        Draw the seaborn figures (needs matplotlib and seaborn).
    random_state : None, int or numpy Generator, default 0
    progress_bar : bool, default False
        Progress on stderr (:func:`mi_probe._progress.progress`): while collecting the
        activations, per layer for the clean measurements, per nuisance and per layer
        within it (:func:`mi_probe.invariance`), and per layer for disentanglement.

    Returns
    -------
    pandas.DataFrame
        One row per layer (``"input"`` first): ``layer``, ``type`` (the module's class
        name, e.g. ``"Flatten"``; None for the input, and where it is unknown: activations
        given without a model, a key that is not a submodule's name), ``same_as`` (the
        name of the earlier layer whose activations this row's equal exactly, compared
        flattened when the shapes match, e.g. a Flatten after a ReLU, an Identity, a
        Dropout in eval mode; else None: such rows are measured but left out of the
        tables and figures, and the page names them), ``n_features``, ``I_zx``,
        ``I_zx_at_ceiling`` (``I_zx`` is within 1% of ``ln n``, or there are as many occupied bins
        as samples: every sample in its own bin, so ``I_zx`` cannot compare layers; the
        pages mark the cell), ``I_zy`` (labels: clamped into ``[0, H(y)]``), ``I_zy_low``, ``I_zy_high``
        (usable information's interval, else NaN), ``I_zy_clamped`` (the estimate was
        above ``H(y)``), ``tc``, then per nuisance ``I_zn[name]``, ``I_zn_null[name]``,
        ``invariance[name]``, ``invariance_low[name]``, ``invariance_high[name]``
        (NaN when undefined: ``I(x; n)`` not above its permutation null; the pages show
        "undefined" with the reason, and ``settings["invariance_undefined"]`` holds it),
        ``bound_ok[name]``, then (with factors) ``mig, sap, dci_disentanglement,
        dci_completeness, dci_informativeness, modularity, factorvae``. Nats for
        information, unitless scores. ``df.attrs["settings"]`` and
        ``df.attrs["files"]`` list the settings and the files written.
        :func:`report_long` turns this frame into a tidy long one (one row per number).

    Raises
    ------
    ValueError
        Bad options, NaN or inf in the inputs or activations, factors, targets,
        activations or nuisance values of the wrong length, a transform nuisance with
        ``activations`` but no model, or an unknown layer.
    ModuleNotFoundError
        pandas (always) or matplotlib/seaborn (``figures=True``) missing.

    Warns
    -----
    RuntimeWarning
        Once, naming the layers, when ``I_zx`` is at its ``ln n`` ceiling (fewer
        ``n_bins`` or ``n_components``, or more samples, bring it below); when an
        ``I(z; y)`` estimate exceeded ``H(y)`` and was clamped.

    Notes
    -----
    ``I_zx`` is the plug-in entropy of the binned components, at most ``ln n``: with
    ``n_components`` components of ``n_bins`` bins each, ``n_bins ** n_components`` cells
    usually exceed ``n`` and every sample falls in a cell of its own, so every layer reads
    ``ln n`` (``I_zx_at_ceiling``). ``I_zx``, ``I_zy`` and ``I(x; y)`` (the input row's ``I_zy``) are measured once, on
    the clean inputs, and the per-nuisance tables of the page repeat these numbers (with
    ``bound`` and ``bound_ok`` computed from them); ``I_zn`` and the invariance score of
    a transform nuisance are measured on transformed copies of the inputs, those of
    per-sample nuisance values on the clean inputs' activations.

    Examples
    --------
    >>> import tempfile, torch
    >>> from mi_probe.analysis.report import report
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU())
    >>> x, y = torch.rand(300, 4, 4), torch.randint(0, 3, (300,))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     df = report(net, (x, y), layers=["2"], nuisances={"light": "brightness"},
    ...                 out=folder, n_permutations=3, n_resamples=0, figures=False)
    >>> "invariance[light]" in df.columns
    True
    """
    pd = require("pandas", "the report tables")
    check_choice(estimator, "estimator", ("ksg", "gaussian", "binning"))
    if target_estimator is not None:
        check_choice(target_estimator, "target_estimator", TARGET_ESTIMATORS)
    check_choice(discrete_y, "discrete_y", ("auto", True, False))
    check_choice(tc_estimator, "tc_estimator", _TC_ESTIMATORS)
    n_components = check_int(n_components, "n_components", low=1)
    n_bins = check_int(n_bins, "n_bins", low=2)
    tc_units = check_int(tc_units, "tc_units", low=2)
    max_units = check_int(max_units, "max_units", low=1)
    if max_samples is not None:
        max_samples = check_int(max_samples, "max_samples", low=10)
    if not isinstance(title, str):
        raise ValueError(f"title must be a string, got {type(title).__name__}")
    items = _nuisance_items(nuisances)
    transforms = [name for name, spec in items if as_nuisance(spec) is not None]
    if not isinstance(model, torch.nn.Module) and (activations is None or transforms):
        why = f" (nuisances {', '.join(map(repr, transforms))} transform the inputs)"
        raise ValueError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
            + (why if activations is not None else "")
        )
    rng = check_random_state(random_state)

    x, y_raw = _materialize(data, targets)
    n_all = x.shape[0]
    given = _select_activations(activations, layers, n_all) if activations is not None else None
    fac = None
    if factors is not None:
        fac = check_array(factors, "factors", min_samples=1)
        check_same_samples(n_all, fac.shape[0], "data", "factors")
        if factor_names is not None and len(list(factor_names)) != fac.shape[1]:
            raise ValueError(
                f"factor_names has {len(list(factor_names))} names for {fac.shape[1]} factors"
            )
    for name, spec in items:
        if as_nuisance(spec) is None:
            per_sample_values(spec, f"nuisances[{name!r}]", n_all)
    idx = subsample_index(n_all, max_samples, rng)
    x = x[torch.as_tensor(idx)]
    y, y_discrete = (None, True) if y_raw is None else _prepare_targets(y_raw[idx], discrete_y)
    fac = fac[idx] if fac is not None else None
    n = x.shape[0]
    seed = int(rng.integers(0, 2**31 - 1))

    if given is not None:
        acts: Mapping[str, Any] = {k: v[idx] for k, v in given.items()}
    else:
        from ..probes import attach

        assert model is not None  # no activations given: a model was
        with attach(model, layers) as probe:
            acts = {k: v.numpy() for k, v in probe.collect(x, progress_bar=progress_bar).items()}
    reps: dict[str, np.ndarray] = {"input": x.reshape(n, -1).double().numpy()}
    for name, a in acts.items():
        reps[name] = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    types = {name: _module_type(model, name) for name in reps}
    same_as = _repeated_layers(reps)

    from ..estimators.binning import binning_entropy
    from .invariance import _MI, _TargetInfo
    from .total_correlation import gaussian_tc, ksg_tc

    mi = _MI(estimator, 3, n_bins)
    target = (
        _TargetInfo(mi, target_estimator or estimator, y, y_discrete) if y is not None else None
    )
    rows = []
    for name, a in progress(
        reps.items(), total=len(reps), desc="report: layers", enabled=progress_bar
    ):
        z = _reduce(a, n_components, seed)
        units = _top_variance(a, tc_units)
        if units.size >= 2:
            sub = a[:, units].astype(np.float64)
            tc_res = (
                ksg_tc(sub, random_state=seed)
                if tc_estimator == "ksg"
                else gaussian_tc(sub, regularization=1e-6)
            )
            tc = float(tc_res.value)
        else:
            tc = 0.0
        ty = target(a, z, seed) if target is not None else None
        ent = binning_entropy(z, n_bins=n_bins)
        i_zx = float(ent.value)
        nan = float("nan")
        rows.append(
            {
                "layer": name,
                "type": types[name],
                "same_as": same_as.get(name),
                "n_features": a.shape[1],
                "I_zx": i_zx,
                # H(bin z) <= ln n: at it, every sample has its own bin; within 1% of it
                # (the information plane's at_ceiling rule) nearly every one does
                "I_zx_at_ceiling": bool(
                    i_zx >= _CEILING_SHARE * math.log(n) or int(ent.diagnostics["n_states"]) == n
                ),
                "I_zy": ty["value"] if ty is not None else nan,
                "I_zy_low": ty["low"] if ty is not None else nan,
                "I_zy_high": ty["high"] if ty is not None else nan,
                "I_zy_clamped": ty["clamped"] if ty is not None else None,
                "tc": tc,
            }
        )
    df = pd.DataFrame(rows)
    at_ceiling = [str(r["layer"]) for r in rows if r["I_zx_at_ceiling"]]
    if at_ceiling:
        warnings.warn(
            f"report: I_zx of {', '.join(at_ceiling)} is at its ceiling ln n = "
            f"{math.log(n):.4g} nats ({n} samples, nearly each in its own bin of the top "
            f"{n_components} principal components, {n_bins} bins each): it does not say "
            "how much these layers keep; use fewer bins/components or more samples to "
            "compare layers (rows flagged I_zx_at_ceiling)",
            RuntimeWarning,
            stacklevel=2,
        )
    clamped = [r["layer"] for r in rows if r["I_zy_clamped"]]
    if clamped:
        assert target is not None  # only rows with a target are clamped
        warnings.warn(
            f"report: the I(z;y) estimate of {', '.join(clamped)} exceeded H(y) = "
            f"{target.ceiling:.3g} nats and was clamped (rows flagged I_zy_clamped)",
            RuntimeWarning,
            stacklevel=2,
        )

    # I_zx, I_zy and I_xy are measured once, above, on the clean inputs; the nuisance
    # tables get these same numbers (invariance() would measure I_zx again, on the
    # transformed inputs for a transform nuisance, and has no targets here)
    main = df.set_index("layer")
    i_xy = float(main.loc["input", "I_zy"]) if y is not None else float("nan")
    inv_tables = []
    undefined: dict[str, str] = {}
    for i, (name, spec) in enumerate(items):
        # one progress line per layer of each nuisance, named (not a bar nested in a bar:
        # on a terminal both would redraw the same line)
        per_sample = as_nuisance(spec) is None
        nu = check_array(spec, "nuisance")[idx] if per_sample else spec
        token = _PROGRESS_DESC.set(f"report: nuisance {name!r} ({i + 1}/{len(items)}), layers")
        try:
            t = invariance(
                model,
                x,
                layers=list(acts) if per_sample or given is not None else layers,
                nuisance=nu,
                activations=acts if per_sample else None,
                estimator=estimator,
                n_components=n_components,
                n_bins=n_bins,
                n_permutations=n_permutations,
                n_resamples=n_resamples,
                max_samples=None,
                random_state=seed + 17 * (i + 1),
                progress_bar=progress_bar,
            )
        finally:
            _PROGRESS_DESC.reset(token)
        t["nuisance"] = name
        _fill_clean_numbers(t, main, i_xy, target.ceiling if target and y_discrete else None)
        if not np.isfinite(t["invariance"].astype(float)).any():
            i_xn = float(t["I_xn"].iloc[0])
            i_xn_null = float(t.attrs["settings"].get("I_xn_null", float("nan")))
            undefined[name] = (
                f"I(x; n) = {i_xn:.3g} nats is not above its permutation null "
                f"{i_xn_null:.3g} nats, so invariance is undefined (no detectable nuisance "
                "information to be invariant to)"
                if n_permutations
                else f"I(x; n) = {i_xn:.3g} nats: no nuisance information to be invariant "
                "to, so invariance is undefined"
            )
        inv_tables.append(t)
        cols = ["I_zn", "I_zn_null", "invariance", "invariance_low", "invariance_high"]
        renamed = t[["layer", *cols]].rename(columns={c: f"{c}[{name}]" for c in cols})
        df = df.merge(renamed, on="layer", how="left")
        # Achille & Soatto's bound I(z;n) <= I(z;x) - I(x;y) with the clean I_zx, I_xy
        # (the same numbers as the nuisance table's bound_ok, filled in above)
        df[f"bound_ok[{name}]"] = (
            [bool(v) for v in df[f"I_zn[{name}]"] <= df["I_zx"] - i_xy] if y is not None else None
        )

    details: dict[str, Any] = {}
    if fac is not None:
        from .disentanglement import SCORE_KEYS, disentanglement_details

        drows = []
        for name, a in progress(
            reps.items(), total=len(reps), desc="report: disentanglement", enabled=progress_bar
        ):
            units = _top_variance(a, max_units)
            codes = a[:, units] if units.size else np.zeros((n, 1))
            d = disentanglement_details(codes, fac, random_state=seed)
            d["units"] = units
            details[name] = d
            drows.append({"layer": name, **{k: d["scores"][k] for k in SCORE_KEYS}})
        df = df.merge(pd.DataFrame(drows), on="layer", how="left")

    for col in ("type", "same_as"):  # None where missing (a merge may have made NaN)
        df[col] = df[col].astype(object).where(df[col].notna(), None)
    settings = {
        "title": title,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "n_samples": n,
        "layers": list(reps),
        "nuisances": {
            name: (repr(as_nuisance(s)) if as_nuisance(s) is not None else "per-sample values")
            for name, s in items
        },
        "estimator": estimator,
        "I_zx": f"H(bin(PCA_{n_components}(z))), {n_bins} uniform bins "
        "(deterministic layer: I(x;z) = H(z))",
        "I_zx_ceiling": math.log(n),
        "I_zx_at_ceiling": at_ceiling,
        "I_zy": (
            None
            if target is None
            else target.name()
            + ("" if target.estimator == "usable" else f" on the top {n_components} PCs")
            + (", clamped into [0, H(y)]" if y_discrete else ", continuous targets")
        ),
        "activations": "given" if given is not None else "collected",
        "I_zn": "see each nuisance; KSG (continuous) or Ross (discrete) on the top "
        f"{n_components} principal components; null = 95% quantile of "
        f"{n_permutations} permutations",
        "tc": f"{tc_estimator} total correlation of the {tc_units} highest-variance units",
        "disentanglement": (details[next(iter(details))]["settings"] if details else None),
        "max_units_disentanglement": max_units,
        "n_resamples": n_resamples,
        "random_state": (
            "Generator" if isinstance(random_state, np.random.Generator) else random_state
        ),
        "units": "nats",
    }
    if fac is not None and factor_names is not None:
        settings["factor_names"] = [str(f) for f in factor_names]
    if undefined:
        settings["invariance_undefined"] = undefined
    df.attrs["settings"] = settings

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out / "results.csv",
        "settings": out / "settings.json",
        "html": out / "index.html",
        "markdown": out / "report.md",
    }
    write_csv(df, files["csv"])  # formula-like text neutralised for spreadsheets
    files["settings"].write_text(json.dumps(settings, indent=2, default=str))
    figs: list[tuple[str, str]] = []
    if figures:
        figs = _draw(df, inv_tables, details, items, out / "figures", factor_names)
    about = _write_about(out)
    if about:
        files["about"] = out / "about.html"
    _write_html(files["html"], title, df, inv_tables, settings, figs, about)
    _write_markdown(files["markdown"], title, df, settings, figs)
    df.attrs["files"] = {k: str(v) for k, v in files.items()} | {
        f"figure:{cap}": str(out / rel) for rel, cap in figs
    }
    return df


_NATS = ("I_zx", "I_zy", "I_zn", "I_zn_null", "tc")
_FLAGS = ("I_zy_clamped", "bound_ok", "I_zx_at_ceiling")


def report_long(df: Any) -> Any:
    """The wide table :func:`report` returns as a tidy long frame, one row per number.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame returned by :func:`report` (or read back from its ``results.csv``): one
        row per layer, with a ``layer`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``layer``, ``n_features``, ``quantity`` (``"I_zx"``, ``"I_zy"``, ``"tc"``,
        ``"I_zn"``, ``"I_zn_null"``, ``"invariance"``, ``"bound_ok"``, ``"I_zy_clamped"``,
        ``"I_zx_at_ceiling"``, ``"mig"``, ...), ``nuisance`` (the nuisance's name for the per-nuisance
        quantities, else None), ``value``, ``low`` and ``high`` (the interval that the wide
        frame holds in ``<quantity>_low``/``_high`` columns, else NaN) and ``units``
        (``"nats"`` for information, ``"unitless"`` for scores in [0, 1], ``"flag"`` for
        the yes/no columns, whose value is 1.0, 0.0, or NaN where not computed). Rows
        follow the wide frame: layer by layer, column by column. ``attrs`` are copied.
        This is the shape seaborn takes, e.g.
        ``sns.barplot(long[long.units == "nats"], x="layer", y="value", hue="quantity")``.

    Raises
    ------
    ValueError
        ``df`` is not a pandas DataFrame or has no ``layer`` column.
    ModuleNotFoundError
        pandas missing.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"layer": ["input", "fc"], "n_features": [16, 6],
    ...                      "I_zx": [5.7, 5.6], "invariance[light]": [0.0, 0.9],
    ...                      "invariance_low[light]": [0.0, 0.8],
    ...                      "invariance_high[light]": [0.0, 1.0]})
    >>> report_long(wide)[["layer", "quantity", "nuisance", "value", "low", "units"]]
       layer    quantity nuisance  value  low     units
    0  input        I_zx     None    5.7  NaN      nats
    1  input  invariance    light    0.0  0.0  unitless
    2     fc        I_zx     None    5.6  NaN      nats
    3     fc  invariance    light    0.9  0.8  unitless
    """
    pd = require("pandas", "the report tables")
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if "layer" not in df.columns:
        raise ValueError("df has no 'layer' column (pass the frame report() returns)")

    def split(col: str) -> tuple[str, str | None]:
        if col.endswith("]") and "[" in col:
            base, name = col[:-1].split("[", 1)
            return base, name
        return col, None

    # type and same_as describe the layer, they are not numbers: left out of the long frame
    parsed = {
        str(c): split(str(c))
        for c in df.columns
        if c not in ("layer", "n_features", "type", "same_as")
    }
    present = set(parsed.values())
    bounds = {
        (base[: -len(suffix)], name)
        for base, name in present
        for suffix in ("_low", "_high")
        if base.endswith(suffix) and (base[: -len(suffix)], name) in present
    }
    nan = float("nan")

    def number(v: Any) -> float:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return nan
        try:
            return float(v)
        except (TypeError, ValueError):
            return nan

    def column(base: str, name: str | None) -> str:
        return base if name is None else f"{base}[{name}]"

    rows = []
    for _, r in df.iterrows():
        for col, (base, name) in parsed.items():
            if (base.removesuffix("_low"), name) in bounds and base.endswith("_low"):
                continue
            if (base.removesuffix("_high"), name) in bounds and base.endswith("_high"):
                continue
            has_bounds = (base, name) in bounds
            units = "nats" if base in _NATS else "flag" if base in _FLAGS else "unitless"
            rows.append(
                {
                    "layer": r["layer"],
                    "n_features": r["n_features"] if "n_features" in df.columns else None,
                    "quantity": base,
                    "nuisance": name,
                    "value": number(r[col]),
                    "low": number(r[column(f"{base}_low", name)]) if has_bounds else nan,
                    "high": number(r[column(f"{base}_high", name)]) if has_bounds else nan,
                    "units": units,
                }
            )
    cols = ["layer", "n_features", "quantity", "nuisance", "value", "low", "high", "units"]
    out = pd.DataFrame(rows, columns=cols)
    out["nuisance"] = out["nuisance"].astype(object).where(out["nuisance"].notna(), None)
    out.attrs.update(df.attrs)
    return out


def _draw(
    df: Any,
    inv_tables: list[Any],
    details: dict[str, Any],
    items: list[tuple[str, Any]],
    folder: Path,
    factor_names: Any,
) -> list[tuple[str, str]]:
    require("matplotlib", "report figures")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plotting.disentanglement import plot_disentanglement_scores, plot_mi_heatmap
    from ..plotting.invariance import plot_invariance, plot_layer_information

    figs: list[tuple[str, str]] = []
    # rows that repeat the row before them are not drawn; layers are labelled with their type
    undefined = dict(df.attrs.get("settings", {}).get("invariance_undefined") or {})
    labels, hidden = _layer_labels(df), _hidden_rows(df)
    df = _shown_rows(df, labels, hidden)
    inv_tables = [_shown_rows(t, labels, hidden) for t in inv_tables]
    details = {k: d for k, d in details.items() if k not in hidden}

    def save(draw: Any, fname: str, caption: str) -> None:
        # one figure that fails (e.g. mathtext in a name) must not lose the others,
        # nor the tables and index.html written after the figures
        before = set(plt.get_fignums())
        try:
            fig = draw().figure
            fig.tight_layout()
            fig.savefig(folder / fname, dpi=110)
        except Exception as exc:
            why = (str(exc).strip().splitlines() or [""])[0]
            warnings.warn(
                f"report: figure {fname!r} ({caption}) could not be drawn and is left out: "
                f"{type(exc).__name__}: {why}",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        finally:
            for num in set(plt.get_fignums()) - before:
                plt.close(num)
        figs.append((f"figures/{fname}", caption))

    defined = [t for t in inv_tables if str(t["nuisance"].iloc[0]) not in undefined]
    left_out = (
        " Left out: " + "; ".join(f"'{name}' ({why})" for name, why in undefined.items()) + "."
        if undefined
        else ""
    )
    if defined:  # every nuisance undefined: no figure (the tables say why)
        pd = require("pandas", "report")
        save(
            lambda: plot_invariance(pd.concat(defined, ignore_index=True)),
            "invariance.png",
            "Invariance score 1 - I(z;n)/I(x;n) per layer and nuisance (unitless, 0 to 1; bars: "
            "half-sample intervals). Look for: scores rising with depth (later layers discard "
            "more of the nuisance); a score near 0 means the layer keeps what the input had."
            + left_out,
        )
    cols = ["I_zx", "I_zy"] + [f"I_zn[{name}]" for name, _ in items]
    cols = [c for c in cols if c in df.columns and np.isfinite(df[c].astype(float)).any()]
    if cols:
        save(
            lambda: plot_layer_information(df, columns=cols, show_null=False),
            "information.png",
            "Information per layer (nats): I(x;z) = H(bin z), I(z;y), I(z;n) per nuisance. Look for: "
            "I(z;y) staying close to the input's I(x;y) while I(x;z) and I(z;n) fall with depth "
            "(a layer that compresses without losing the label).",
        )
    for t in inv_tables:
        name = str(t["nuisance"].iloc[0])
        save(
            lambda t=t: plot_layer_information(t, columns=("I_zn",), show_null=True),
            _figure_file("nuisance", name),
            f"I(z;n) for nuisance '{name}' per layer (nats), with its permutation null (95% "
            "level of shuffled n). Look for: bars at or below the null line, the layers that "
            "carry no detectable information about this nuisance.",
        )
    save(
        lambda: plot_layer_information(df, columns=("tc",), show_null=False),
        "tc.png",
        "Total correlation TC(z) per layer (nats), on the highest-variance units. Look for: a "
        "low TC means nearly independent units; a rise with depth means redundant units.",
    )
    if details:
        save(
            lambda: plot_disentanglement_scores(df),
            "disentanglement.png",
            "Disentanglement metrics per layer (unitless, 0 to 1, higher is more disentangled). "
            "Look for: the layer where MIG, SAP and DCI peak; metrics that disagree point "
            "to codes that are informative but not axis-aligned.",
        )
        for name, d in details.items():
            units = [f"unit {u}" for u in d["units"]] or ["none"]
            fnames = list(factor_names) if factor_names is not None else None
            codes = units if len(units) == d["mi_matrix"].shape[0] else None
            save(
                # one rule for every layer: at most 15 rows, numbers in the cells whenever
                # the factors fit (the automatic rule annotated only layers of <= 15 units)
                lambda d=d, codes=codes, fnames=fnames: plot_mi_heatmap(
                    d["mi_matrix"],
                    code_names=codes,
                    factor_names=fnames,
                    max_codes=15,
                    annotate=d["mi_matrix"].shape[1] <= 8,
                ),
                _figure_file("heatmap", name),
                f"I(z_i; v_j) for layer '{labels.get(name, name)}' (nats; rows: up to 15 of the highest-variance units, the most informative; columns: "
                "factors). Look for: one bright cell per row and per column, i.e. each unit "
                "informative about a single factor.",
            )
    return figs


def _layer_labels(df: Any) -> dict[str, str]:
    """``{layer: label}``: the layer's name with its module type, ``"3 (Flatten)"``, or the
    name alone where the type is unknown (the input, activations given without a model)."""
    types = df["type"] if "type" in df.columns else [None] * len(df)
    return {
        str(name): f"{name} ({kind})" if isinstance(kind, str) and kind else str(name)
        for name, kind in zip(df["layer"], types, strict=True)
    }


def _hidden_rows(df: Any) -> dict[str, str]:
    """``{layer: the earlier layer it repeats}`` for the rows the tables and figures skip."""
    if "same_as" not in df.columns:
        return {}
    return {
        str(name): str(prev)
        for name, prev in zip(df["layer"], df["same_as"], strict=True)
        if isinstance(prev, str) and prev
    }


def _shown_rows(t: Any, labels: Mapping[str, str], hidden: Mapping[str, str]) -> Any:
    """A copy of a per-layer frame for display: repeated rows dropped, layers labelled
    with their type, the ``type`` and ``same_as`` columns left out."""
    keep = ~t["layer"].astype(str).isin(list(hidden))
    out = t.loc[keep].drop(columns=[c for c in ("type", "same_as") if c in t.columns])
    out = out.reset_index(drop=True)
    out["layer"] = [labels.get(str(k), str(k)) for k in out["layer"]]
    return out


def _repeats_note(df: Any) -> str:
    """One sentence per repeated row, plain text: 'layer 3 (Flatten) repeats layer 2
    (ReLU): same values; not shown.'"""
    labels, hidden = _layer_labels(df), _hidden_rows(df)
    return " ".join(
        f"Layer {labels[name]} repeats "
        + ("the input" if prev == "input" else f"layer {labels.get(prev, prev)}")
        + ": same values; not shown."
        for name, prev in hidden.items()
    )


def _figure_file(prefix: str, name: str) -> str:
    """A file name for a user-named figure: readable, unique and stable.

    A name of letters and digits only is used as it is (``nuisance_light.png``). Any
    other name has its other characters replaced by ``_`` and the first 8 hex digits
    of its SHA-1 appended, so ``a/b`` and ``a_b`` get different files, the same name
    always the same file, and no such name can meet a plain one (which has no ``_``).
    """
    if name.isalnum():
        return f"{prefix}_{name}.png"
    safe = "".join(ch if ch.isalnum() else "_" for ch in name)[:60]
    tag = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{prefix}_{safe}_{tag}.png"


def _md_escape(text: Any) -> str:
    """User text for Markdown: HTML special characters as entities (so no raw tag such as
    ``<script>`` or an ``onerror=`` attribute survives) and Markdown's own marks
    backslash-escaped; one line."""
    s = html.escape(str(text), quote=False)
    s = "".join("\\" + ch if ch in "\\`*_[]|#!" else ch for ch in s)
    return " ".join(s.splitlines())


_MAX_COLS = 7  # columns per HTML table besides the layer: about 800 px at the page's font

_README_SECTIONS = {
    "reports": (
        "Total correlation, invariance, disentanglement and reports",
        "total-correlation-invariance-disentanglement-and-reports",
    ),
    "trust": (
        "Estimates you can trust: auto, intervals, nulls and flags",
        "estimates-you-can-trust-auto-intervals-nulls-and-flags",
    ),
}


def _fmt_cell(v: Any, nan_text: str = "nan") -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return html.escape(nan_text) if not math.isfinite(v) else f"{v:.3f}"
    if v is None:
        return "&ndash;"
    return html.escape(str(v))


def _td(v: Any, nan_text: str = "nan") -> str:
    # numbers never break inside; text cells wrap anywhere (see _CSS)
    numeric = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )
    cell = _fmt_cell(v, nan_text)
    return f'<td class="n">{cell}</td>' if numeric else f"<td>{cell}</td>"


def _one_table(
    df: Any,
    cols: list[Any],
    headers: Mapping[Any, str] | None = None,
    nan_text: Mapping[Any, str] | None = None,
    marks: Mapping[Any, Any] | None = None,
) -> str:
    headers = headers or {}
    nan_text = nan_text or {}
    marks = marks or {}

    def td(v: Any, col: Any, i: int) -> str:
        cell = _td(v, nan_text.get(col, "nan"))
        if col in marks and bool(marks[col][i]):
            tip = html.escape(_CEILING_NOTE)
            cell = cell[: -len("</td>")] + f'<sup title="{tip}">{_CEILING_MARK}</sup></td>'
        return cell

    head = "".join(
        # a break opportunity after each underscore: long column names wrap at the words
        "<th>" + html.escape(str(headers.get(c, c))).replace("_", "_<wbr>") + "</th>"
        for c in cols
    )
    body = "".join(
        "<tr>" + "".join(td(v, c, i) for v, c in zip(row, cols, strict=True)) + "</tr>"
        for i, row in enumerate(df[cols].itertuples(index=False))
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt_table(
    df: Any,
    *,
    key: str = "layer",
    max_cols: int = _MAX_COLS,
    headers: Mapping[Any, str] | None = None,
    nan_text: Mapping[Any, str] | None = None,
    marks: Mapping[Any, Any] | None = None,
) -> str:
    """``df`` as HTML tables of at most ``max_cols`` columns besides ``key``.

    A wider frame is split into several tables, each repeating the ``key`` column, so the
    page never needs a horizontal scroll; long cells wrap (see ``_CSS``). ``nan_text``
    gives, per column, what a NaN cell shows instead of "nan" (e.g. "undefined");
    ``marks`` ({column: one bool per row of ``df``}) puts :data:`_CEILING_MARK` on the
    cells it flags.
    """
    cols = list(df.columns)
    lead = [key] if key in cols else []
    rest = [c for c in cols if c not in lead]
    chunks = [rest[i : i + max_cols] for i in range(0, len(rest), max_cols)] or [[]]
    return "".join(_one_table(df, lead + chunk, headers, nan_text, marks) for chunk in chunks)


def _readme_text() -> str | None:
    """The README: the checkout's when the package runs from one, else the copy in the
    installed package's metadata (its long description); None when neither is there."""
    readme = Path(__file__).resolve().parents[2] / "README.md"
    if readme.is_file():
        return readme.read_text(encoding="utf-8")
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        text = metadata("mi-probe").get_payload()  # type: ignore[attr-defined]
    except (PackageNotFoundError, AttributeError):
        return None
    return text if isinstance(text, str) and text.strip() else None


def _readme_section(text: str, name: str) -> str | None:
    """The Markdown of the README section headed ``name`` (backticks ignored), up to the
    next heading of the same or a higher level (lines inside code fences are not
    headings); None when there is no such heading."""

    def heading(line: str) -> int:
        level = len(line) - len(line.lstrip("#"))
        return level if 0 < level <= 6 and line[level : level + 1] == " " else 0

    lines = text.splitlines()
    start, level, fenced = None, 0, False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        lv = 0 if fenced else heading(line)
        if start is None:
            if lv and line[lv:].strip().replace("`", "") == name:
                start, level = i + 1, lv
        elif lv and lv <= level:
            return "\n".join(lines[start:i]).strip("\n")
    return None if start is None else "\n".join(lines[start:]).strip("\n")


def _write_about(out: Path) -> bool:
    """Write ``about.html`` beside the report: the README sections the page links to, so
    the links work wherever the folder is copied (the README itself stays behind).
    False when the README is not available."""
    text = _readme_text()
    if text is None:
        return False
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mi_probe: how the report's numbers are measured</title><style>{_CSS}"
        "pre.md { white-space: pre-wrap; overflow-wrap: anywhere; }</style></head><body>",
        "<h1>How the report's numbers are measured</h1>",
        '<p class="note">The sections of the mi_probe README that the report links to, '
        'copied here as written (Markdown). <a href="index.html">Back to the report</a>.</p>',
    ]
    found = False
    for name, anchor in _README_SECTIONS.values():
        body = _readme_section(text, name)
        if body is None:
            continue
        found = True
        parts.append(f'<h2 id="{html.escape(anchor)}">{html.escape(name)}</h2>')
        parts.append(f'<pre class="md">{html.escape(body)}</pre>')
    parts.append("</body></html>")
    if found:
        (out / "about.html").write_text("\n".join(parts), encoding="utf-8")
    return found


def _readme_link(section: str, about: bool) -> str:
    """A link to a README section, copied into the report folder's ``about.html`` (so the
    link survives the folder being shared); the section's name alone without it."""
    name, anchor = _README_SECTIONS[section]
    label = f"README, &ldquo;{html.escape(name)}&rdquo;"
    return f'<a href="about.html#{html.escape(anchor)}">{label}</a>' if about else label


def _settings_value(v: Any) -> str:
    """A settings value as readable HTML: a dict as a nested two-column table, a list as
    a comma-separated line, None as a dash; every user string escaped."""
    if isinstance(v, Mapping):
        if not v:
            return "&ndash;"
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_settings_value(x)}</td></tr>"
            for k, x in v.items()
        )
        return f'<table class="text"><tbody>{rows}</tbody></table>'
    if isinstance(v, (list, tuple)):
        return ", ".join(html.escape(str(x)) for x in v) if v else "&ndash;"
    if v is None:
        return "&ndash;"
    return html.escape(str(v))


def _measured_by(settings: dict[str, Any], nuisance_names: list[str], has_factors: bool) -> str:
    """The table that says which estimator and regime produced each column."""
    n_res = settings.get("n_resamples", 0)
    rows: list[tuple[str, str, str]] = [
        (
            "type",
            "the layer's module class (results.csv; blank for the input and where "
            "activations were given without a model); the tables show it beside the name",
            "the model",
        ),
        (
            "same_as",
            "the earlier layer whose activations this row's equal exactly (results.csv); "
            "such rows are left out of the tables and figures",
            "exact comparison of the flattened activations",
        ),
        ("n_features", "number of units of the layer (flattened)", "counted"),
        ("I_zx", "I(x; z), nats", html.escape(str(settings.get("I_zx", "")))),
        (
            "I_zx_at_ceiling",
            "I_zx is at its ceiling ln n (nearly every sample in its own bin): it then "
            f"says nothing about how much the layer keeps; marked {_CEILING_MARK} in the "
            "tables",
            "I_zx &ge; 0.99 ln n (the information plane's rule) or as many occupied bins "
            "as samples",
        ),
        (
            "I_zy, I_zy_low, I_zy_high",
            "I(z; y), nats (low/high: the estimator's interval; the page leaves them out when "
            "the estimator gives none, the CSV has them as nan)",
            html.escape(str(settings.get("I_zy") or "no targets given: not measured")),
        ),
        ("I_zy_clamped", "the I(z; y) estimate exceeded H(y) and was clamped", "flag"),
        ("tc", "total correlation TC(z), nats", html.escape(str(settings.get("tc", "")))),
    ]
    if nuisance_names:
        rows += [
            (
                "I_zn, I_zn_null",
                "I(z; n), nats, and the 95% level of its permutation null: a layer at or "
                "below the null carries no detectable nuisance information",
                html.escape(str(settings.get("I_zn", ""))),
            ),
            (
                "invariance, invariance_low, invariance_high",
                "1 - I(z; n)/I(x; n), unitless in [0, 1] (1: the layer discards all the "
                "nuisance information the input had)",
                f"ratio of the I(z; n) estimates above; interval from {n_res} half-sample "
                "resamples" + (" (0 resamples: no interval, nan)" if not n_res else ""),
            ),
            (
                "bound_ok",
                "whether I(z; n) &le; I(z; x) - I(x; y) holds (Achille &amp; Soatto 2018)",
                "I_zn of this nuisance, the clean I_zx and the input's clean I_zy",
            ),
        ]
    if has_factors:
        dis = settings.get("disentanglement")
        rows.append(
            (
                "mig, sap, dci_*, modularity, factorvae",
                "disentanglement metrics against the given factors, unitless in [0, 1]",
                f"on the {settings.get('max_units_disentanglement')} highest-variance units; "
                + (_settings_value(dis) if dis else ""),
            )
        )
    body = "".join(
        f"<tr><td><code>{html.escape(c)}</code></td><td>{what}</td><td>{how}</td></tr>"
        for c, what, how in rows
    )
    return (
        '<table class="text"><thead><tr><th>column</th><th>what it is</th>'
        f"<th>estimator and regime</th></tr></thead><tbody>{body}</tbody></table>"
    )


_INV_COLUMNS = ("invariance", "invariance_low", "invariance_high")

# the marker on an I_zx cell at the ln n ceiling, and the note that explains it
_CEILING_MARK = "\u2020"
# I_zx at or above this share of ln n is flagged, as I(X;T) is in information_plane()
_CEILING_SHARE = 0.99
_CEILING_NOTE = (
    "at the ln n ceiling (within 1%): nearly all samples in distinct bins; use fewer "
    "bins/components or more samples to compare layers"
)


def _ceiling_marks(t: Any) -> dict[str, list[bool]]:
    """``{"I_zx": one bool per row}`` from a frame's ``I_zx_at_ceiling`` column ({} without)."""
    if "I_zx_at_ceiling" not in t.columns:
        return {}
    return {"I_zx": [v is True or v is np.True_ for v in t["I_zx_at_ceiling"]]}


def _ceiling_sentence(n: Any) -> str:
    """The note under a table with marked I_zx cells, plain text."""
    return f"{_CEILING_MARK} I_zx {_CEILING_NOTE} (ln n = {math.log(int(n)):.3f} nats, n = {n})."


_CLEAN_SENTENCE = (
    "I_zx, I_zy and I(x; y) (the input row's I_zy) are measured once, on the clean "
    "inputs; every table that shows them repeats these same numbers."
)


def _nuisance_sentence(spec: str) -> str:
    """Where a nuisance's I_zn and invariance were measured, in one sentence."""
    if spec == "per-sample values":
        return (
            "I_zn, its null and the invariance score: measured on the clean inputs' "
            "activations against the given per-sample nuisance values."
        )
    return (
        "I_zn, its null and the invariance score: measured on transformed copies of the "
        f"inputs (the model run again on them; {spec}); I_zx and I_zy are the clean "
        "inputs' numbers of the first table."
    )


def _write_html(
    path: Path,
    title: str,
    df: Any,
    inv_tables: list[Any],
    settings: dict[str, Any],
    figs: list[tuple[str, str]],
    about: bool = False,
) -> None:
    specs = {str(k): str(v) for k, v in (settings.get("nuisances") or {}).items()}
    names = list(specs)
    undefined = dict(settings.get("invariance_undefined") or {})
    labels, hidden = _layer_labels(df), _hidden_rows(df)
    shown = _without_empty_intervals(_shown_rows(df, labels, hidden))
    main_cols = [
        c
        for c in (
            "layer",
            "n_features",
            "I_zx",
            "I_zy",
            "I_zy_low",
            "I_zy_high",
            "I_zy_clamped",
            "tc",
        )
        if c in shown.columns
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{settings["n_samples"]} samples, {len(settings["layers"])} rows '
        f"(input + probed layers). All information in nats. Created {settings['created']} "
        "by mi_probe. The same numbers, one column per quantity, are in "
        "<code>results.csv</code>; the section &ldquo;How each number was measured&rdquo; "
        "below says which estimator and regime produced each column, and the "
        f"{_readme_link('reports', about)} explains them (intervals, nulls and flags: "
        f"{_readme_link('trust', about)}).</p>",
        "<h2>Per-layer summary</h2>",
    ]
    repeats = _repeats_note(df)
    if repeats:
        parts.append(
            f'<p class="note">{html.escape(repeats)} (They stay in <code>results.csv</code>, '
            "marked in its <code>same_as</code> column.)</p>"
        )
    main_marks = _ceiling_marks(shown)
    parts += [
        "<h3>Information about the input and the targets</h3>",
        f'<p class="note">{html.escape(_CLEAN_SENTENCE)}</p>',
        _fmt_table(shown[main_cols], marks=main_marks),
    ]
    if any(main_marks.get("I_zx", [])):
        parts.append(f'<p class="note">{html.escape(_ceiling_sentence(settings["n_samples"]))}</p>')
    for name in names:
        cols = [
            c
            for c in (
                "I_zn",
                "I_zn_null",
                "invariance",
                "invariance_low",
                "invariance_high",
                "bound_ok",
            )
            if f"{c}[{name}]" in shown.columns
        ]
        if not cols:
            continue
        sub = shown[["layer", *(f"{c}[{name}]" for c in cols)]]
        nan_text = {f"{c}[{name}]": "undefined" for c in _INV_COLUMNS} if name in undefined else {}
        parts.append(
            f"<h3>Nuisance &lsquo;{html.escape(name)}&rsquo;</h3>"
            f'<p class="note">Columns <code>&lt;quantity&gt;[{html.escape(name)}]</code> of '
            f"<code>results.csv</code>. {html.escape(_nuisance_sentence(specs[name]))}</p>"
        )
        parts.append(_fmt_table(sub, headers={f"{c}[{name}]": c for c in cols}, nan_text=nan_text))
        if name in undefined:
            parts.append(f'<p class="note">undefined: {html.escape(undefined[name])}.</p>')
    dis_cols = [c for c in shown.columns if c in _DIS_COLUMNS]
    if dis_cols:
        parts.append("<h3>Disentanglement (unitless, 0 to 1)</h3>")
        parts.append(_fmt_table(shown[["layer", *dis_cols]], max_cols=4))
    parts.append("<h2>How each number was measured</h2>")
    parts.append(_measured_by(settings, names, bool(dis_cols)))
    if figs or (undefined and len(undefined) == len(names)):
        parts.append("<h2>Figures</h2>")
        if names and len(undefined) == len(names):
            parts.append(
                '<p class="note">No invariance figure: the invariance of every nuisance is '
                "undefined (see the nuisance tables).</p>"
            )
        for rel, cap in figs:
            parts.append(
                f'<figure><img src="{html.escape(rel)}" alt="{html.escape(cap)}">'
                f'<figcaption class="note">{html.escape(cap)}</figcaption></figure>'
            )
    for t in inv_tables:
        name = str(t["nuisance"].iloc[0])
        parts.append(f"<h2>Nuisance: {html.escape(name)} (all columns)</h2>")
        parts.append(
            f'<p class="note">{html.escape(_nuisance_sentence(specs.get(name, "")))} '
            f"{', '.join(_CLEAN_COLUMNS)}: the first table's numbers (clean inputs), "
            "the same in every table.</p>"
        )
        nan_text = {c: "undefined" for c in _INV_COLUMNS} if name in undefined else {}
        full = _without_empty_intervals(_shown_rows(t, labels, hidden))
        marks = _ceiling_marks(full)
        parts.append(_fmt_table(full, nan_text=nan_text, marks=marks))
        if any(marks.get("I_zx", [])):
            parts.append(
                f'<p class="note">{html.escape(_ceiling_sentence(settings["n_samples"]))}</p>'
            )
    parts.append('<h2>Settings</h2><table class="text"><tbody>')
    for k, v in settings.items():
        parts.append(f"<tr><th>{html.escape(str(k))}</th><td>{_settings_value(v)}</td></tr>")
    parts.append("</tbody></table></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def _write_markdown(
    path: Path, title: str, df: Any, settings: dict[str, Any], figs: list[tuple[str, str]]
) -> None:
    undefined = dict(settings.get("invariance_undefined") or {})
    shown = _without_empty_intervals(_shown_rows(df, _layer_labels(df), _hidden_rows(df)))
    nan_text = {f"{c}[{name}]": "undefined" for name in undefined for c in _INV_COLUMNS}
    lines = [
        f"# {_md_escape(title)}",
        "",
        f"{settings['n_samples']} samples; all information in nats.",
        "",
        "## Per-layer summary",
        "",
        _md_escape(_CLEAN_SENTENCE),
        "",
        _md_table(shown, nan_text=nan_text, marks=_ceiling_marks(shown)),
        "",
    ]
    notes = [_md_escape(f"invariance[{name}] undefined: {why}.") for name, why in undefined.items()]
    if any(_ceiling_marks(shown).get("I_zx", [])):
        notes.insert(0, _md_escape(_ceiling_sentence(settings["n_samples"])))
    repeats = _repeats_note(df)
    if repeats:
        notes.append(_md_escape(repeats + " (They stay in results.csv, column same_as.)"))
    if notes:
        lines += [f"- {note}" for note in notes] + [""]
    if figs:
        lines += ["## Figures", ""]
        lines += [f"![{_md_escape(cap)}]({rel})\n" for rel, cap in figs]
    lines += ["## Settings", ""]
    lines += [
        f"- **{_md_escape(k)}**: "
        + _md_escape(json.dumps(v, default=str) if isinstance(v, (dict, list)) else v)
        for k, v in settings.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
