"""Hugging Face ``Trainer`` callbacks: the information plane and the information in the
weights, recorded during ``trainer.train()``.

The same contract as :mod:`mi_probe.integrations.lightning`: at the end of every
``every_n_epochs``-th epoch (``on_epoch_end``, or after an evaluation with
``on="evaluate"``) the callback calls a recorder on the model being trained, writes the
tidy table into ``args.logging_dir`` (else ``args.output_dir``) and logs one scalar per
layer (``info/I_XT/<layer>``, ``info/I_TY/<layer>``, nats). Recording leaves training
as it was: the ``training`` flags, autograd mode and the torch, numpy and Python random
generators are restored, and weights, gradients and optimiser state are only read.

A ``TrainerCallback`` is not handed the ``Trainer``, so it cannot reach the loggers of
``report_to`` on its own. Attach it with :meth:`attach` (``cb.attach(trainer)``, which
also adds it to the trainer) and the scalars go through ``trainer.log`` to every
integration (TensorBoard, W&B, MLflow, ...) and into ``trainer.state.log_history``;
passed as ``Trainer(callbacks=[cb])`` only, they go into ``state.log_history`` (and so
into ``trainer_state.json``) but not to the loggers.

Epochs are numbered from 0, as in the Lightning callback and a plain loop: the rows of
the first epoch have ``epoch == 0``.

Needs ``pip install 'mi-probe[transformers]'``.
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
    plane_scalars,
    training_state_kept,
    weight_scalars,
    write_table,
)

require("transformers", "mi_probe.integrations.huggingface")
from transformers import TrainerCallback  # noqa: E402

__all__ = ["InformationPlaneCallback", "WeightInformationCallback"]

_HOOKS = ("epoch", "evaluate")


def _out_dir(args: Any) -> Path:
    d = getattr(args, "logging_dir", None) or getattr(args, "output_dir", None) or "."
    return Path(d)


class _RecordingCallback(TrainerCallback):
    def __init__(self, every_n_epochs: int, on: str, filename: str) -> None:
        self.every_n_epochs = check_every(every_n_epochs)
        self.on = check_choice(on, "on", _HOOKS)
        if not isinstance(filename, str) or not filename:
            raise ValueError(f"filename must be a non-empty file name, got {filename!r}")
        self.filename = filename
        self.path: Path | None = None
        self.recorder: Any = None
        self._trainer: Any = None
        self._last_epoch: int | None = None
        self._pending: tuple[int, Any] | None = None

    def attach(self, trainer: Any) -> Any:
        """Add this callback to ``trainer`` and log through ``trainer.log``; returns self."""
        self._trainer = trainer
        if self not in trainer.callback_handler.callbacks:
            trainer.add_callback(self)
        return self

    # An epoch's loss is logged right after ``on_epoch_end`` (with logging_strategy
    # "epoch"), so a due epoch is marked at its end and recorded at that log; or, when no
    # such log comes, when the next epoch begins or training ends. The weights are the
    # same at all these points: no optimiser step lies between them.
    def _mark(self, state: Any, model: Any) -> None:
        if model is None or not getattr(state, "is_world_process_zero", True):
            return
        epoch = int(round(float(state.epoch or 0.0))) - 1  # state.epoch counts finished ones
        if epoch < 0 or epoch == self._last_epoch or not due(epoch, self.every_n_epochs):
            return
        self._pending = (epoch, model)

    def _flush(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any]) -> None:
        if self._pending is None:
            return
        epoch, model = self._pending
        self._pending = None
        self._last_epoch = epoch
        if self.recorder is None or self.recorder.model is not model:
            self.recorder = self._make_recorder(model)
        with training_state_kept(model):
            scalars = self._record(epoch, state, logs)
        self.path = write_table(self.dataframe, _out_dir(args), self.filename)
        if self._trainer is not None:
            # trainer.log runs every callback's on_log, which clears the trainer's
            # pending actions: keep them
            flags = {k: v for k, v in vars(control).items() if k.startswith("should_")}
            self._trainer.log(dict(scalars))
            for k, v in flags.items():
                setattr(control, k, v)
        else:
            state.log_history.append({**scalars, "epoch": state.epoch, "step": state.global_step})

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.on == "epoch":
            self._mark(state, kwargs.get("model"))

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if self._pending is not None and logs and "loss" in logs:
            self._flush(args, state, control, logs)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.on == "evaluate":
            self._mark(state, kwargs.get("model"))
            self._flush(args, state, control, kwargs.get("metrics") or {})

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._flush(args, state, control, {})

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._flush(args, state, control, {})

    def _make_recorder(self, model: Any) -> Any:
        raise NotImplementedError

    def _record(self, epoch: int, state: Any, logs: Mapping[str, Any]) -> dict[str, float]:
        raise NotImplementedError

    @property
    def dataframe(self) -> Any:
        raise NotImplementedError


def _last_logged(state: Any, key: str | None, logs: Mapping[str, Any]) -> float | None:
    """``logs[key]`` (the log being written), else its last value in the log history."""
    if key is None:
        return None
    for entry in [logs, *reversed(getattr(state, "log_history", []))]:
        if key in entry:
            try:
                return float(entry[key])
            except (TypeError, ValueError):
                return None
    return None


class InformationPlaneCallback(_RecordingCallback):
    """Record I(X;T) and I(T;Y) of chosen layers during ``Trainer.train``.

    Parameters
    ----------
    x_probe : array-like or tensor, shape (n_samples, ...)
        A fixed probe set of inputs: what the model's ``forward`` takes as its first
        argument (each batch goes to the model's device).
    y_probe : array-like or tensor of int, shape (n_samples,)
        Class labels of ``x_probe``.
    layers : see :func:`mi_probe.attach`
        Submodules of the model (dotted names as in ``model.named_modules()``).
    every_n_epochs : int, default 1
        Record after epochs ``n - 1, 2n - 1, ...`` (0-based).
    estimators, params
        As in :class:`mi_probe.InformationPlaneRecorder` (its default estimators when
        ``estimators`` is None).
    on : {"epoch", "evaluate"}, default "epoch"
        Record at ``on_epoch_end``, or after the evaluation of a due epoch.
    filename : str, default "information_plane.csv"
        The table's name in ``args.logging_dir`` (else ``args.output_dir``).
    train_loss_key, test_loss_key : str or None
        Logged values stored in the ``train_loss``/``test_loss`` columns: the epoch's
        own log when ``logging_strategy="epoch"``, else the last logged value (NaN when
        never logged).
    **recorder_kwargs
        Further arguments of :class:`mi_probe.InformationPlaneRecorder`.

    Attributes
    ----------
    dataframe : pandas.DataFrame
        The tidy table of :attr:`InformationPlaneRecorder.dataframe` (nats).
    path : pathlib.Path or None
        Where the table was last written.

    Raises
    ------
    ValueError
        ``every_n_epochs < 1``, an unknown ``on`` or an empty ``filename``; bad probe
        data, layers or estimators when the first recording creates the recorder.
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
        on: str = "epoch",
        filename: str = "information_plane.csv",
        train_loss_key: str | None = "loss",
        test_loss_key: str | None = "eval_loss",
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

    def _make_recorder(self, model: Any) -> Any:
        from ..analysis.information_plane import InformationPlaneRecorder

        kwargs = dict(self.recorder_kwargs)
        if self.estimators is not None:
            kwargs["estimators"] = self.estimators
        return InformationPlaneRecorder(
            model, self.x_probe, self.y_probe, layers=self.layers, params=self.params, **kwargs
        )

    def _record(self, epoch: int, state: Any, logs: Mapping[str, Any]) -> dict[str, float]:
        rows = self.recorder.record(
            epoch,
            train_loss=_last_logged(state, self.train_loss_key, logs),
            test_loss=_last_logged(state, self.test_loss_key, logs),
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
    ``Trainer.train``.

    Parameters
    ----------
    data : DataLoader, (x, y) pair, (x,) or x
        Data for the Fisher information (see :class:`mi_probe.WeightInformationRecorder`).
    layers : str or sequence of str, optional
    every_n_epochs : int, default 1
    method : {"fisher", "variational"}, default "fisher"
    on : {"epoch", "evaluate"}, default "epoch"
    filename : str, default "weight_information.csv"
    **kwargs
        Passed to :func:`mi_probe.weight_information` (``loss``, ``n_train``, ...). The
        model's output must be logits (or pass ``loss``).

    Raises
    ------
    ValueError
        ``every_n_epochs < 1``, an unknown ``on`` or an empty ``filename``.
    """

    def __init__(
        self,
        data: Any,
        *,
        layers: Any = None,
        every_n_epochs: int = 1,
        method: str = "fisher",
        on: str = "epoch",
        filename: str = "weight_information.csv",
        **kwargs: Any,
    ) -> None:
        super().__init__(every_n_epochs, on, filename)
        self.data = data
        self.layers = layers
        self.method = method
        self.kwargs = kwargs

    def _make_recorder(self, model: Any) -> Any:
        from ..weights.weight_information import WeightInformationRecorder

        return WeightInformationRecorder(
            model, self.data, layers=self.layers, method=self.method, **self.kwargs
        )

    def _record(self, epoch: int, state: Any, logs: Mapping[str, Any]) -> dict[str, float]:
        return weight_scalars(self.recorder.record(epoch))

    @property
    def dataframe(self) -> Any:
        """The recorded rows (``WeightInformationRecorder.to_frame()``)."""
        if self.recorder is None:
            import pandas as pd

            from ..weights.weight_information import WeightInformationRecorder

            return pd.DataFrame(columns=list(WeightInformationRecorder.COLUMNS))
        return self.recorder.to_frame()
