"""PyTorch Lightning callbacks: the information plane and the information in the weights,
recorded during ``Trainer.fit``.

Each callback is a thin wrapper around a recorder that works in any loop
(:class:`mi_probe.InformationPlaneRecorder`, :class:`mi_probe.WeightInformationRecorder`):
at the end of every ``every_n_epochs``-th training (or validation) epoch it calls the
recorder on the ``LightningModule``, writes the tidy table into the trainer's log
directory and logs one scalar per layer through ``pl_module.log``, so every Lightning
logger (TensorBoard, CSV, Weights & Biases, ...) receives them. Values are in nats.

Recording leaves the run as it was: weights, gradients and optimiser state are only
read; the ``training`` flags, autograd mode and the torch, numpy and Python random
generators are restored afterwards, so a run with the callback trains exactly the same
weights as one without it (tested).

Needs ``pip install 'mi-probe[lightning]'``; importing this module without Lightning
raises ``ModuleNotFoundError`` saying so.

Examples
--------
>>> from lightning.pytorch import Trainer  # doctest: +SKIP
>>> from mi_probe.integrations.lightning import InformationPlaneCallback  # doctest: +SKIP
>>> cb = InformationPlaneCallback(x_probe, y_probe, layers=["net.1", "net.3"])  # doctest: +SKIP
>>> Trainer(max_epochs=20, callbacks=[cb]).fit(module, loader)  # doctest: +SKIP
>>> cb.dataframe.head()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._deps import require
from .._validation import check_choice
from ._common import (
    check_every,
    due,
    metric_value,
    plane_scalars,
    training_state_kept,
    weight_scalars,
    write_table,
)

require("lightning", "mi_probe.integrations.lightning")
from lightning.pytorch.callbacks import Callback  # noqa: E402

__all__ = ["InformationPlaneCallback", "WeightInformationCallback"]

_HOOKS = ("train", "validation")


def _log_dir(trainer: Any) -> Path:
    """The trainer's log directory (its logger's), else its ``default_root_dir``."""
    d = getattr(trainer, "log_dir", None)
    return Path(d if d is not None else trainer.default_root_dir)


class _RecordingCallback(Callback):
    """Call ``self._record(trainer, pl_module, epoch)`` at the end of chosen epochs."""

    def __init__(self, every_n_epochs: int, on: str, filename: str) -> None:
        self.every_n_epochs = check_every(every_n_epochs)
        self.on = check_choice(on, "on", _HOOKS)
        if not isinstance(filename, str) or not filename:
            raise ValueError(f"filename must be a non-empty file name, got {filename!r}")
        self.filename = filename
        self.path: Path | None = None

    def _maybe_record(self, trainer: Any, pl_module: Any) -> None:
        if getattr(trainer, "sanity_checking", False):
            return
        epoch = int(trainer.current_epoch)
        if not due(epoch, self.every_n_epochs):
            return
        # every rank holds the same weights: measure once, on rank 0
        if not trainer.is_global_zero:
            return
        with training_state_kept(pl_module):
            scalars = self._record(trainer, pl_module, epoch)
        for name, value in scalars.items():
            pl_module.log(name, value, on_step=False, on_epoch=True, rank_zero_only=True)
        self.path = write_table(self.dataframe, _log_dir(trainer), self.filename)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.on == "train":
            self._maybe_record(trainer, pl_module)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.on == "validation":
            self._maybe_record(trainer, pl_module)

    def _record(self, trainer: Any, pl_module: Any, epoch: int) -> dict[str, float]:
        raise NotImplementedError

    @property
    def dataframe(self) -> Any:
        raise NotImplementedError


class InformationPlaneCallback(_RecordingCallback):
    """Record I(X;T) and I(T;Y) of chosen layers during ``Trainer.fit``.

    Parameters
    ----------
    x_probe : array-like or tensor, shape (n_samples, ...)
        A fixed probe set of inputs (kept on the CPU; each batch goes to the module's
        device for the forward pass).
    y_probe : array-like or tensor of int, shape (n_samples,)
        Class labels of ``x_probe``.
    layers : see :func:`mi_probe.attach`
        Which submodules of the ``LightningModule`` to record (dotted names as in
        ``pl_module.named_modules()``); default all leaf modules.
    every_n_epochs : int, default 1
        Record after epochs ``n - 1, 2n - 1, ...`` (0-based, as ``trainer.current_epoch``).
    estimators : str, MIEstimator or sequence of them, optional
        As in :class:`mi_probe.InformationPlaneRecorder` (its default when None).
    params : mapping, optional
        Per-estimator parameters, as in :class:`mi_probe.InformationPlaneRecorder`.
    on : {"train", "validation"}, default "train"
        Record at ``on_train_epoch_end`` or at ``on_validation_epoch_end`` (never during
        the sanity check).
    filename : str, default "information_plane.csv"
        Name of the table in the trainer's log directory (``.parquet`` needs pyarrow),
        rewritten after each recording.
    train_loss_key, test_loss_key : str or None
        Logged metrics (``trainer.callback_metrics``) stored in the ``train_loss`` and
        ``test_loss`` columns; NaN when not logged.
    **recorder_kwargs
        Further arguments of :class:`mi_probe.InformationPlaneRecorder`
        (``max_samples``, ``random_state``, ``batch_size``, ...).

    Attributes
    ----------
    recorder : InformationPlaneRecorder or None
        Created in ``setup`` on the ``LightningModule``.
    dataframe : pandas.DataFrame
        The tidy table of :attr:`InformationPlaneRecorder.dataframe` (nats).
    path : pathlib.Path or None
        Where the table was last written.

    Notes
    -----
    Logged scalars: ``info/I_XT/<layer>`` and ``info/I_TY/<layer>`` (nats), with
    ``/<estimator>`` appended when more than one estimator runs. Under distributed
    training only global rank 0 measures and logs.

    Raises
    ------
    ValueError
        ``every_n_epochs < 1``, an unknown ``on``, an empty ``filename``; bad probe
        data, layers or estimators raise when the recorder is created in ``setup``.
    """

    def __init__(
        self,
        x_probe: Any,
        y_probe: Any,
        *,
        layers: Any = "all",
        every_n_epochs: int = 1,
        estimators: Any = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        on: str = "train",
        filename: str = "information_plane.csv",
        train_loss_key: str | None = "train_loss",
        test_loss_key: str | None = "val_loss",
        **recorder_kwargs: Any,
    ) -> None:
        super().__init__(every_n_epochs, on, filename)
        self.x_probe = x_probe
        self.y_probe = y_probe
        self.layers = layers
        self.estimators = estimators
        self.params = params
        self.train_loss_key = train_loss_key
        self.test_loss_key = test_loss_key
        self.recorder_kwargs = recorder_kwargs
        self.recorder: Any = None

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        from ..analysis.information_plane import InformationPlaneRecorder

        if self.recorder is not None and self.recorder.model is pl_module:
            return
        kwargs = dict(self.recorder_kwargs)
        if self.estimators is not None:
            kwargs["estimators"] = self.estimators
        self.recorder = InformationPlaneRecorder(
            pl_module,
            self.x_probe,
            self.y_probe,
            layers=self.layers,
            params=self.params,
            **kwargs,
        )

    def _record(self, trainer: Any, pl_module: Any, epoch: int) -> dict[str, float]:
        metrics = trainer.callback_metrics
        rows = self.recorder.record(
            epoch,
            train_loss=metric_value(metrics, self.train_loss_key),
            test_loss=metric_value(metrics, self.test_loss_key),
        )
        return plane_scalars(rows)

    @property
    def dataframe(self) -> Any:
        """The recorded rows as the recorder's tidy DataFrame (nats)."""
        if self.recorder is None:
            import pandas as pd

            from ..analysis.information_plane import _tidy

            return _tidy(pd.DataFrame())
        return self.recorder.dataframe


