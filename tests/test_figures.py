"""gradlab.figures: every kind in every format from a saved session, drawn as a reader of a paper
or a slide would check it (SVG through an independent renderer, PDF text, DPI, styles, legends,
colours), and one-sentence errors for what cannot be drawn."""

from __future__ import annotations

import csv
import io
import itertools
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import cairosvg
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from pypdf import PdfReader

from gradlab import figures, palette
from gradlab.figures import FigureError
from tests.figure_sessions import blocks, gray, ink, make_sessions

#: a word each kind's PDF must hold as text
WORDS = {
    "distributions": "fraction per bin",
    "profile": "predicted",
    "over_time": "Speed of learning",
    "speed": "||dC/db||",
    "training": "accuracy",
    "heatmaps": "log10 fraction per bin",
    "boundary": "Decision boundary",
    "compare": "Test error",
    "dashboard": "activation a",
}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    return make_sessions(tmp_path_factory.mktemp("sessions"))


def source(sessions, kind):
    return [sessions["xor"], sessions["relu"]] if kind == "compare" else sessions["xor"]


def svg_gap(fig: Figure, svg: bytes | None = None, dpi: int = 144):
    """(mean gap, fraction of 6x6 blocks off by > 0.2, ink) between the PNG of ``fig`` and its
    SVG (or ``svg``) rendered by cairosvg at the same size."""
    a = gray(figures.render(fig, "png", dpi=dpi))
    svg = svg if svg is not None else figures.render(fig, "svg")
    b = gray(
        cairosvg.svg2png(
            bytestring=svg,
            output_width=a.shape[1],
            output_height=a.shape[0],
            background_color="white",
        )
    )
    d = np.abs(blocks(a, 6) - blocks(b, 6))
    return float(d.mean()), float((d > 0.2).mean()), ink(blocks(a, 6))


def same_picture(gap: float, off: float, drawn: float) -> bool:
    return gap < 0.35 * drawn and off < 0.01


def pdf_text_and_fonts(data: bytes) -> tuple[str, list[str]]:
    """The PDF's text and the subtypes of its fonts' embedded files."""
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    embedded = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        assert font["/Subtype"] != "/Type3", "text drawn as Type 3 glyph procedures"
        desc = font.get("/FontDescriptor")
        if desc is None:  # a composite (CID) font: the descriptor is on its descendant
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        desc = desc.get_object()
        embedded += [k for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in desc]
    return page.extract_text(), embedded


# ---------------------------------------------------------------------------- every kind
@pytest.mark.parametrize("kind", figures.KINDS)
def test_every_kind_in_every_format_from_a_saved_session(sessions, kind):
    fig = figures.plot(source(sessions, kind), kind)
    w_in, h_in = fig.get_size_inches()

    pdf = figures.render(fig, "pdf")
    assert pdf.startswith(b"%PDF")
    text, embedded = pdf_text_and_fonts(pdf)
    assert WORDS[kind] in text, text[:400]
    assert embedded and set(embedded) == {"/FontFile2"}  # TrueType, embedded

    svg = figures.render(fig, "svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = [t for t in root.iter() if t.tag.endswith("text")]
    assert texts, "the SVG's text became outlines"
    gap, off, drawn = svg_gap(fig)
    assert drawn > 0.01  # there is something to compare
    assert same_picture(gap, off, drawn), (gap, off, drawn)

    png = figures.render(fig, "png", dpi=120)
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.size == (round(w_in * 120), round(h_in * 120))
    assert round(img.info["dpi"][0]) == 120

    eps = figures.render(fig, "eps")
    assert eps.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    bbox = re.search(rb"%%BoundingBox: (\d+) (\d+) (\d+) (\d+)", eps)
    assert bbox is not None
    assert abs(int(bbox.group(3)) - int(bbox.group(1)) - w_in * 72) <= 2
    assert b"/FontType 42" in eps  # TrueType text, not outlines


def test_svg_of_solid_blocks_would_fail_the_comparison(sessions):
    """The SVG check can fail: an SVG whose curves are filled (as pyqtgraph's were in other
    viewers) or whose plot moved is not the PNG's picture."""
    fig = figures.plot(sessions["xor"], "training")
    svg = figures.render(fig, "svg")
    assert same_picture(*svg_gap(fig, svg))
    assert not same_picture(*svg_gap(fig, svg.replace(b"fill: none", b"fill: #1f77b4")))
    moved = svg.replace(b'<g id="axes_1">', b'<g id="axes_1" transform="translate(-30 0)">')
    assert moved != svg and not same_picture(*svg_gap(fig, moved))


# ---------------------------------------------------------------------------- layout
def _drawn(fig: Figure):
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _visible_texts(fig: Figure):
    """Every text drawn: tick labels only for ticks inside their axis' view."""
    tick_labels = set()
    out = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update((id(tick.label1), id(tick.label2)))
            lo, hi = sorted(axis.get_view_interval())
            for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels()):
                if lo <= loc <= hi and label.get_visible() and label.get_text() and ax.axison:
                    out.append(label)
    for t in fig.findobj(Text):
        if id(t) in tick_labels or not t.get_visible() or not t.get_text().strip():
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        out.append(t)
    return out


