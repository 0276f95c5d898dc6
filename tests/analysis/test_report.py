"""The report folder: files, numbers, and a real render in headless Chromium.

Run as a script to render a report folder and save a screenshot::

    python tests/analysis/test_report.py REPORT_DIR docs/report_screenshot.png
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe.analysis.report import report, report_long

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_CHECK_SCRIPT = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__errors.push(t && t.tagName ? ('failed to load ' + (t.src || t.href)) : String(e.message));
}, true);
var __ce = console.error;
console.error = function () { window.__errors.push(Array.prototype.join.call(arguments, ' ')); __ce.apply(console, arguments); };
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.getAttribute('src'); });
  var d = document.createElement('pre'); d.id = 'mi-probe-check';
  d.textContent = JSON.stringify({images: imgs.length, broken: broken, errors: window.__errors,
                                  tables: document.querySelectorAll('table').length,
                                  title: document.title});
  document.body.appendChild(d);
});
</script>"""


def chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render_check(html_path: Path, *, timeout: float = 90.0) -> dict:
    """Load ``html_path`` in headless Chromium; return images, broken ones, JS errors, tables.

    A copy of the page with a checking script in its <head> is written next to it (so
    relative image paths resolve) and removed afterwards.
    """
    exe = chromium()
    assert exe is not None
    page = html_path.read_text(encoding="utf-8")
    probe_page = html_path.with_name("_chromium_check.html")
    probe_page.write_text(page.replace("<head>", "<head>" + _CHECK_SCRIPT, 1), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [
                    exe,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--enable-logging=stderr",
                    "--v=0",
                    "--virtual-time-budget=10000",
                    "--dump-dom",
                    probe_page.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
    finally:
        probe_page.unlink(missing_ok=True)
    m = re.search(r'<pre id="mi-probe-check">(.*?)</pre>', proc.stdout, re.S)
    if m is None:
        raise AssertionError(f"the page did not finish loading; stderr: {proc.stderr[-2000:]}")
    import html as _html

    result = json.loads(_html.unescape(m.group(1)))
    result["console"] = [
        line
        for line in proc.stderr.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "rror" in line)
    ]
    return result


_WIDTH_SCRIPT = """<script>
window.addEventListener('load', function () {
  var vw = document.documentElement.clientWidth, worst = null, widest = 0;
  Array.prototype.forEach.call(document.querySelectorAll('body *'), function (el) {
    var r = el.getBoundingClientRect(), w = Math.max(r.right, el.scrollWidth + r.left);
    if (w > widest) { widest = w; worst = el.tagName + (el.id ? '#' + el.id : ''); }
  });
  var d = document.createElement('pre'); d.id = 'mi-probe-width';
  d.textContent = JSON.stringify({viewport: vw, inner: window.innerWidth, widest: widest,
                                  worst: worst,
                                  page: document.documentElement.scrollWidth});
  document.body.appendChild(d);
});
</script>"""


def measure_width(html_path: Path, width: int, *, timeout: float = 90.0) -> dict:
    """Render ``html_path`` at ``width`` px in headless Chromium; return the viewport width,
    the right edge of the widest element (its box or its scrolled content) and the page's
    scrollWidth, all in CSS px."""
    exe = chromium()
    assert exe is not None
    page = html_path.read_text(encoding="utf-8")
    probe_page = html_path.with_name(f"_chromium_width_{width}.html")
    probe_page.write_text(page.replace("<head>", "<head>" + _WIDTH_SCRIPT, 1), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [
                    exe,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--hide-scrollbars",
                    f"--window-size={width},900",
                    "--virtual-time-budget=10000",
                    "--dump-dom",
                    probe_page.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
    finally:
        probe_page.unlink(missing_ok=True)
    m = re.search(r'<pre id="mi-probe-width">(.*?)</pre>', proc.stdout, re.S)
    if m is None:
        raise AssertionError(f"the page did not finish loading; stderr: {proc.stderr[-2000:]}")
    import html as _html

    return json.loads(_html.unescape(m.group(1)))


def screenshot(html_path: Path, png: Path, *, width: int = 1280, height: int = 2200) -> Path:
    """Save a PNG screenshot of ``html_path`` rendered by headless Chromium."""
    exe = chromium()
    if exe is None:
        raise SystemExit("chromium not found (Debian: apt-get install -y chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                f"--window-size={width},{height}",
                "--virtual-time-budget=10000",
                f"--screenshot={png.resolve()}",
                html_path.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return png


class Center(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        return x - x.mean(dim=1, keepdim=True)


def _setup(seed: int = 0, n: int = 300):
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 3, size=(n, 2))
    x = rng.uniform(size=(n, 4, 4)).astype(np.float32) * 0.3
    x[:, 0, 0] += v[:, 0]
    x[:, 3, 3] += v[:, 1]
    x = torch.from_numpy(x)
    y = torch.tensor(v[:, 0])
    torch.manual_seed(seed)
    from collections import OrderedDict

    model = nn.Sequential(OrderedDict(center=Center(), fc=nn.Linear(16, 6), act=nn.Tanh()))
    return model, x, y, v


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    model, x, y, v = _setup()
    out = tmp_path_factory.mktemp("report")
    state = {k: t.clone() for k, t in model.state_dict().items()}
    rng_state = torch.get_rng_state()
    df = report(
        model,
        (x, y),
        layers=["center", "act"],
        nuisances={"light": "brightness", "v1": v[:, 1]},
        factors=v,
        factor_names=["a", "b"],
        out=out,
        n_permutations=4,
        n_resamples=2,
        title="test report",
    )
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert all(torch.equal(state[k], t) for k, t in model.state_dict().items())
    return df, out


def test_report_files_and_columns(built) -> None:
    df, out = built
    for name in ("index.html", "report.md", "results.csv", "settings.json"):
        assert (out / name).is_file(), name
    assert list(df["layer"]) == ["input", "center", "act"]
    for col in (
        "I_zx",
        "I_zy",
        "tc",
        "I_zn[light]",
        "I_zn_null[light]",
        "invariance[light]",
        "I_zn[v1]",
        "invariance[v1]",
        "mig",
        "sap",
        "dci_disentanglement",
        "dci_completeness",
        "dci_informativeness",
        "modularity",
        "factorvae",
    ):
        assert col in df.columns, col
    import pandas as pd

    back = pd.read_csv(out / "results.csv")
    np.testing.assert_allclose(back["I_zx"], df["I_zx"])
    figs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {
        "information.png",
        "invariance.png",
        "tc.png",
        "disentanglement.png",
        "heatmap_center.png",
        "nuisance_light.png",
    } <= set(figs)
    page = (out / "index.html").read_text()
    assert page.count("<img ") == len(figs) and "<title>test report</title>" in page
    md = (out / "report.md").read_text()
    assert "| layer |" in md and "](figures/information.png)" in md
    settings = json.loads((out / "settings.json").read_text())
    assert settings["factor_names"] == ["a", "b"] and settings["units"] == "nats"


def test_report_numbers_make_sense(built) -> None:
    df, _ = built
    row = df.set_index("layer")
    # centering removes a brightness offset exactly, and so from every later layer
    for layer in ("center", "act"):
        assert row.loc[layer, "I_zn[light]"] <= row.loc[layer, "I_zn_null[light]"] + 0.05
    assert row.loc["input", "I_zn[light]"] > 0.3
    # the input holds factor b in pixel (3, 3) and the labels y = factor a in pixel
    # (0, 0): both truths are H = log 3 = 1.10 nats; Ross's k-NN estimate in 10
    # dimensions at n=300 is biased low (about 0.5), so only a clear signal is asserted
    assert 0.3 < row.loc["input", "I_zn[v1]"] <= np.log(3) + 0.1
    assert 0.3 < row.loc["input", "I_zy"] <= np.log(3) + 0.1
    for col in ("mig", "sap", "modularity", "factorvae"):
        assert ((df[col] >= 0) & (df[col] <= 1)).all(), col


@pytest.mark.skipif(
    chromium() is None, reason="chromium not installed (Debian: apt-get install -y chromium)"
)
def test_report_renders_in_headless_chromium(built) -> None:
    _, out = built
    result = render_check(out / "index.html")
    n_figs = len(list((out / "figures").glob("*.png")))
    assert result["title"] == "test report"
    assert result["images"] == n_figs and result["broken"] == []
    assert result["errors"] == [] and result["console"] == []
    assert result["tables"] >= 3


@pytest.mark.skipif(
    chromium() is None, reason="chromium not installed (Debian: apt-get install -y chromium)"
)
@pytest.mark.parametrize("width", [1280, 800])
def test_report_fits_the_page_in_headless_chromium(built, tmp_path: Path, width: int) -> None:
    _, out = built
    png = screenshot(out / "index.html", tmp_path / f"report_{width}.png", width=width)
    assert png.stat().st_size > 0
    m = measure_width(out / "index.html", width)
    assert m["viewport"] == width, m  # the window size reached the page
    # no element (tables included: split and wrapped, never scrolled) is wider than the page
    assert m["page"] <= m["viewport"] and m["widest"] <= m["viewport"] + 0.5, m


@pytest.mark.skipif(
    chromium() is None, reason="chromium not installed (Debian: apt-get install -y chromium)"
)
def test_report_with_long_names_fits_800_px(tmp_path: Path) -> None:
    # user strings without a space (a nuisance name, the title) wrap instead of widening
    model, x, y, v = _setup(2, n=120)
    out = tmp_path / "r"
    report(
        model,
        (x, y),
        layers=["act"],
        nuisances={"n" * 150: v[:, 1]},
        out=out,
        n_permutations=2,
        n_resamples=0,
        title="T" * 200,
        figures=False,
    )
    m = measure_width(out / "index.html", 800)
    assert m["viewport"] == 800 and m["widest"] <= 800.5 and m["page"] <= 800, m


def test_report_page_says_how_each_number_was_measured(built) -> None:
    _, out = built
    page = (out / "index.html").read_text()
    assert "How each number was measured" in page and "estimator and regime" in page
    assert "total-correlation-invariance-disentanglement-and-reports" in page
    assert '<div class="scroll">' not in page and "{&quot;" not in page  # no raw JSON dump
    # every figure's caption has units and says what to look for
    captions = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", page, re.S)
    assert captions and all("Look for" in c for c in captions), captions
    assert all(("nats" in c) or ("unitless" in c) for c in captions), captions
    # the wide per-layer frame is split: no HTML table has more than 8 columns
    for head in re.findall(r"<thead><tr>(.*?)</tr></thead>", page, re.S):
        assert head.count("<th>") <= 8, head


@pytest.mark.skipif(
    chromium() is None, reason="chromium not installed (Debian: apt-get install -y chromium)"
)
def test_chromium_check_catches_a_missing_image(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body>"
        '<img src="figures/missing.png"></body></html>'
    )
    result = render_check(page)
    assert result["broken"] == ["figures/missing.png"] and result["errors"]


def test_report_long_is_the_wide_frame_in_tidy_form(built) -> None:
    import pandas as pd

    df, _ = built
    long = report_long(df)
    assert list(long.columns) == [
        "layer",
        "n_features",
        "quantity",
        "nuisance",
        "value",
        "low",
        "high",
        "units",
    ]
    # every number of the wide frame is in exactly one row, intervals beside their value
    for _, r in long.iterrows():
        col = r["quantity"] if r["nuisance"] is None else f"{r['quantity']}[{r['nuisance']}]"
        wide = df.loc[df["layer"] == r["layer"], col].iloc[0]
        if r["units"] == "flag":
            assert r["value"] == (float(wide) if wide is not None else r["value"])
        else:
            np.testing.assert_equal(r["value"], float(wide))
        if r["quantity"] == "invariance":
            low = df.loc[df["layer"] == r["layer"], f"invariance_low[{r['nuisance']}]"].iloc[0]
            np.testing.assert_equal(r["low"], float(low))
    quantities = set(long["quantity"])
    assert {"I_zx", "I_zy", "tc", "I_zn", "I_zn_null", "invariance", "bound_ok", "mig"} <= (
        quantities
    )
    assert not any(q.endswith(("_low", "_high")) for q in quantities)
    # minus layer, type, same_as, n_features and the bounds
    n_numbers = len(df.columns) - 4 - 2 - 2 * 2
    assert len(long) == len(df) * n_numbers
    assert set(long.loc[long["quantity"] == "I_zn", "nuisance"]) == {"light", "v1"}
    assert long.loc[long["quantity"] == "I_zx", "nuisance"].isna().all()
    units = long.groupby("quantity")["units"].first()
    assert units["I_zx"] == "nats" and units["invariance"] == "unitless"
    assert units["bound_ok"] == "flag" and units["mig"] == "unitless"
    assert long.attrs["settings"]["units"] == "nats"
    # a frame read back from results.csv gives the same numbers
    back = report_long(pd.read_csv(Path(df.attrs["files"]["csv"])))
    np.testing.assert_allclose(
        back.loc[back["units"] == "nats", "value"], long.loc[long["units"] == "nats", "value"]
    )


def test_report_long_errors() -> None:
    import pandas as pd

    with pytest.raises(ValueError, match="df must be a pandas DataFrame, got dict"):
        report_long({"layer": ["a"]})
    with pytest.raises(ValueError, match="df has no 'layer' column"):
        report_long(pd.DataFrame({"I_zx": [1.0]}))


def test_report_without_figures_or_labels(tmp_path: Path) -> None:
    model, x, _, _ = _setup(1, n=200)
    df = report(
        model,
        x,
        layers=["act"],
        nuisances="noise",
        out=tmp_path / "r",
        figures=False,
        n_permutations=2,
        n_resamples=0,
    )
    assert df["I_zy"].isna().all() and "I_zn[noise]" in df.columns
    assert not (tmp_path / "r" / "figures" / "information.png").exists()
    assert (tmp_path / "r" / "index.html").is_file()


def test_errors(tmp_path: Path) -> None:
    model, x, y, v = _setup(n=50)
    with pytest.raises(ValueError, match="data and factors must have the same number"):
        report(model, x, layers=["act"], factors=v[:-1], out=tmp_path)
    with pytest.raises(ValueError, match="factor_names has 1 names for 2 factors"):
        report(model, x, layers=["act"], factors=v, factor_names=["a"], out=tmp_path)
    with pytest.raises(ValueError, match=r"data and nuisances\['n'\] must have the same number"):
        report(model, x, layers=["act"], nuisances={"n": np.zeros(3)}, out=tmp_path)
    with pytest.raises(ValueError, match="tc_estimator must be one of"):
        report(model, x, layers=["act"], tc_estimator="binning", out=tmp_path)
    with pytest.raises(ValueError, match="estimator must be one of"):
        report(model, x, layers=["act"], estimator="kde", out=tmp_path)
    with pytest.raises(ValueError, match="tc_units must be >= 2"):
        report(model, x, layers=["act"], tc_units=1, out=tmp_path)
    with pytest.raises(ValueError, match="title must be a string"):
        report(model, x, layers=["act"], title=3, out=tmp_path)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        report(None, x, layers=["act"], out=tmp_path)
    with pytest.raises(ValueError, match="unknown layer 'nope'"):
        report(model, x, layers=["nope"], out=tmp_path)


if __name__ == "__main__":  # render a report folder and keep a screenshot
    folder, target = Path(sys.argv[1]), Path(sys.argv[2])
    print(json.dumps(render_check(folder / "index.html"), indent=1))
    print(screenshot(folder / "index.html", target))


def test_plot_functions_and_their_errors() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from mi_probe.plotting.disentanglement import (
        plot_disentanglement_scores,
        plot_mi_heatmap,
        plot_tradeoff,
    )
    from mi_probe.plotting.invariance import plot_invariance, plot_layer_information

    df = pd.DataFrame(
        {
            "layer": ["input", "a"],
            "I_zx": [2.0, 1.0],
            "I_zy": [1.0, 0.9],
            "I_zn": [0.5, 0.1],
            "I_zn_null": [0.02, 0.02],
            "invariance": [0.0, 0.8],
            "invariance_low": [0.0, 0.7],
            "invariance_high": [0.0, 0.9],
            "nuisance": ["n", "n"],
        }
    )
    assert plot_layer_information(df).get_ylabel() == "nats"
    assert len(plot_invariance(df).patches) >= 2
    mi = np.array([[0.9, 0.0], [0.1, 0.5], [0.0, 0.0]])
    ax = plot_mi_heatmap(mi, factor_names=["shape", "x"], max_codes=2)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["z0", "z1"]
    plot_disentanglement_scores({"mig": 0.5, "sap": 0.2})
    plot_tradeoff(pd.DataFrame({"beta": [1, 4, 16], "mig": [0.1, 0.2, 0.0], "tc": [2, 0.4, 0]}))
    plt.close("all")
    with pytest.raises(ValueError, match="df must be a pandas DataFrame"):
        plot_invariance({"layer": ["a"]})
    with pytest.raises(ValueError, match=r"df is missing the columns \['I_zx'\]"):
        plot_layer_information(df.drop(columns="I_zx"))
    with pytest.raises(ValueError, match="df has no rows"):
        plot_invariance(df.iloc[:0])
    with pytest.raises(ValueError, match="mi must be a non-empty 2-D array"):
        plot_mi_heatmap(np.zeros(3))
    with pytest.raises(ValueError, match="max_codes must be >= 1"):
        plot_mi_heatmap(mi, max_codes=0)
    with pytest.raises(ValueError, match="code_names has 1 names for 3 codes"):
        plot_mi_heatmap(mi, code_names=["a"])
    with pytest.raises(ValueError, match="factor_names has 3 names for 2 factors"):
        plot_mi_heatmap(mi, factor_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="scores has none of the metrics"):
        plot_disentanglement_scores({"accuracy": 1.0})
    with pytest.raises(ValueError, match="y must name one or two columns"):
        plot_tradeoff(pd.DataFrame({"beta": [1]}), y=())
    with pytest.raises(ValueError, match=r"df is missing the columns \['tc'\]"):
        plot_tradeoff(pd.DataFrame({"beta": [1], "mig": [0.1]}))
    plt.close("all")
