"""Recording inside the training loops people already use.

``mi_probe.integrations.lightning``    :class:`InformationPlaneCallback` and
                                       :class:`WeightInformationCallback` for PyTorch
                                       Lightning (``pip install 'mi-probe[lightning]'``)
``mi_probe.integrations.huggingface``  the same two for the Hugging Face ``Trainer``
                                       (``pip install 'mi-probe[transformers]'``)
``mi_probe.integrations.tensorboard``  a recorder's table to a TensorBoard
                                       ``SummaryWriter`` (``pip install 'mi-probe[tensorboard]'``)

Each submodule imports its framework when it is imported, and raises
``ModuleNotFoundError`` naming the extra to install when the framework is missing.
"""

from .._lazy import lazy_getattr

__getattr__, __dir__ = lazy_getattr(__name__, globals())