def check_layout(fig: Figure, kind: str) -> None:
    """Every text inside the figure; every legend off every plot's data and off the titles."""
    renderer = _drawn(fig)
    fb = fig.bbox
    for t in _visible_texts(fig):
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= fb.x0 - 1 and bb.x1 <= fb.x1 + 1, f"clipped: {t.get_text()!r}"
        assert bb.y0 >= fb.y0 - 1 and bb.y1 <= fb.y1 + 1, f"clipped: {t.get_text()!r}"
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    titles = [ax.title for ax in fig.axes if ax.get_title()] + list(fig.texts)
    for leg in legends:
        lb = leg.get_window_extent(renderer)
        boxes = [(ax.bbox, ax.get_title()) for ax in fig.axes if ax.axison]
        boxes += [(t.get_window_extent(renderer), t.get_text()) for t in titles]
        for ab, what in boxes:
            w = min(lb.x1, ab.x1) - max(lb.x0, ab.x0)
            h = min(lb.y1, ab.y1) - max(lb.y0, ab.y0)
            assert w <= 1 or h <= 1, f"{kind}: a legend lies over {what!r}"


@pytest.mark.parametrize("style", figures.STYLES)
@pytest.mark.parametrize("kind", figures.KINDS)
def test_nothing_clipped_and_legends_off_the_data(sessions, kind, style):
    fig = figures.plot(source(sessions, kind), kind, style=style, dpi=100)
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends or kind == "heatmaps", "no legend"
    check_layout(fig, kind)


def test_every_quantity_fits_its_figure(sessions):
    for kind in figures.KINDS:
        for q in figures.kind_options(kind)["quantity"][1:]:
            fig = figures.plot(source(sessions, kind), kind, quantity=q, dpi=72)
            check_layout(fig, f"{kind}/{q}")
    fig = figures.plot(sessions["xor"], "distributions", layout="multiples", dpi=72)
    check_layout(fig, "multiples")


def test_dpi_scales_fonts_and_lines(sessions):
    """The 300-dpi image downsampled 3x is the 100-dpi one: text and lines are sized in points,
    so a print-resolution figure keeps 8-9 pt text (not 11 pixels)."""
    for kind in ("distributions", "profile", "heatmaps"):
        fig = figures.plot(sessions["xor"], kind)
        a = gray(figures.render(fig, "png", dpi=100))
        b = gray(figures.render(fig, "png", dpi=300))
        assert b.shape == (3 * a.shape[0], 3 * a.shape[1])
        shrunk = blocks(b, 3)
        gap = np.abs(blocks(a, 3) - blocks(shrunk, 3)).mean()
        # what pixel-sized fonts would give: the 300-dpi image's corner at the 100-dpi size
        corner = np.abs(blocks(a, 3) - blocks(b[: a.shape[0], : a.shape[1]], 3)).mean()
        assert gap < 0.2 * corner and gap < 0.25 * ink(a), (kind, gap, corner)


def _font_sizes(fig: Figure) -> set[float]:
    _drawn(fig)
    return {round(t.get_fontsize(), 1) for t in _visible_texts(fig)}


def test_paper_style_is_8_to_9_pt_at_a_column_and_slides_are_large(sessions):
    paper = figures.plot(sessions["xor"], "distributions")
    assert tuple(paper.get_size_inches()) == (3.3, 2.5)  # one column
    sizes = _font_sizes(paper)
    assert sizes and min(sizes) >= 8 and max(sizes) <= 9, sizes
    slides = figures.plot(sessions["xor"], "distributions", style="slides")
    w, h = slides.get_size_inches()
    assert abs(w / h - 16 / 9) < 0.01
    assert min(_font_sizes(slides)) >= 16
    paper_lw = max(a.get_linewidth() for a in paper.axes[0].patches)
    slides_lw = max(a.get_linewidth() for a in slides.axes[0].patches)
    assert slides_lw >= 2.5 * paper_lw
    wide = figures.plot(sessions["xor"], "profile")
    assert wide.get_size_inches()[0] == 6.9  # several panels: the text width
    assert max(_font_sizes(wide)) <= 9


