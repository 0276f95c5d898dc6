"""Analyses built on the estimators and probes: information-plane recording
(:mod:`mi_probe.analysis.information_plane`), total correlation, invariance,
disentanglement, weight information. Submodules are imported on use; nothing here
imports plotting.
"""
