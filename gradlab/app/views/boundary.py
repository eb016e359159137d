"""The Decision boundary view (TensorFlow-Playground style) for runs on 2-D data.

The worker evaluates the network on a grid over the data (``RunModel.boundary``: (res, res,
classes) class probabilities, rows = y, columns = x over ``RunModel.extent``) a few times a second;
this view paints it as an image coloured by the predicted class, lighter where the network is
unsure, with the training points on top.

Colours: two classes use a diverging blue - background - orange map of p(class 1) (Playground's
blue and orange); k classes blend the class colours by probability and fade to the background as
the confidence (max p - 1/k) / (1 - 1/k) falls. Scrubbed into the past, the view shows the
boundary of the network as it was at that probe (a run on 2-D data keeps its small network's
weights at every probe: :attr:`RunModel.boundary_at`); a reopened session kept only its last
network, and the view says so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import new_plot, set_title
from gradlab.app.views.reveal import revealer

#: class colours: Playground's blue and orange first, then Tableau's qualitative palette
CLASS_COLORS = theme.CLASS_COLORS
#: how far a fully confident region goes from the background towards its class colour
REGION_STRENGTH = 0.72
#: most training points drawn (a random, fixed subset beyond)
MAX_POINTS = 3000


def class_colors(k: int) -> np.ndarray:
    """(k, 3) float RGB in 0..255 (the palette repeats past 10 classes)."""
    return np.array(
        [QColor(CLASS_COLORS[i % len(CLASS_COLORS)]).getRgb()[:3] for i in range(k)], np.float64
    )


def region_strength(background: str | QColor) -> float:
    """How far a confident region goes towards its class colour: less on a dark background, so
    the (full-colour) points stand out from their region."""
    return REGION_STRENGTH if QColor(background).lightness() > 127 else 0.5


def boundary_rgba(probs: np.ndarray, background: str | QColor = "#ffffff") -> np.ndarray:
    """Colour a class-probability grid: (ny, nx, k) probabilities -> (ny, nx, 4) uint8 RGBA.

    Two classes: p = p(class 1), colour = class 0's below 0.5 and class 1's above, mixed with the
    background by the confidence |2p - 1| (a diverging map with the background in the middle).
    k classes: the class colours weighted by probability, mixed with the background by the
    confidence (max p - 1/k) / (1 - 1/k).
    """
    probs = np.asarray(probs, np.float64)
    k = probs.shape[-1]
    colors = class_colors(max(k, 2))
    bg = np.array(QColor(background).getRgb()[:3], np.float64)
    if k <= 2:
        p1 = probs[..., -1]
        conf = np.abs(2.0 * p1 - 1.0)
        col = np.where((p1 >= 0.5)[..., None], colors[1], colors[0])
    else:
        col = probs @ colors[:k]
        conf = (probs.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k)
    conf = np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0)
    rgb = bg + (col - bg) * (region_strength(background) * conf)[..., None]
    out = np.empty((*probs.shape[:2], 4), np.uint8)
    out[..., :3] = np.clip(np.rint(rgb), 0, 255)
    out[..., 3] = 255
    return out


def predicted_class_of_color(rgba: np.ndarray, k: int, background: str | QColor = "#ffffff"):
    """The class whose colour an image pixel leans to (the inverse of :func:`boundary_rgba`
    up to confidence): (..., 3 or 4) -> (...) int. Used by tests and tools."""
    rgb = np.asarray(rgba, np.float64)[..., :3]
    bg = np.array(QColor(background).getRgb()[:3], np.float64)
    d = class_colors(max(k, 2))[:k] - bg  # (k, 3) directions away from the background
    return np.argmax((rgb - bg) @ d.T / np.linalg.norm(d, axis=1), axis=-1)


class SmoothImageItem(pg.ImageItem):
    """An ImageItem drawn with bilinear filtering: the 90 x 90 grid reads as smooth regions."""

    def paint(self, painter, *args):
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        super().paint(painter, *args)


class BoundaryView(BaseView):
    key = "boundary"
    title = "Decision boundary"
    summary = (
        "<b>Decision boundary</b>: the class the network predicts over the input plane "
        "(colour), how sure it is (lightness), and the training points on top."
    )
    details = (
        "Each pixel is the network's prediction for that input: strong colour = confident, pale "
        "= unsure (the boundary runs through the palest band). Points are the training examples, "
        "coloured by their true class: a point on a region of the other colour is misclassified. "
        "Healthy: the regions bend to follow the data and the points sit inside their colour. A "
        "straight line that never bends means the network cannot use its hidden layers (too "
        "shallow, dead or saturated units, a learning rate too low); ragged islands around "
        "single points mean over-fitting. Scrub the timeline to watch the boundary form: the "
        "network's weights are kept at every probe, so the view shows the network of the "
        "selected step (a reopened session kept only its last network). After TensorFlow "
        "Playground."
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot: pg.PlotItem | None = None
        self.image: pg.ImageItem | None = None
        self.scatter: pg.ScatterPlotItem | None = None
        self.message: str | None = None
        self.note = QLabel(self)
        self.note.setToolTip(
            "The networks of earlier steps are kept while a run trains; a session file keeps "
            "only the last one, so a reopened session's earlier boundaries cannot be redrawn."
        )
        self.note.hide()
        self.controls.addWidget(self.note)
        self.controls.addStretch(1)
        self.empty.setWordWrap(True)
        self.empty.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._drawn_boundary: object = None
        self._title: tuple = ()

    # ------------------------------------------------------------------ the contract
    def set_model(self, model: RunModel | None) -> None:
        self.plot = self.image = self.scatter = None
        self._drawn_boundary = None
        self._title = ()
        self._set_message(None if model is not None else "No run yet.")
        super().set_model(model)

    def figure_widget(self) -> QWidget:
        revealer().finish(self)  # (every plot painted: reveal.py)
        return self.empty if self.message else self.canvas

    def build(self, model: RunModel):
        if model.input_dim != 2:
            self._set_message(
                "The decision boundary needs 2-D inputs; this run's inputs have "
                f"{model.input_dim:,} dimensions."
            )
            return
        if model.points is None or model.extent is None:
            self._set_message(
                "The decision boundary needs this run's training data, which is not available "
                "(a pinned run, or a session whose data file cannot be read)."
            )
            return
        self._set_message(None)
        t = theme.current()
        bg = QColor(t.background)
        self.canvas.setBackground(bg)
        # columns: spacer | plot | colour bar | spacer; the plot keeps the data's aspect ratio
        # (a circle stays round) and the spacers take what is left, so the figure stays centred
        ci = self.canvas.ci
        ci.addItem(pg.GraphicsWidget(), row=0, col=0)
        plot = new_plot(self.canvas, 0, 1, grid=False)
        yield  # (a hidden view is built between frames)
        ci.addItem(pg.GraphicsWidget(), row=0, col=3)
        ci.layout.setColumnStretchFactor(0, 1)
        ci.layout.setColumnStretchFactor(1, 0)
        ci.layout.setColumnStretchFactor(3, 1)
        self.plot = plot
        self.bar = None
        self.style_plot(plot, "", "x₂", "x₁")
        plot.showGrid(x=False, y=False)
        plot.setAspectLocked(True)
        self.image = SmoothImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        plot.addItem(self.image)

        x, y = np.asarray(model.points, np.float64).T
        labels = np.asarray(model.labels).astype(np.int64).ravel()
        n = len(x)
        if n > MAX_POINTS:  # a fixed subset: the plot must not redraw 10^5 symbols per frame
            keep = np.sort(np.random.default_rng(0).choice(n, MAX_POINTS, replace=False))
            x, y, labels = x[keep], y[keep], labels[keep]
        k = max(int(model.output_dim), int(labels.max()) + 1 if len(labels) else 2, 2)
        self.n_classes = k
        colors = [QColor(CLASS_COLORS[i % len(CLASS_COLORS)]) for i in range(k)]
        brushes = [pg.mkBrush(c) for c in colors]
        edge = pg.mkPen(QColor("#ffffff" if t.name == "light" else "#000000"), width=theme.px(1))
        self.scatter = pg.ScatterPlotItem(
            x=x,
            y=y,
            brush=[brushes[c] for c in labels],
            pen=edge,
            size=theme.px(7),
            symbol="o",
            pxMode=True,
        )
        self.scatter.setZValue(10)
        plot.addItem(self.scatter)
        self.n_points_total, self.n_points_shown = n, len(x)

        xmin, xmax, ymin, ymax = model.extent
        plot.setXRange(xmin, xmax, padding=0)
        plot.setYRange(ymin, ymax, padding=0)
        plot.disableAutoRange()
        self.extent = (xmin, xmax, ymin, ymax)

        if k == 2:
            cmap = pg.ColorMap(
                pos=[0.0, 0.5, 1.0],
                color=[
                    boundary_rgba(np.array([[[1.0, 0.0]]]), bg)[0, 0],
                    bg.getRgb(),
                    boundary_rgba(np.array([[[0.0, 1.0]]]), bg)[0, 0],
                ],
            )
            bar = pg.ColorBarItem(
                values=(0.0, 1.0),
                colorMap=cmap,
                interactive=False,
                width=theme.px(14),
                label="p(class 1)",
            )
            bar.axis.setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
            self.canvas.addItem(bar, row=0, col=2)
            self.bar = bar
            key = (
                f"<span style='color:{CLASS_COLORS[0]}'>●</span> class 0 &nbsp; "
                f"<span style='color:{CLASS_COLORS[1]}'>●</span> class 1"
            )
        else:
            key = " &nbsp; ".join(
                f"<span style='color:{colors[i].name()}'>●</span> class {i}" for i in range(k)
            )
        shown = (
            f" &nbsp; ({self.n_points_shown:,} of {self.n_points_total:,} training points)"
            if self.n_points_shown < self.n_points_total
            else ""
        )
        self.key_label = self.canvas.addLabel(
            f"<span style='color:{t.foreground}'>{key}{shown}</span>",
            row=1,
            col=1,
            size=theme.pt(9),
        )
        plot.vb.sigResized.connect(self._keep_aspect)
        self.canvas.sigDeviceRangeChanged.connect(self._keep_aspect)  # the window was resized

    def draw(self, model: RunModel, row: int | None) -> None:
        if self.plot is None:
            return
        scrubbed = self._scrubbed_step(model, row)
        boundary, at = model.boundary, None
        if scrubbed is not None:
            past = model.boundary_at(scrubbed)
            if past is not None:
                at, boundary = past
        if boundary is not self._drawn_boundary:
            self._drawn_boundary = boundary
            if boundary is None:
                self.image.hide()
            else:
                ny, nx = boundary.shape[:2]
                self.image.setImage(
                    boundary_rgba(boundary, theme.current().background), autoLevels=False
                )
                xmin, xmax, ymin, ymax = self.extent
                dx = (xmax - xmin) / max(nx - 1, 1)
                dy = (ymax - ymin) / max(ny - 1, 1)
                # grid values sit at pixel centres: the image spans half a cell beyond the extent
                self.image.setRect(
                    QRectF(xmin - dx / 2, ymin - dy / 2, (xmax - xmin) + dx, (ymax - ymin) + dy)
                )
                self.image.show()

        newest_instead = scrubbed is not None and at is None
        if not newest_instead:
            self.note.hide()
        else:
            self.note.setStyleSheet(f"color: {theme.current().warning};")
            self.note.setText(
                f"the newest boundary: the network of step {scrubbed:,} was not kept "
                "(a reopened session keeps only its last network)"
            )
            self.note.show()

        m = model.final_metrics() if at is None else model.metrics_at(at)
        if boundary is None:
            titles = ("waiting for the network's predictions…",)
        else:
            where = f"network at step {at:,}" if at is not None else ""
            if np.isfinite(m["train_acc"]):
                acc, when = 100 * m["train_acc"], int(m["step"])
                titles = (
                    f"training accuracy {acc:.1f}% (evaluated at step {when:,})",
                    f"training accuracy {acc:.1f}%",
                )
            else:
                titles = ("training accuracy: not evaluated yet", "not evaluated yet")
            if where:
                titles = (*(f"{where} · {t}" for t in titles), where)
            elif newest_instead:
                titles = tuple(f"newest step · {t}" for t in titles)
        if titles != self._title:
            self._title = titles
            set_title(self.plot, *titles)

    # ------------------------------------------------------------------ helpers
    def _keep_aspect(self, *_args) -> None:
        """Narrow the plot so its data area has the extent's aspect ratio (height-limited)."""
        plot = self.plot
        if plot is None:
            return
        xmin, xmax, ymin, ymax = self.extent
        aspect = (xmax - xmin) / max(ymax - ymin, 1e-12)
        vb = plot.vb
        axes_w = plot.width() - vb.width()
        bar_w = self.bar.width() if self.bar is not None else 0.0
        free = self.canvas.viewport().width() - bar_w - 30.0  # not ci: it may be overflowing
        want = max(min(free, vb.height() * aspect + axes_w), 100.0)
        self._size_points(vb.height())
        if abs(plot.maximumWidth() - want) > 1.0 or abs(plot.preferredWidth() - want) > 1.0:
            # preferred = maximum = the aspect-true width; a small minimum, so a narrow window
            # squeezes the plot instead of overflowing the canvas
            plot.setMinimumWidth(min(want, 120.0))
            plot.setPreferredWidth(want)
            plot.setMaximumWidth(want)

    def _size_points(self, height: float) -> None:
        """Training points sized to the plot: full size from ~450 px high, down to 40% in a
        small cell (the Dashboard's), where full-size points covered the boundary they sit on
        (a spiral's boundary looked straight)."""
        if self.scatter is None or height <= 0:
            return
        scale = min(1.0, max(0.4, height / 450.0))
        size = round(theme.px(7) * scale, 1)
        if size != getattr(self, "_point_size", None):
            self._point_size = size
            self.scatter.setSize(size)
            edge = QColor("#ffffff" if theme.current().name == "light" else "#000000")
            self.scatter.setPen(pg.mkPen(edge, width=theme.px(1) * scale))

    @staticmethod
    def _scrubbed_step(model: RunModel, row: int | None) -> int | None:
        """The step the timeline shows when it is not at the newest probe, else None."""
        n = model.history.n_probes
        if row is None or n == 0 or row >= n - 1:
            return None
        return int(model.history.probe_column("step")[max(row, 0)])

    def _set_message(self, text: str | None) -> None:
        self.message = text
        if text:
            self.empty.setText(text)
            self.empty.show()
            self.canvas.hide()
            self.note.hide()
        else:
            self.empty.hide()
            self.canvas.show()


__all__ = ["CLASS_COLORS", "BoundaryView", "boundary_rgba", "predicted_class_of_color"]
