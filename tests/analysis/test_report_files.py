"""Issue 19: files the report and the recorders write.

- figure file names are unique and stable (``a/b`` and ``a_b`` no longer share one);
- names with ``$`` (mathtext) no longer crash the figures, and a figure that fails
  anyway is left out with a warning while everything else is written;
- ``report.md`` carries no raw ``<script>``/``onerror=`` from user names;
- CSV cells and headers that begin with ``=``, ``+``, ``-``, ``@`` are neutralised (and
  read back exactly by ``load_plane``).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mi_probe._csv import escape_cell, neutralize_csv, unescape_csv, write_csv
from mi_probe.analysis.information_plane import load_plane, save_plane
from mi_probe.analysis.report import _figure_file, _md_escape, report

matplotlib.use("Agg")

EVIL_NAMES = (
    "a/b",
    "a_b",
    "$$",
    r"$\frac{1}{$",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
)
# per-sample nuisance values (a discrete code per sample), one array per name
EVIL = {name: np.random.default_rng(i).integers(0, 3, 150) for i, name in enumerate(EVIL_NAMES)}


def _setup(n: int = 150):
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(size=(n, 2, 2)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 2, n))
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(flat=nn.Flatten(), fc=nn.Linear(4, 3), act=nn.Tanh()))
    return model, x, y


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory: pytest.TempPathFactory):
    model, x, y = _setup()
    out = tmp_path_factory.mktemp("evil_report")
    df = report(
        model,
        (x, y),
        layers=["act"],
        nuisances=dict(EVIL),
        out=out,
        n_permutations=2,
        n_resamples=0,
        title="<b>title</b> $x$",
    )
    return df, out


def test_figure_names_are_unique_and_stable(evil_report) -> None:
    df, out = evil_report
    figs = sorted(p.name for p in (out / "figures").glob("nuisance_*.png"))
    assert len(figs) == len(EVIL)  # one file per nuisance: a/b and a_b apart
    assert _figure_file("nuisance", "a/b") != _figure_file("nuisance", "a_b")
    assert _figure_file("nuisance", "a/b") == _figure_file("nuisance", "a/b")
    assert _figure_file("nuisance", "a/b") in figs and _figure_file("nuisance", "a_b") in figs
    assert (out / "index.html").is_file()


def test_mathtext_names_do_not_crash_the_figures(evil_report) -> None:
    _, out = evil_report
    for name in ("$$", r"$\frac{1}{$"):
        assert (out / "figures" / _figure_file("nuisance", name)).is_file()
    assert (out / "figures" / "information.png").is_file()


def test_markdown_carries_no_raw_html(evil_report) -> None:
    _, out = evil_report
    md = (out / "report.md").read_text()
    html_text = (out / "index.html").read_text()
    for text in (md, html_text):
        assert "<script" not in text and "<img src=x" not in text and "<b>" not in text
    assert "&lt;script&gt;" in md
    assert _md_escape("a|b <i>") == r"a\|b &lt;i&gt;"
    assert "\n" not in _md_escape("two\nlines")


def test_results_csv_neutralises_formulas(tmp_path: Path) -> None:
    model, x, y = _setup()
    df = report(
        model,
        (x, y),
        layers=["act"],
        nuisances={'=HYPERLINK("http://x")': "noise", "+1": "brightness"},
        out=tmp_path,
        n_permutations=2,
        n_resamples=0,
        figures=False,
    )
    raw = pd.read_csv(tmp_path / "results.csv", dtype=str, keep_default_na=False)
    cells = [str(c) for c in raw.columns] + [v for col in raw for v in raw[col]]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert len(df) >= 1


def test_a_failing_figure_is_left_out_and_the_rest_written(tmp_path, monkeypatch) -> None:
    import mi_probe.plotting.invariance as plots

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed on purpose")

    monkeypatch.setattr(plots, "plot_invariance", broken)
    model, x, y = _setup()
    with pytest.warns(RuntimeWarning, match="figure 'invariance.png'.*could not be drawn"):
        report(
            model,
            (x, y),
            layers=["act"],
            nuisances={"n": EVIL["a/b"]},
            out=tmp_path,
            n_permutations=2,
            n_resamples=0,
        )
    assert not (tmp_path / "figures" / "invariance.png").exists()
    assert (tmp_path / "figures" / "information.png").is_file()
    for name in ("index.html", "report.md", "results.csv"):
        assert (tmp_path / name).is_file()
    assert "invariance.png" not in (tmp_path / "index.html").read_text()


def test_csv_helpers_round_trip() -> None:
    values = ["=1+1", "+a", "-a", "@SUM(A1)", "\tx", "'quoted", "'=x", "plain", "", "a=b"]
    assert [escape_cell(v) for v in values[:4]] == ["'=1+1", "'+a", "'-a", "'@SUM(A1)"]
    assert escape_cell(-0.5) == -0.5 and escape_cell("plain") == "plain"
    df = pd.DataFrame({"=name": values, "x": np.arange(len(values), dtype=float) - 3})
    safe = neutralize_csv(df)
    assert list(safe.columns) == ["'=name", "x"]
    assert (safe["x"] == df["x"]).all()  # numbers untouched, negative ones too
    pd.testing.assert_frame_equal(unescape_csv(safe), df)


def test_recorder_csv_is_neutralised_and_reads_back(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "epoch": [0, 1],
            "layer": ["=cmd|' /C calc'!A0", "-layer"],
            "estimator": ["kde", "kde"],
            "I_XT": [0.5, -0.25],
            "I_TY": [0.1, 0.2],
        }
    )
    path = tmp_path / "plane.csv"
    save_plane(df, path)
    text = path.read_text()
    assert "\n=cmd" not in text and ",=cmd" not in text and ",-layer" not in text
    back = load_plane(path)
    assert list(back["layer"]) == list(df["layer"])
    assert np.allclose(back["I_XT"], df["I_XT"])
    other = tmp_path / "w.csv"
    write_csv(df, other)
    assert "'=cmd" in other.read_text()


def test_plot_functions_show_dollar_names_literally() -> None:
    import matplotlib.pyplot as plt

    from mi_probe.plotting.information_plane import plot_information_plane

    df = pd.DataFrame(
        {
            "epoch": [0, 1, 0, 1],
            "layer": ["$$", "$$", r"$\frac{1}{$", r"$\frac{1}{$"],
            "estimator": ["$kde"] * 4,
            "I_XT": [1.0, 1.2, 0.5, 0.6],
            "I_TY": [0.1, 0.2, 0.1, 0.3],
        }
    )
    ax = plot_information_plane(df)
    ax.figure.savefig(__import__("io").BytesIO(), format="png")  # raised before the fix
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [r"\$\$", r"\$\frac{1}{\$"]
    plt.close(ax.figure)
