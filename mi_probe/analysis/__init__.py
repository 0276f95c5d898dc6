"""Information in representations, built on the estimators and probes: information-plane
recording (:mod:`mi_probe.analysis.information_plane`), invariance to nuisances, total
correlation, disentanglement, checkpoint sweeps, and the report that assembles them.
Information in the weights is :mod:`mi_probe.weights`. Submodules are imported on use;
only the report's figure step reaches :mod:`mi_probe.plotting`.
"""
