"""Every dotted ``mi_probe.`` name in README.md resolves after a plain ``import mi_probe``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# mi_probe.a.b.c, not mi_probe_demo/ nor a path like mi_probe/estimators/ksg.py
_NAME = re.compile(r"(?<![\w./-])mi_probe(?:\.[A-Za-z_]\w*)+")


def readme_names() -> list[str]:
    return sorted(set(_NAME.findall(README.read_text(encoding="utf-8"))))


# Resolve in a fresh interpreter: inside the test session other tests have already
# imported most submodules, which would hide a missing lazy attribute.
_RESOLVE = """
import json, sys
import mi_probe
heavy = sorted(m for m in ("torch", "pandas", "matplotlib", "scipy") if m in sys.modules)
failed, optional = {}, {}
for name in json.loads(sys.argv[1]):
    obj = mi_probe
    for part in name.split(".")[1:]:
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            failed[name] = str(exc)
            break
        except ModuleNotFoundError as exc:  # an integration whose framework is absent
            if (exc.name or "").startswith("mi_probe"):
                failed[name] = str(exc)
            else:
                optional[name] = exc.name
            break
print(json.dumps({"heavy_after_import": heavy, "failed": failed, "optional": optional}))
"""


def _resolve(names: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _RESOLVE, json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_readme_has_names() -> None:
    names = readme_names()
    # the names the issue reported as broken are all in the README and get checked
    for name in (
        "mi_probe.layers.InformationDropout",
        "mi_probe.estimators.reliability.flags_for",
        "mi_probe.backends.native_status",
        "mi_probe.experiments.critical_periods",
        "mi_probe.plotting.plot_weight_information",
        "mi_probe.estimators.neural.gaussian_encoder_kl_bound",
    ):
        assert name in names
    assert len(names) > 20


@pytest.fixture(scope="module")
def resolved() -> tuple[list[str], dict]:
    names = readme_names() + ["mi_probe.KSGEstimator", "mi_probe.ksg_mi"]
    return names, _resolve(names)


def test_every_readme_name_resolves_after_plain_import(resolved) -> None:
    names, out = resolved
    assert out["failed"] == {}, "README names that do not resolve: " + ", ".join(out["failed"])
    # names under an optional framework resolve when it is installed; where it is not,
    # the import names the missing package (checked in tests/integrations)
    assert set(out["optional"]) <= {n for n in names if n.startswith("mi_probe.integrations.")}


def test_import_stays_cheap(resolved) -> None:
    # the lazy attributes must not make `import mi_probe` pull in the heavy packages
    assert resolved[1]["heavy_after_import"] == []


def test_unknown_attribute_still_raises() -> None:
    import mi_probe
    import mi_probe.analysis

    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        mi_probe.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="'mi_probe.analysis' has no attribute 'nope'"):
        mi_probe.analysis.nope  # noqa: B018
    assert "layers" in dir(mi_probe) and "KSGEstimator" in dir(mi_probe)
    assert (
        mi_probe.KSGEstimator is __import__("mi_probe.estimators.ksg").estimators.ksg.KSGEstimator
    )
