"""The Data panel: the dataset, its parameters, the split and preprocessing, and a preview.

Model -> UI: :meth:`DataPanel.set_spec` shows ``spec["data"]`` with signals blocked. UI -> model:
a committed field sets that one key of a copy of the data entry and the panel emits the whole
spec. Switching datasets remembers the previous dataset's settings for this session, so switching
back restores them.

The dataset list and each dataset's form come from what the data layer declares
(:func:`gradlab.data.names`, :func:`gradlab.data.info`: description, Params, availability), so a
newly registered dataset shows without a change here. A bad value is marked from the spec
layer's one check (:func:`gradlab.experiment.spec.check`).

The preview (a scatter for 2-D data, thumbnails with class names for images, a histogram of the
input values otherwise, and a summary line) is built on a background thread by the preview
service (:mod:`gradlab.app.preview`); a result that does not match the panel's newest request is
ignored. A file that cannot be read
(:class:`~gradlab.errors.DataError`) shows its one-sentence message in red under the form, marks
the field naming the file and counts as an error of the panel (the window then disables Run).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from gradlab import data as datasets
from gradlab.app import theme
from gradlab.app.panels.base import SpecPanel
from gradlab.app.panels.forms import (
    ComboBox,
    ParamForm,
    align_labels,
    blocked,
    error_label,
    mark_error,
    muted,
    retint,
    scrolling_body,
    section,
)
from gradlab.app.preview import (
    PREVIEW_EXAMPLES,
    PREVIEW_POINTS,
    PREVIEW_VECTOR,
    Preview,
    preview_service,
)
from gradlab.errors import SpecError
from gradlab.experiment.spec import check

#: the keys every dataset shares (shown in the "Split & preprocessing" section)
SHARED = ("val_fraction", "preprocess", "max_train", "whiten_eps")
#: a qualitative palette for classes (matplotlib's tab10)
CLASS_COLORS = theme.CLASS_COLORS
FILE_FILTERS = {
    "idx": "IDX files (*-ubyte *-ubyte.gz *.idx *.idx?-ubyte *.gz);;All files (*)",
    "npz": "NumPy archives (*.npz);;All files (*)",
    "csv": "CSV files (*.csv *.tsv *.txt);;All files (*)",
}
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
        self, strip: np.ndarray, shape: tuple[int, int], labels: list[str], colors: list[QColor]
    ) -> None:
        strip = np.ascontiguousarray(strip, dtype=np.uint8)
        h, w = strip.shape
        img = QImage(strip.data, w, h, w, QImage.Format.Format_Grayscale8)
        self._image = img.copy()  # own the pixels (the array may go)
        self._shape = shape
        self._labels = labels
        self._colors = colors
        self.updateGeometry()
        self.update()

    def count(self) -> int:
        return len(self._labels)

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
            dim += f" ({pv.image_shape[0]}×{pv.image_shape[1]} images)"
        line = " · ".join(parts) + "<br>" + f"{dim} · <b>{pv.n_classes}</b> classes"
        if pv.n_classes <= 10 and pv.points is not None:
            chips = " ".join(
                f"<span style='color:{CLASS_COLORS[k % 10]}'>■</span>&nbsp;{name}"
                for k, name in enumerate(pv.class_names)
            )
            line += f"<br>{chips}"
        return line


# ====================================================================== the panel
def _strip_output_units(spec: dict) -> None:
    """The output layer has one unit per class: drop a stored width, which another dataset
    would contradict."""
    layers = spec.get("network", {}).get("layers")
    if not isinstance(layers, list):
        return
    for entry in layers:
        if isinstance(entry, dict) and (entry.get("type") == "output" or entry.get("output")):
            entry.pop("units", None)


class DataPanel(SpecPanel):
    """The dataset and its parameters, the split and preprocessing, and a preview."""

    title = "Data"
    #: a preview was shown (or its error): tests wait on it
    previewUpdated = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._name = ""
        self._errors: list[str] = []
        self._field_errors: list[str] = []
        self._memory: dict[str, dict] = {}
        self._preview_key = ""
        self._preview_error = ""  # a DataError of the current request
        self._service = preview_service()
        self._service.ready.connect(self._on_preview)

        self.scroll_area, body, lay = scrolling_body(self)

        box, self.form = section("Dataset", body)
        self.combo = ComboBox(box)
        for name in datasets.names():
            info = datasets.info(name)
            self.combo.add_item(name, name, info.description, enabled=info.available)
        self.combo.setToolTip("The dataset to train on (hover an item for its description)")
        self.combo.activated.connect(self._on_dataset_chosen)
        self.form.addRow("Name", self.combo)
        self.description = muted(QLabel(box))
        self.description.setWordWrap(True)
        self.form.addRow(self.description)
        self.params = ParamForm(self.form, "data", box, file_filters={})
        self.params.edited.connect(self._on_field)
        lay.addWidget(box)

        box2, self.form2 = section("Split && preprocessing", body)
        self.shared = ParamForm(self.form2, "data", box2)
        self.shared.edited.connect(self._on_field)
        lay.addWidget(box2)

        self.preview_box, pform = section("Preview", body)
        self.pane = PreviewPane(self.preview_box)
        pform.setContentsMargins(0, 2, 0, 0)
        pform.addRow(self.pane)
        #: a file that cannot be read, in one sentence (inside the preview box)
        self.message = self.pane.message
        lay.addWidget(self.preview_box)
        lay.addStretch(1)

        self._show_dataset("spiral", {"name": "spiral"})

    # ------------------------------------------------------------------ model -> UI
    def set_spec(self, spec: dict) -> None:
        super().set_spec(spec)
        data = self._data()
        name = self._canonical(data.get("name"))
        if name != self._name:
            self._show_dataset(name, data)
        else:
            self._set_values(data)
        self._refresh()

    def _data(self) -> dict:
        data = self._spec.get("data")
        if not isinstance(data, dict):
            data = {"name": "spiral"}
        return data

    @staticmethod
    def _canonical(name: Any) -> str:
        try:
            return datasets.info(name).name
        except (SpecError, TypeError):
            return str(name)

    def _show_dataset(self, name: str, data: dict) -> None:
        """Rebuild the forms for dataset ``name`` (its own params; the shared ones)."""
        self._name = name
        with blocked(self.combo):
            if not self.combo.select_data(name):
                self.combo.add_item(name, name, "unknown dataset")
                self.combo.select_data(name)
        try:
            info = datasets.info(name)
        except (SpecError, TypeError):
            info = None
        if info is None:
            self.description.setText("")
            self.params.build([])
            self.shared.build([])
        else:
            self.description.setText(info.description)
            own = [p for p in info.params if p.name not in SHARED]
            shared = [p for p in info.params if p.name in SHARED]
            self.params.file_filters = {
                p.name: FILE_FILTERS.get(info.name, "All files (*)") for p in own
            }
            self.params.build(own)
            self.shared.build(shared)
        self.description.setVisible(bool(self.description.text()))
        self._set_values(data)
        align_labels(self.form, self.form2)

    def _set_values(self, data: dict) -> None:
        self.params.set_values(data)
        self.shared.set_values(data)
        whiten = self.shared.values().get("preprocess") == "pca_whiten"
        self.shared.set_row_visible("whiten_eps", whiten)

    # ------------------------------------------------------------------ UI -> model
    def _on_dataset_chosen(self, _index: int) -> None:
        name = self.combo.currentData()
        if name == self._name:
            return
        old = self._data()
        self._memory[self._name] = copy.deepcopy(old)
        data = copy.deepcopy(self._memory.get(name, {"name": name}))
        self._show_dataset(name, data)
        self._emit(data)

    def _on_field(self, key: str) -> None:
        form = self.params if key in self.params.fields else self.shared
        value = form.fields[key].value()
        data = copy.deepcopy(self._data())
        if value is None and form.fields[key].param.default is None:
            data.pop(key, None)
        else:
            data[key] = value
        if key == "preprocess":
            self.shared.set_row_visible("whiten_eps", value == "pca_whiten")
        self._emit(data)

    def _emit(self, data: dict) -> None:
        spec = copy.deepcopy(self._spec)
        spec["data"] = data
        _strip_output_units(spec)
        self._spec = spec
        self._refresh()
        self.specEdited.emit(copy.deepcopy(spec))

    # ------------------------------------------------------------------ validation
    def errors(self) -> list[str]:
        return list(self._errors)

    def _refresh(self) -> None:
        """Check the fields, ask for the preview when they are fine, publish the errors."""
        self._field_errors = self._check_fields()
        if self._field_errors:
            self._preview_key = ""
            self._preview_error = ""
            self._service.release(self)
            self.pane.status.setText("Fix the highlighted fields to see a preview.")
            self.pane.status.show()
        else:
            self._request_preview()
        self._publish()

    def _check_fields(self) -> list[str]:
        """The data section's problems from the spec's one check, marked on their fields."""
        data = self._data()
        problems = check({**self._spec, "data": data}).under("data")
        by_field = problems.by_field()
        errs = self.params.show_problems(by_field) + self.shared.show_problems(by_field)
        combo_error = by_field.get("data.name", "")
        if not combo_error:
            try:
                info = datasets.info(data.get("name"))
            except (SpecError, TypeError):
                info = None
            if info is not None and not info.available:
                combo_error = (
                    f"data.name: {info.name} needs {info.requires}, which is not installed"
                )
        mark_error(self.combo, combo_error, "The dataset to train on")
        if combo_error:
            errs.append(combo_error)
        shown = {f.path for form in (self.params, self.shared) for f in form.fields.values()}
        errs += [p.message for p in problems if p.field not in shown and p.field != "data.name"]
        return list(dict.fromkeys(errs))

    def _publish(self) -> None:
        errs = list(self._field_errors)
        if self._preview_error:
            errs.append(self._preview_error)
        self.message.setText(self._preview_error)
        self.message.setVisible(bool(self._preview_error))
        self._mark_file_fields(self._preview_error)
        if errs != self._errors:
            self._errors = errs
            self.errorsChanged.emit()

    # ------------------------------------------------------------------ preview
    def _request_preview(self) -> None:
        key, pv = self._service.request(self, self._data(), self._spec.get("seed", 0))
        if key == self._preview_key and pv is None:
            return  # already waiting for it
        if key != self._preview_key:
            self._preview_error = ""  # about another request
        self._preview_key = key
        if pv is not None:
            self._apply_preview(pv, publish=False)
        else:
            self.pane.status.setText("building preview…")
            self.pane.status.show()

    @Slot(str, object)
    def _on_preview(self, key: str, pv: Preview) -> None:
        if key != self._preview_key:
            return  # a stale result: the spec changed since it was asked for
        self._apply_preview(pv)

    def _apply_preview(self, pv: Preview, publish: bool = True) -> None:
        self.pane.show_preview(pv)
        status = ""
        if pv.reduced and not pv.error:
            n = (
                PREVIEW_POINTS
                if pv.points is not None
                else (PREVIEW_EXAMPLES if pv.kind == "image" else PREVIEW_VECTOR)
            )
            status = f"Preview drawn from a sample of {n:,} examples."
        self.pane.status.setText(status)
        self.pane.status.setVisible(bool(status))
        # a file error is real; a spec error of a reduced copy may be the copy's own
        self._preview_error = pv.error if pv.error and (pv.data_error or not pv.reduced) else ""
        if publish:
            self._publish()
        self.previewUpdated.emit()

    def _mark_file_fields(self, message: str) -> None:
        """Mark the path field whose file the message names (others keep the check's marks)."""
        for f in self.params.fields.values():
            if f.param.kind != "path":
                continue
            value = f.value()
            if message and value and (str(value) in message or _abs(value) in message):
                f.set_error(message)
            elif f.error() and f.error() not in self._field_errors:
                f.set_error("")

    def preview(self) -> Preview | None:
        """The preview on show (tests)."""
        return self.pane.preview

    def retheme(self) -> None:
        """Re-apply the theme: plot colours, grey and red text, error marks."""
        retint(self)
        self.pane.retheme()
        self._field_errors = self._check_fields()
        self._publish()


def _abs(path: str) -> str:
    import os

    return os.path.abspath(os.path.expanduser(path))
