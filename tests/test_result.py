import math

import pytest

from mi_probe import MIResult


def test_float_and_bits():
    r = MIResult(math.log(2), "discrete", 10)
    assert float(r) == pytest.approx(math.log(2))
    assert r.to_bits() == pytest.approx(1.0)
    assert r.unit == "nats"


def test_frozen_and_mappings_read_only():
    r = MIResult(0.5, "ksg", 100, params={"n_neighbors": 3}, diagnostics={"raw_value": -0.1})
    with pytest.raises(AttributeError):
        r.value = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.diagnostics["raw_value"] = 0.0  # type: ignore[index]
    assert r.params["n_neighbors"] == 3


def test_with_updates_merges_diagnostics():
    r = MIResult(0.5, "ksg", 100, diagnostics={"a": 1})
    r2 = r.with_updates(diagnostics={"b": 2}, interval=(0.4, 0.6))
    assert dict(r2.diagnostics) == {"a": 1, "b": 2}
    assert r2.interval == (0.4, 0.6)
    assert dict(r.diagnostics) == {"a": 1}
    assert "nats" in repr(r2)
