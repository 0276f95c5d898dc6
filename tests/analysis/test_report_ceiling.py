"""report(): I_zx = H(bin(PCA_k(z))) cannot exceed ln n; a row at that ceiling is flagged."""

from __future__ import annotations

import html
import math
import re
import warnings

import numpy as np
import pytest

from mi_probe.analysis.report import _CEILING_MARK, report, report_long

NOTE = (
    "at the ln n ceiling (within 1%): nearly all samples in distinct bins; use fewer "
    "bins/components or more samples to compare layers"
)


def _acts(n: int = 300) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.random((n, 64))  # 300 distinct continuous inputs
    three = np.repeat(np.eye(3), n // 3, axis=0) * 2.0  # 3 distinct rows
    # "three" first: a copy right after the input would repeat it and be left off the tables
    return x, {"three": three, "copy": x.copy()}


def _report(tmp_path, **kw):
    x, acts = _acts()
    return report(
        None,
        x,
        activations=acts,
        out=tmp_path,
        figures=False,
        n_permutations=0,
        n_resamples=0,
        **kw,
    )


def _cells(page: str, layer: str) -> list[str]:
    """The text of the I_zx cells of ``layer``'s rows, in every HTML table that has I_zx."""
    out = []
    for table in re.findall(r"<table>(.*?)</table>", page, flags=re.S):
        head = [
            html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th>(.*?)</th>", table)
        ]
        if "I_zx" not in head:
            continue
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]:
            tds = [
                html.unescape(re.sub(r"<[^>]+>", "", c))
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row)
            ]
            if tds and tds[0] == layer:
                out.append(tds[head.index("I_zx")])
    return out


def test_copy_of_distinct_inputs_is_at_ceiling_three_values_not(tmp_path) -> None:
    with pytest.warns(RuntimeWarning, match="ceiling") as rec:
        df = _report(tmp_path)
    row = df.set_index("layer")
    ln_n = math.log(300)
    assert row.loc["copy", "I_zx"] == pytest.approx(ln_n)
    assert row.loc["copy", "I_zx_at_ceiling"] is np.True_ or row.loc["copy", "I_zx_at_ceiling"]
    assert row.loc["input", "I_zx_at_ceiling"]
    assert row.loc["three", "I_zx"] == pytest.approx(math.log(3))
    assert not row.loc["three", "I_zx_at_ceiling"]
    assert df.attrs["settings"]["I_zx_at_ceiling"] == ["input", "copy"]
    # warned once, naming the layers at the ceiling and not the other one
    msgs = [str(w.message) for w in rec if "ceiling" in str(w.message)]
    assert len(msgs) == 1
    assert "input, copy" in msgs[0] and "three" not in msgs[0]

    page = (tmp_path / "index.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert NOTE in text
    assert _cells(page, "copy") and all(c.endswith(_CEILING_MARK) for c in _cells(page, "copy"))
    assert _cells(page, "three") and not any(_CEILING_MARK in c for c in _cells(page, "three"))
    assert _cells(page, "copy")[0] == f"{ln_n:.3f}{_CEILING_MARK}"

    md = (tmp_path / "report.md").read_text()
    assert NOTE.replace("_", "\\_") in md or NOTE in md
    copy_line = next(line for line in md.splitlines() if line.startswith("| copy |"))
    three_line = next(line for line in md.splitlines() if line.startswith("| three |"))
    assert f"{ln_n:.3f} {_CEILING_MARK}" in copy_line
    assert _CEILING_MARK not in three_line

    long = report_long(df)
    flag = long[long["quantity"] == "I_zx_at_ceiling"].set_index("layer")
    assert set(flag["units"]) == {"flag"}
    assert flag.loc["copy", "value"] == 1.0 and flag.loc["three", "value"] == 0.0


def test_fewer_components_and_bins_leave_the_ceiling(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        df = _report(tmp_path, n_components=1, n_bins=4)
    assert not df["I_zx_at_ceiling"].any()
    assert (df["I_zx"] < math.log(300) - 0.5).all()
    page = (tmp_path / "index.html").read_text()
    assert NOTE not in html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "<sup" not in page  # no marked cell
    assert _CEILING_MARK not in (tmp_path / "report.md").read_text()


def test_within_one_percent_of_the_ceiling_is_flagged(tmp_path) -> None:
    # 4 of 300 samples share a row with another: H = ln 300 - 8/300 ln 2 ~ 5.69, within
    # 1% of ln 300 = 5.70 (the information plane's rule): flagged, although not every
    # sample has its own bin; 150 distinct rows (H = ln 150, 12% below) is not
    x, _ = _acts()
    near = x.copy()
    near[[1, 3, 5, 7]] = near[[0, 2, 4, 6]]
    half = np.repeat(x[:150], 2, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = report(
            None,
            x,
            activations={"half": half, "near": near},
            out=tmp_path,
            figures=False,
            n_permutations=0,
            n_resamples=0,
        )
    row = df.set_index("layer")
    ln_n = math.log(300)
    assert ln_n - 0.05 < row.loc["near", "I_zx"] < ln_n - 1e-3
    assert row.loc["near", "I_zx_at_ceiling"]
    assert row.loc["half", "I_zx"] == pytest.approx(math.log(150))
    assert not row.loc["half", "I_zx_at_ceiling"]
