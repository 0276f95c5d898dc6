"""Issue 22, the report page: undefined invariance, one I_zx/I_zy per layer, layer types
and repeated layers, and progress inside report().

The scenario: a small conv net (Conv2d -> ReLU -> Flatten -> Linear -> ReLU -> Dropout ->
Linear, in eval mode, so Flatten repeats the ReLU before it and Dropout the one before
it) on 300 random 1x8x8 images with 3 classes, a rotation (a transform of the inputs)
and a "session" of random integers that has nothing to do with the data.
"""

from __future__ import annotations

import html
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("seaborn")

from mi_probe.analysis.report import report  # noqa: E402

N = 300


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(144, 16),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(16, 3),
    ).eval()


def _data() -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, 1, 8, 8, generator=g)
    # labels from the brightness of the top rows: something the layers can carry
    y = torch.as_tensor(np.digitize(x[:, 0, :4, :].mean(dim=(1, 2)).numpy(), [0.47, 0.53]))
    session = np.random.default_rng(2).integers(0, 4, N)  # unrelated to x and y
    return x, y, session


class _Tables(HTMLParser):
    """Every <table> of a page as a list of rows (lists of cell texts, header row first);
    nested tables (the settings) are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self.tables.append([])
        elif self._depth == 1 and tag == "tr":
            self._row = []
        elif self._depth == 1 and tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth -= 1
        elif self._depth == 1 and tag in ("td", "th") and self._cell is not None:
            assert self._row is not None
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif self._depth == 1 and tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(page: str) -> list[list[list[str]]]:
    p = _Tables()
    p.feed(page)
    return [t for t in p.tables if t and t[0] and t[0][0] == "layer"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    x, y, session = _data()
    out = tmp_path_factory.mktemp("page") / "rep"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = report(
            _net(),
            (x, y),
            nuisances={"rot": "rotation", "session": session},
            out=out,
            # 2 components in 4 bins: I_zx = H(bin z) is not saturated at log n, so an
            # I_zx measured again on the rotated inputs would read differently
            n_components=2,
            n_bins=4,
            n_permutations=20,
            n_resamples=5,
            random_state=0,
        )
    return df, out


def test_undefined_invariance_is_written_as_undefined_with_its_reason(scenario) -> None:
    df, out = scenario
    undefined = df.attrs["settings"].get("invariance_undefined", {})
    # the random session carries no detectable information: I(x; n) is not above its
    # null, so 1 - I(z;n)/I(x;n) has no meaning; the rotation does
    assert set(undefined) == {"session"}
    assert "not above its permutation null" in undefined["session"]
    assert df["invariance[session]"].isna().all()
    assert np.isfinite(df["invariance[rot]"]).all()
    csv = (out / "results.csv").read_text()
    assert "undefined" not in csv  # NaN stays NaN in the data
    page = (out / "index.html").read_text()
    n_undefined = 0
    for table in _tables(page):
        head = table[0]
        for col in ("invariance", "invariance_low", "invariance_high"):
            if col in head:
                cells = {row[head.index(col)] for row in table[1:]}
                # the rotation's numbers, or the session's "undefined": never "nan"
                assert "nan" not in cells, table
                n_undefined += cells == {"undefined"}
    assert n_undefined == 6  # three columns, in the summary and the all-columns tables
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "undefined: I(x; n) = " in text and "so invariance is undefined" in text
    md = (out / "report.md").read_text()
    assert md.count("| undefined | undefined | undefined |") == 6  # one per shown row
    assert "invariance\\[session\\] undefined: I(x; n) = " in md
    # the invariance figure: the session is left out, and its caption says so and why
    caps = [k for k in df.attrs["files"] if k.startswith("figure:Invariance score")]
    assert len(caps) == 1 and "Left out: 'session' (I(x; n) = " in caps[0]


def test_invariance_figure_leaves_out_undefined_nuisances(tmp_path, monkeypatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from mi_probe.plotting.invariance import plot_invariance

    nan = float("nan")
    rot = pd.DataFrame(
        {
            "layer": ["input", "a"],
            "invariance": [0.0, 0.8],
            "invariance_low": [0.0, 0.7],
            "invariance_high": [0.0, 0.9],
            "nuisance": ["rot", "rot"],
        }
    )
    session = rot.assign(
        invariance=nan, invariance_low=nan, invariance_high=nan, nuisance="session"
    )
    ax = plot_invariance(pd.concat([rot, session]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rot"]
    assert "session" in ax.get_title(loc="left") and "permutation null" in ax.get_title(loc="left")
    heights = [p.get_height() for p in ax.patches if p.get_height() == p.get_height()]
    assert heights and all(np.isfinite(heights))
    # every nuisance undefined: a note, no bars
    ax = plot_invariance(session)
    assert len(ax.patches) == 0 and "session" in ax.texts[0].get_text()


def test_every_nuisance_undefined_draws_no_invariance_figure(tmp_path) -> None:
    x, y, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = report(
            _net(),
            (x, y),
            layers=["1", "3"],
            nuisances={"const": np.zeros(N, dtype=int)},
            out=tmp_path,
            n_permutations=3,
            n_resamples=0,
        )
    assert set(df.attrs["settings"]["invariance_undefined"]) == {"const"}
    assert not (tmp_path / "figures" / "invariance.png").exists()
    page = (tmp_path / "index.html").read_text()
    assert "No invariance figure" in page and "figures/invariance.png" not in page


def test_every_number_in_two_tables_is_the_same(scenario) -> None:
    df, out = scenario
    page = (out / "index.html").read_text()
    tables = _tables(page)
    seen: dict[tuple[str, str], set[str]] = {}
    measured = ("I_zx", "I_zy", "I_zn", "I_zn_null", "I_xy", "bound", "bound_ok", "tc")
    for table in tables:
        head = table[0]
        for row in table[1:]:
            for col, cell in zip(head, row, strict=True):
                if col in ("I_zx", "I_zy", "I_xy"):
                    seen.setdefault((row[0], col), set()).add(cell)
                if col in measured:
                    # a number was measured here: no "nan", no dash
                    assert cell not in ("nan", "\u2013", ""), (col, row[0], cell)
    shown = [r for r in df.itertuples() if r.same_as is None]
    label = {"input": "input"} | {r.layer: f"{r.layer} ({r.type})" for r in shown[1:]}
    for r in shown:
        for col in ("I_zx", "I_zy"):
            cells = seen[(label[r.layer], col)]
            # one value per layer in every table, the DataFrame's value
            assert cells == {f"{getattr(r, col):.3f}"}, (r.layer, col, cells)
    # I_zy is shown in the main table and in each nuisance's all-columns table
    n_zy = sum(1 for t in tables if "I_zy" in t[0])
    assert n_zy >= 3
    assert seen[("input", "I_xy")] == {f"{df['I_zy'].iloc[0]:.3f}"}
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "measured once, on the clean inputs" in text
    assert "measured on transformed copies of the inputs" in text


def test_layer_types_and_repeated_layers(scenario) -> None:
    df, out = scenario
    row = df.set_index("layer")
    assert list(row["type"]) == [
        None,
        "Conv2d",
        "ReLU",
        "Flatten",
        "Linear",
        "ReLU",
        "Dropout",
        "Linear",
    ]
    # Flatten after ReLU and Dropout in eval mode hold the same values as the row before
    assert row.loc["2", "same_as"] == "1" and row.loc["5", "same_as"] == "4"
    assert row["same_as"].isna().sum() == 6
    page = (out / "index.html").read_text()
    shown = {r[0] for t in _tables(page) for r in t[1:]}
    assert shown == {"input", "0 (Conv2d)", "1 (ReLU)", "3 (Linear)", "4 (ReLU)", "6 (Linear)"}
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "Layer 2 (Flatten) repeats layer 1 (ReLU): same values; not shown." in text
    assert "Layer 5 (Dropout) repeats layer 4 (ReLU): same values; not shown." in text
    md = (out / "report.md").read_text()
    assert "| 1 (ReLU) |" in md and "| 2 (Flatten) |" not in md
    assert "Layer 2 (Flatten) repeats layer 1 (ReLU)" in md
    import pandas as pd

    back = pd.read_csv(out / "results.csv", dtype={"same_as": str, "layer": str})
    assert list(back["same_as"].fillna("")) == ["", "", "", "1", "", "", "4", ""]


def test_repeated_layers_are_left_out_of_the_figures(tmp_path, monkeypatch) -> None:
    import mi_probe.plotting.invariance as plots

    drawn: list[list[str]] = []
    real = plots.plot_invariance

    def spy(df, *args, **kwargs):
        drawn.append(list(df["layer"]) + list(df["nuisance"]))
        return real(df, *args, **kwargs)

    monkeypatch.setattr(plots, "plot_invariance", spy)
    x, y, session = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report(
            _net(),
            (x, y),
            nuisances={"light": "brightness", "session": session},
            out=tmp_path,
            n_permutations=20,
            n_resamples=0,
        )
    assert len(drawn) == 1
    assert "2 (Flatten)" not in drawn[0] and "5 (Dropout)" not in drawn[0]
    assert "1 (ReLU)" in drawn[0] and "light" in drawn[0]


def test_activations_without_a_model_have_no_type(tmp_path) -> None:
    import mi_probe

    x, y, session = _data()
    net = _net()
    with mi_probe.attach(net, "all") as probe:
        acts = probe.collect(x, progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = report(
            None,
            (x, y),
            nuisances={"session": session},
            activations=acts,
            out=tmp_path,
            n_permutations=3,
            n_resamples=0,
            figures=False,
        )
    assert df["type"].isna().all()  # unknown: nothing guessed
    assert df.set_index("layer").loc["2", "same_as"] == "1"  # values still compared
    page = (tmp_path / "index.html").read_text()
    for kind in ("Conv2d", "ReLU", "Flatten", "Linear", "Dropout"):
        assert f"({kind})" not in page
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "Layer 2 repeats layer 1: same values; not shown." in text


MODEL_SRC = """
import torch