def test_size_options_and_one_given_side_keeps_the_aspect(sessions):
    fig = figures.plot(sessions["xor"], "training", quantity="loss", width=5, height=3, dpi=80)
    assert tuple(fig.get_size_inches()) == (5, 3) and fig.dpi == 80
    fig = figures.plot(sessions["xor"], "training", quantity="loss", width=6.6)
    assert tuple(fig.get_size_inches()) == pytest.approx((6.6, 5.0))
    fig = figures.plot(sessions["xor"], "training", quantity="loss", size=(4, 2))
    assert tuple(fig.get_size_inches()) == (4, 2)


# ---------------------------------------------------------------------------- colours
def test_layer_colours_are_the_windows_and_readable_without_colour(sessions):
    from gradlab.app import theme

    for name, t in theme.THEMES.items():
        for n in range(1, 13):
            assert palette.layer_colors(n, name) == [c.name() for c in theme.layer_colors(n, t)]
    fig = figures.plot(sessions["xor"], "distributions", layers=[1, "out"])
    drawn = [
        "#{:02x}{:02x}{:02x}".format(*(round(255 * v) for v in p.get_edgecolor()[:3]))
        for p in fig.axes[0].patches
    ]
    ramp = palette.layer_colors(3)
    assert drawn == [ramp[0], ramp[2]]
    # colour-blind safe ramp: lightness rises monotonically with depth (viridis), so layers
    # stay in order for every kind of colour vision and in grey-scale print
    lum = [
        0.2126 * r + 0.7152 * g + 0.0722 * b
        for r, g, b in (palette.hex_to_rgb(c) for c in palette.layer_colors(8))
    ]
    assert all(b > a for a, b in itertools.pairwise(lum))


# ---------------------------------------------------------------------------- options
def test_step_picks_the_probe_at_or_before_it(sessions):
    fig = figures.plot(sessions["xor"], "distributions", step=0)
    assert fig.axes[0].get_title() == "Activations, step 0"
    fig = figures.plot(sessions["xor"], "distributions", step=55)
    assert fig.axes[0].get_title() == "Activations, step 50"
    fig = figures.plot(sessions["xor"], "distributions")
    assert fig.axes[0].get_title() == "Activations, step 120"
    fig = figures.plot(sessions["xor"], "over_time", step=40, quantity="speed")
    cursor = [ln for ln in fig.axes[0].lines if list(ln.get_xdata()) == [40, 40]]
    assert cursor  # a dashed line marks the chosen probe


def test_quantity_layout_and_log_axes(sessions):
    fig = figures.plot(sessions["xor"], "distributions", quantity="delta", logx=True, logy=True)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "log10 |δ|" and ax.get_yscale() == "log"
    fig = figures.plot(sessions["xor"], "distributions", layout="multiples")
    assert len([a for a in fig.axes if a.axison]) == 3  # one plot per layer
    fig = figures.plot(sessions["xor"], "over_time", quantity="wgrad", logy=False)
    assert fig.axes[0].get_yscale() == "linear"
    fig = figures.plot(sessions["xor"], "training", quantity="loss", logx=True)
    assert fig.axes[0].get_xscale() == "log"


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda s: figures.plot(s["xor"], "histograms"), ["histograms", "distributions"]),
        (lambda s: figures.plot(s["xor"], "training", colour="red"), ["colour", "training"]),
        (lambda s: figures.plot(s["xor"], "training", quantity="x"), ["'x'", "loss"]),
        (lambda s: figures.plot(s["xor"], "distributions", layers=[9]), ["9", "1 to 3"]),
        (lambda s: figures.plot(s["xor"], "distributions", step=-1), ["step", "0 or more"]),
        (lambda s: figures.plot(s["xor"], "training", width=100), ["100 in", "limit"]),
        (lambda s: figures.plot(s["xor"], "training", dpi=5), ["DPI", "limit"]),
        (lambda s: figures.plot(s["xor"], "training", width=40, dpi=1200), ["pixels"]),
        (lambda s: figures.plot(s["xor"], "training", style="poster"), ["poster", "slides"]),
        (lambda s: figures.plot(s["gauss"], "boundary"), ["2-D", "20-dimensional"]),
        (lambda s: figures.plot([s["xor"]], "compare"), ["two runs"]),
        (lambda s: figures.plot([s["xor"], s["relu"]], "training"), ["only compare"]),
        (lambda s: figures.plot(42, "training"), ["int"]),
        (lambda s: figures.plot(s["xor"], "distributions", quantity="act", logx=True), ["delta"]),
        (lambda s: figures.plot(s["xor"], "boundary", step=10), ["saved", "step 10"]),
        (lambda s: figures.table_text([s["xor"]], "md"), ["two runs"]),
    ],
)
def test_what_cannot_be_drawn_is_one_sentence(sessions, call, words):
    with pytest.raises(FigureError) as info:
        call(sessions)
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_save_checks_the_path_and_writes_atomically(sessions, tmp_path):
    fig = figures.plot(sessions["xor"], "training", quantity="loss")
    with pytest.raises(FigureError, match="bmp"):
        figures.save(fig, tmp_path / "f.bmp")
    (tmp_path / "dir.pdf").mkdir()
    with pytest.raises(FigureError, match="folder"):
        figures.save(fig, tmp_path / "dir.pdf")
    target = tmp_path / "f.pdf"
    target.write_bytes(b"the old figure")
    figures.save(fig, target)
    assert target.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.pdf", "f.pdf"]  # no temp files


