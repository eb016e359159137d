"""The Data panel's preview widgets: thumbnails with their class names (grey or colour), and the
pane that shows a :class:`~gradlab.app.preview.Preview` (a summary line, then a scatter for 2-D
data, thumbnails for images, a histogram of the input values otherwise)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.panels.forms import error_label, muted
from gradlab.app.preview import Preview

#: a qualitative palette for classes (matplotlib's tab10)
CLASS_COLORS = theme.CLASS_COLORS
THUMB_CELL = 60
GAP = 5


def class_color(k: int) -> QColor:
    return QColor(CLASS_COLORS[k % len(CLASS_COLORS)])


# ====================================================================== preview widgets
class ThumbGrid(QWidget):
    """Thumbnails with their class names, as many per row as the width allows."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._shape = (0, 0)
        self._labels: list[str] = []
        self._colors: list[QColor] = []
        sp = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)

    def set_strip(
        self, strip: np.ndarray, shape: tuple[int, ...], labels: list[str], colors: list[QColor]
    ) -> None:
        """``strip``: the thumbnails side by side, (H, W) grey or (H, W, 3) RGB uint8;
        ``shape``: one image's (h, w) or (channels, h, w)."""
        strip = np.ascontiguousarray(strip, dtype=np.uint8)
        h, w = strip.shape[:2]
        if strip.ndim == 3:
            img = QImage(strip.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        else:
            img = QImage(strip.data, w, h, w, QImage.Format.Format_Grayscale8)
        self._image = img.copy()  # own the pixels (the array may go)
        self._shape = (int(shape[-2]), int(shape[-1]))
        self._labels = labels
        self._colors = colors
        self.updateGeometry()
        self.update()

    def count(self) -> int:
        return len(self._labels)

    def image(self) -> QImage | None:
        """The thumbnails side by side (tests)."""
        return self._image

    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        return font

    def _layout(self, width: int) -> tuple[int, int, int, int]:
        """(columns, cell side, label height, left margin) for ``width``."""
        n = max(1, len(self._labels))
        cols = min(n, max(4, min(8, (width + GAP) // (THUMB_CELL + GAP))))
        cell = max(24, min(96, (width - GAP * (cols - 1)) // cols))
        lab = QFontMetrics(self._font()).height() * 2 + 2
        used = cols * cell + GAP * (cols - 1)
        return cols, cell, lab, max(0, (width - used) // 2)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if not self._labels:
            return 0
        cols, cell, lab, _x0 = self._layout(width)
        rows = -(-len(self._labels) // cols)
        return rows * (cell + lab + GAP)

    def sizeHint(self) -> QSize:
        return QSize(320, self.heightForWidth(320))

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 0)

    def _cell_at(self, pos) -> int:
        cols, cell, lab, x0 = self._layout(self.width())
        c = (pos.x() - x0) // (cell + GAP)
        r = pos.y() // (cell + lab + GAP)
        k = int(r * cols + c)
        return k if 0 <= c < cols and 0 <= k < len(self._labels) else -1

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            k = self._cell_at(event.pos())
            if k >= 0:
                QToolTip.showText(event.globalPos(), self._labels[k], self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def paintEvent(self, _event) -> None:
        if self._image is None or not self._labels:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        font = self._font()
        p.setFont(font)
        fm = QFontMetrics(font)
        cols, cell, lab, x0 = self._layout(self.width())
        h, w = self._shape
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        for k, text in enumerate(self._labels):
            r, c = divmod(k, cols)
            x = x0 + c * (cell + GAP)
            y = r * (cell + lab + GAP)
            src = QRectF(1 + k * (w + 1), 1, w, h)
            p.drawImage(QRectF(x, y, cell, cell), self._image, src)
            p.setPen(self._colors[k])
            p.drawRect(QRectF(x, y, cell - 1, cell - 1))
            p.setPen(text_color)
            # two lines at most ("triangle+" / "ellipse"), each elided to the cell
            parts = text.replace("+", "+\n").split("\n")
            lines = [parts[0], "".join(parts[1:])] if len(parts) > 1 else parts
            for i, line in enumerate(lines[:2]):
                shown = fm.elidedText(line, Qt.TextElideMode.ElideRight, cell + GAP - 1)
                p.drawText(
                    QRectF(x - GAP / 2, y + cell + 1 + i * fm.height(), cell + GAP, fm.height()),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                    shown,
                )
        p.end()


class PreviewPane(QWidget):
    """The preview: a summary line, then a scatter / thumbnails / histogram."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 8)
        lay.setSpacing(6)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.status = muted(QLabel("", self))
        self.status.setWordWrap(True)
        self.stack = QStackedWidget(self)

        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setAspectLocked(True)
        self.plot.getPlotItem().setContentsMargins(2, 2, 6, 2)
        for ax in ("left", "bottom"):
            self.plot.getAxis(ax).setStyle(tickLength=-4)
        self.plot.setMinimumHeight(120)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.scatter_items: list[pg.ScatterPlotItem] = []

        self.thumbs = ThumbGrid(self)

        self.hist = pg.PlotWidget(self)
        self.hist.setMenuEnabled(False)
        self.hist.setMouseEnabled(False, False)
        self.hist.hideButtons()
        self.hist.setMinimumHeight(120)
        self.hist.getAxis("left").setStyle(showValues=False)
        self.hist.setLabel("bottom", "input value")
        self.hist_curve = pg.PlotDataItem(
            stepMode="center", fillLevel=0, brush=QColor(theme.current().accent)
        )
        self.hist.addItem(self.hist_curve)

        self.empty = QLabel(self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = error_label(self)
        for w in (self.empty, self.plot, self.thumbs, self.hist):
            self.stack.addWidget(w)
        lay.addWidget(self.summary)
        lay.addWidget(self.message)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.status)
        self.preview: Preview | None = None

    def retheme(self) -> None:
        t = theme.current()
        for plot in (self.plot, self.hist):
            plot.setBackground(t.background)
            for ax in ("left", "bottom"):
                axis = plot.getAxis(ax)
                axis.setPen(t.foreground)
                axis.setTextPen(t.foreground)
        self.hist_curve.setBrush(QColor(t.accent))
        if self.preview is not None:
            self.summary.setText(self._summary_html(self.preview))
        self.thumbs.update()

    def clear(self) -> None:
        """Show no preview (nothing to preview yet)."""
        self.preview = None
        self.summary.setText("")
        self.summary.hide()
        self.stack.setCurrentWidget(self.empty)
        self.stack.setFixedHeight(0)

    def show_preview(self, pv: Preview) -> None:
        self.preview = pv
        if pv.error:
            self.summary.setText("")
            self.summary.hide()
            self.stack.setCurrentWidget(self.empty)
            self.stack.setFixedHeight(0)
            if pv.reduced and not pv.data_error:  # a problem of the preview's own small copy
                self.empty.setText("No preview")
                muted(self.empty)
                self.stack.setFixedHeight(30)
            return
        self.summary.show()
        self.summary.setText(self._summary_html(pv))
        if pv.points is not None:
            self._show_scatter(pv)
            self.stack.setCurrentWidget(self.plot)
            self.stack.setMinimumHeight(160)
            self.stack.setMaximumHeight(16777215)
            self.stack.setFixedHeight(260)
        elif pv.strip is not None:
            names = [
                pv.class_names[k] if k < len(pv.class_names) else str(k) for k in pv.strip_labels
            ]
            self.thumbs.set_strip(
                pv.strip, pv.image_shape, names, [class_color(k) for k in pv.strip_labels]
            )
            self.stack.setCurrentWidget(self.thumbs)
            self._fit_thumbs()
        elif pv.hist is not None:
            counts, edges = pv.hist
            self.hist_curve.setData(edges, counts)
            self.hist.setTitle(None)
            self.stack.setCurrentWidget(self.hist)
            self.stack.setFixedHeight(170)
        else:
            self.stack.setCurrentWidget(self.empty)
            self.stack.setFixedHeight(0)

    def _fit_thumbs(self) -> None:
        self.stack.setFixedHeight(max(1, self.thumbs.heightForWidth(self.stack.width())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.stack.currentWidget() is self.thumbs:
            self._fit_thumbs()

    def _show_scatter(self, pv: Preview) -> None:
        k = max(pv.n_classes, int(pv.labels.max()) + 1 if len(pv.labels) else 1)
        while len(self.scatter_items) < k:
            item = pg.ScatterPlotItem(size=4, pen=None)
            self.plot.addItem(item)
            self.scatter_items.append(item)
        for c, item in enumerate(self.scatter_items):
            if c < k:
                pts = pv.points[pv.labels == c]
                color = class_color(c)
                color.setAlpha(200)
                item.setData(pts[:, 0], pts[:, 1], brush=color, pen=None, size=4)
                item.show()
            else:
                item.setData([], [])
                item.hide()
        x, y = pv.points[:, 0], pv.points[:, 1]
        if len(x):
            pad_x = 0.05 * float(np.ptp(x) or 1.0)
            pad_y = 0.05 * float(np.ptp(y) or 1.0)
            self.plot.setRange(
                xRange=(float(x.min()) - pad_x, float(x.max()) + pad_x),
                yRange=(float(y.min()) - pad_y, float(y.max()) + pad_y),
                padding=0,
            )

    @staticmethod
    def _summary_html(pv: Preview) -> str:
        parts = [f"<b>{pv.n_train:,}</b> train", f"<b>{pv.n_val:,}</b> val"]
        if pv.n_test:
            parts.append(f"<b>{pv.n_test:,}</b> test")
        dim = f"input dim <b>{pv.input_dim:,}</b>"
        if pv.image_shape is not None:
            h, w = pv.image_shape[-2:]
            colour = " colour" if len(pv.image_shape) == 3 and pv.image_shape[0] == 3 else ""
            dim += f" ({h}×{w}{colour} images)"
        line = " · ".join(parts) + "<br>" + f"{dim} · <b>{pv.n_classes}</b> classes"
        if pv.n_classes <= 10 and pv.points is not None:
            chips = " ".join(
                f"<span style='color:{CLASS_COLORS[k % 10]}'>■</span>&nbsp;{name}"
                for k, name in enumerate(pv.class_names)
            )
            line += f"<br>{chips}"
        return line


__all__ = ["CLASS_COLORS", "PreviewPane", "ThumbGrid", "class_color"]