def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
"""


def _cli_files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "net.py").write_text(MODEL_SRC)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    np.savez(
        tmp_path / "data.npz",
        x=x,
        y=y,
        session=rng.integers(0, 3, 120),
        factors=np.stack([x[:, 0] > 0, x[:, 1] > 0], axis=1).astype(np.int64),
    )
    return tmp_path / "net.py", tmp_path / "data.npz"


@pytest.mark.parametrize("quiet", [False, True])
def test_cli_report_progress_lines(tmp_path, capsys, monkeypatch, quiet) -> None:
    import mi_probe._progress as prog
    from mi_probe.cli import main

    monkeypatch.setattr(prog, "LINE_INTERVAL", 0.0)  # stderr is not a terminal: lines
    net, data = _cli_files(tmp_path)
    args = [
        "report",
        f"{net}:make_model",
        str(data),
        "--y",
        "y",
        "--nuisance",
        "session=session",
        "--nuisance",
        "brightness",
        "--factors",
        "factors",
        "--out",
        str(tmp_path / "rep"),
        "--no-figures",
        "--permutations",
        "3",
        "--max-samples",
        "120",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rc = main(args + (["--quiet"] if quiet else []))
    assert rc == 0
    err = capsys.readouterr().err
    phases = (
        "report: layers: 4/4",
        "report: nuisance 'session' (1/2), layers: 4/4",
        "report: nuisance 'brightness' (2/2), layers: 4/4",
        "report: disentanglement: 4/4",
    )
    if quiet:
        assert err == ""
    else:
        for phase in phases:
            assert phase in err, (phase, err)
        # one line per update, never a carriage return in a log
        assert "\r" not in err


def test_invariance_progress_reaches_its_layer_loop(capsys, monkeypatch) -> None:
    import mi_probe._progress as prog
    from mi_probe import invariance

    monkeypatch.setattr(prog, "LINE_INTERVAL", 0.0)
    x, _, session = _data()
    net = _net()
    invariance(
        net,
        x,
        layers=["1", "3"],
        nuisance="brightness",
        n_permutations=2,
        n_resamples=0,
        progress_bar=True,
    )
    err = capsys.readouterr().err
    assert "invariance (brightness): layers: 3/3" in err and "collect" in err
    invariance(
        net,
        x,
        layers=["1", "3"],
        nuisance=session,
        n_permutations=2,
        n_resamples=0,
        progress_bar=False,
    )
    assert capsys.readouterr().err == ""


def test_no_column_of_nan_for_an_interval_the_estimator_does_not_give(scenario) -> None:
    # the default I(z; y) estimator (Ross k-NN) gives no interval: the page leaves out
    # I_zy_low/I_zy_high instead of a column of "nan"; the CSV keeps them
    df, out = scenario
    assert df["I_zy_low"].isna().all() and df["I_zy_high"].isna().all()
    page = (out / "index.html").read_text()
    for table in _tables(page):
        assert "I_zy_low" not in table[0] and "I_zy_high" not in table[0]
        assert "nan" not in {cell for row in table[1:] for cell in row}
    assert "I_zy_low" not in (out / "report.md").read_text().split("## Settings")[0]
    assert "I_zy_low" in (out / "results.csv").read_text().splitlines()[0]


def test_intervals_are_shown_when_the_estimator_gives_them(tmp_path) -> None:
    x, y, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = report(
            _net(),
            (x, y),
            layers=["3"],
            out=tmp_path,
            target_estimator="usable",
            n_components=2,
            n_bins=4,
            figures=False,
            random_state=0,
        )
    assert np.isfinite(df["I_zy_low"]).all()
    heads = [t[0] for t in _tables((tmp_path / "index.html").read_text())]
    assert any("I_zy_low" in h and "I_zy_high" in h for h in heads)


def test_readme_links_point_into_the_folder(scenario) -> None:
    # the page links to README sections copied into about.html beside it, so the links
    # survive the folder being shared; every link target exists there
    from mi_probe.analysis.report import _README_SECTIONS

    _, out = scenario
    page = (out / "index.html").read_text()
    about = (out / "about.html").read_text()
    hrefs = re.findall(r'href="([^"]+)"', page)
    readme = [h for h in hrefs if "#" in h]
    assert readme and all(h.startswith("about.html#") for h in readme)
    for h in readme:
        assert f'id="{h.split("#", 1)[1]}"' in about
    for name, _ in _README_SECTIONS.values():
        assert html.escape(name) in about
    # the sections' text, whole: the reports section runs past its code block
    assert "report_long" in about and "candidates_disagree" in about


def test_readme_section_skips_code_comments_and_stops_at_the_next_heading() -> None:
    from mi_probe.analysis.report import _readme_section

    text = "\n".join(
        [
            "## A `b` c",
            "```python",
            "# a comment, not a heading",
            "x = 1",
            "```",
            "after the code",
            "### a subsection stays",
            "more",
            "## Next",
            "not this",
        ]
    )
    body = _readme_section(text, "A b c")
    assert body is not None
    assert "after the code" in body and "a subsection stays" in body and "more" in body
    assert "not this" not in body and "Next" not in body
    assert _readme_section(text, "Missing") is None


def test_without_a_readme_the_page_names_the_sections(tmp_path, monkeypatch) -> None:
    import mi_probe.analysis.report as rep

    monkeypatch.setattr(rep, "_readme_text", lambda: None)
    x, y, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report(_net(), (x, y), layers=["3"], out=tmp_path, figures=False, n_components=2)
    page = (tmp_path / "index.html").read_text()
    assert not (tmp_path / "about.html").exists()
    assert "about.html" not in page and "README, &ldquo;" in page