# ---------------------------------------------------------------------------- compare, tables
def test_compare_draws_table1_with_the_best_in_bold(sessions):
    fig = figures.plot([sessions["xor"], sessions["relu"]], "compare")
    table = next(a for a in fig.axes if a.tables).tables[0]
    cells = {(r, c): cell.get_text() for (r, c), cell in table.get_celld().items()}
    assert {cells[(0, 0)].get_text(), cells[(0, 1)].get_text()} == {"glorot_uniform", "he_normal"}
    numbers = [t for (r, c), t in cells.items() if r > 0 and c >= 0 and t.get_text()]
    assert len(numbers) == 2
    best = min(numbers, key=lambda t: float(t.get_text()))
    assert best.get_fontweight() == "bold"
    assert fig.legends[0].get_texts()[0].get_text() == "xor demo"


def test_tables_in_markdown_latex_and_csv(sessions):
    runs = [sessions["xor"], sessions["relu"]]
    md = figures.table_text(runs, "md")
    assert "| activation \\ init | glorot_uniform | he_normal |" in md
    assert md.count("**") >= 4  # the title and the lowest error
    tex = figures.table_text(runs, ".tex")
    assert "glorot\\_uniform" in tex and "\\begin{tabular}" in tex and "\\textbf{" in tex
    rows = list(csv.DictReader(io.StringIO(figures.table_text(runs, "csv"))))
    assert [r["run"] for r in rows] == ["xor demo", "xor relu"]
    assert [r["activation"] for r in rows] == ["tanh", "relu"]
    for r in rows:
        assert float(r["test_error_pct"]) == pytest.approx(100 * (1 - float(r["val_acc"])))


# ---------------------------------------------------------------------------- notebooks
def test_plot_then_ordinary_matplotlib_tweaks(sessions, tmp_path):
    fig = figures.plot(sessions["xor"], "distributions", step=0)
    ax = fig.axes[0]
    ax.set_xlim(-0.5, 0.5)
    with figures.style("paper"):
        ax.set_title("Glorot & Bengio fig. 6, our run")
    assert ax.title.get_fontsize() == 9  # added text in the figure's fonts
    ax.axvline(0.0, color="k", lw=0.5)
    out = figures.save(fig, tmp_path / "fig6.pdf")
    text, _ = pdf_text_and_fonts(out.read_bytes())
    assert "Glorot & Bengio fig. 6, our run" in text
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # matplotlib's own savefig works too
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_eps_flattens_transparency_and_puts_it_back(sessions):
    fig = figures.plot([sessions["xor"], sessions["relu"]], "compare")
    translucent = [ln for ln in fig.axes[0].lines if ln.get_alpha() == 0.35]
    assert translucent
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "The PostScript backend does not support transparency"
        figures.render(fig, "eps")
    assert all(ln.get_alpha() == 0.35 for ln in translucent)


def test_matplotlib_is_imported_on_the_first_figure_and_never_pyplot_or_qt(sessions):
    code = (
        "import sys, gradlab.figures, gradlab.cli\n"
        "assert 'matplotlib' not in sys.modules, 'imported at start-up'\n"
        "from gradlab import figures\n"
        f"fig = figures.plot({str(sessions['xor'])!r}, 'dashboard')\n"
        "figures.render(fig, 'png')\n"
        "assert 'matplotlib' in sys.modules\n"
        "bad = [m for m in sys.modules if m.startswith(('matplotlib.pyplot', 'PySide6', "
        "'pyqtgraph'))]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