class WeightInformationCallback(_RecordingCallback):
    """Record the information in the weights (and the Fisher trace) per layer during
    ``Trainer.fit``.

    Parameters
    ----------
    data : DataLoader, (x, y) pair, (x,) or x
        Data for the Fisher information (a fixed subset of the training set keeps it
        cheap; pass ``n_train`` for the full training-set size).
    layers : str or sequence of str, optional
        Submodules of the ``LightningModule``, as in :func:`mi_probe.weight_information`.
    every_n_epochs : int, default 1
        Record after epochs ``n - 1, 2n - 1, ...`` (0-based).
    method : {"fisher", "variational"}, default "fisher"
    on : {"train", "validation"}, default "train"
    filename : str, default "weight_information.csv"
        Name of the table in the trainer's log directory, rewritten after each recording.
    **kwargs
        Passed to :func:`mi_probe.weight_information` (``kind``, ``prior_std``,
        ``beta``, ``n_train``, ``random_state``, ...).

    Attributes
    ----------
    recorder : WeightInformationRecorder or None
        Created in ``setup``.
    dataframe : pandas.DataFrame
        ``epoch, layer, information, fisher_trace, ...`` (information in nats).

    Notes
    -----
    Logged scalars: ``weights/information/<layer>`` (nats) and
    ``weights/fisher_trace/<layer>``.

    Raises
    ------
    ValueError
        ``every_n_epochs < 1``, an unknown ``on``, an empty ``filename``.
    """

    def __init__(
        self,
        data: Any,
        *,
        layers: Any = None,
        every_n_epochs: int = 1,
        method: str = "fisher",
        on: str = "train",
        filename: str = "weight_information.csv",
        **kwargs: Any,
    ) -> None:
        super().__init__(every_n_epochs, on, filename)
        self.data = data
        self.layers = layers
        self.method = method
        self.kwargs = kwargs
        self.recorder: Any = None

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        from ..weights.weight_information import WeightInformationRecorder

        if self.recorder is not None and self.recorder.model is pl_module:
            return
        self.recorder = WeightInformationRecorder(
            pl_module, self.data, layers=self.layers, method=self.method, **self.kwargs
        )

    def _record(self, trainer: Any, pl_module: Any, epoch: int) -> dict[str, float]:
        return weight_scalars(self.recorder.record(epoch))

    @property
    def dataframe(self) -> Any:
        """The recorded rows (``WeightInformationRecorder.to_frame()``)."""
        if self.recorder is None:
            import pandas as pd

            from ..weights.weight_information import WeightInformationRecorder

            return pd.DataFrame(columns=list(WeightInformationRecorder.COLUMNS))
        return self.recorder.to_frame()
