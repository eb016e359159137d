"""File > Export Figure: the publication figure of the view on screen (:mod:`gradlab.figures`,
matplotlib: PDF, SVG, PNG or EPS that any viewer renders), with the view's own settings, previewed
in the dialog before it is written.

* **What is drawn.** The current view's kind (Distributions -> ``distributions``, ..., Compare
  -> ``compare`` of the pinned runs, never the list box or its buttons) with what the view shows:
  its quantity, its layers (the output layer or not), its log scales, its layout and the
  timeline's step (:func:`view_figure`). Every choice can be changed in the dialog.
* **A frozen copy.** The dialog draws a copy of the run taken when it opens (its history; for the
  decision boundary a copy of the network the worker makes between two steps), so training goes
  on meanwhile and never races the drawing.
* **The preview** is the figure rendered to PNG bytes in memory (at the resolution the preview
  needs) and shown scaled; it is redrawn a moment after a choice changes.
* **Writing** goes through :func:`gradlab.figures.save`: rendered in memory, then an atomic
  rename over the target, so a failed export (a full disk, a read-only file) leaves the old
  file as it was and says why in one sentence.
* **matplotlib** is imported when the first preview is drawn, not when the window starts (this
  module imports only :mod:`gradlab.figures`' matplotlib-free front).

The "as on screen" PNG/SVG of the window's own widgets stays one button away (:mod:`export`).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gradlab import figures
from gradlab.app import theme
from gradlab.app.views import BaseView
from gradlab.experiment import History
from gradlab.safeio import printable

#: figure formats offered, as (label, suffix)
FORMATS = (
    ("PDF (vector, text as text)", ".pdf"),
    ("SVG (vector, for the web and editors)", ".svg"),
    ("PNG (image)", ".png"),
    ("EPS (vector, for LaTeX with dvips)", ".eps"),
)
#: what gradlab.figures accepts (it says so itself beyond these; the boxes stop here)
INCHES = (1.0, 50.0)
DPIS = (50, 1200)
#: the preview is redrawn this long after the last change (ms)
PREVIEW_DELAY = 250
#: labels of the kinds' extra options
EXTRA_LABELS = {"layout": "Layout", "logc": "Colour scale"}
EXTRA_CHOICES = {True: "log", False: "linear", "overlay": "overlaid", "multiples": "one per layer"}
_tokens = itertools.count(1)


# ============================================================================ what is drawn
@dataclass
class FrozenRun:
    """A copy of the window's run for a figure (the fields :func:`gradlab.figures.plot`
    reads)."""

    name: str
    spec: dict
    history: Any
    layer_names: list[str]
    input_dim: int
    output_dim: int
    experiment: Any = field(default=None, repr=False)


@dataclass
class NetworkAt:
    """What the decision boundary reads of an experiment, with a detached network copy."""

    data: Any
    network: Any
    loss: Any
    step_count: int
    data_error: str | None = None


def frozen(run) -> FrozenRun:
    """A copy of ``run`` (a RunModel) whose history no worker appends to."""
    meta, arrays = run.history.to_arrays()
    return FrozenRun(
        name=run.name,
        spec=copy.deepcopy(run.spec),
        history=History.from_arrays(meta, arrays),
        layer_names=list(run.layer_names),
        input_dim=int(run.input_dim),
        output_dim=int(run.output_dim),
    )


def _checked(view: QWidget, name: str) -> bool | None:
    box = getattr(view, name, None)
    return box.isChecked() if isinstance(box, QCheckBox) else None


def _data(view: QWidget, name: str) -> Any:
    box = getattr(view, name, None)
    return box.currentData() if isinstance(box, QComboBox) else None


def view_figure(view: QWidget | None) -> tuple[str, dict[str, Any]]:
    """The figure kind of ``view`` and the options that draw what it shows now. A view may say
    it itself (``figure_options()``); otherwise its controls are read: the quantity and layout
    and log y of Distributions, the output-layer box of Profile and Over time, the quantity
    and colour scale of Heatmaps."""
    if not isinstance(view, BaseView):
        return "dashboard", {}
    kind = view.key if view.key in figures.KINDS else "dashboard"
    if callable(getattr(view, "figure_options", None)):
        return kind, dict(view.figure_options())
    opts: dict[str, Any] = {}
    if kind == "distributions":
        opts["quantity"] = getattr(view, "hist_key", None)
        opts["layout"] = _data(view, "layout_box")
        opts["logy"] = _checked(view, "logy_box") or None
    elif kind in ("profile", "over_time"):
        out = _checked(view, "output_box")
        if out is not None:
            opts["layers"] = "all" if out else "hidden"
    elif kind == "heatmaps":
        opts["quantity"] = getattr(view, "quantity", None)
        log = getattr(view, "log_color", None)
        if isinstance(log, bool):
            opts["logc"] = log
    choices = figures.kind_options(kind)
    for k, v in list(opts.items()):
        allowed = choices.get(k)
        if v is None or (allowed is not None and v not in allowed):
            del opts[k]
    return kind, opts


def parse_layers(text: str) -> Any:
    """The Layers box: "" (the figure's default), "all", "hidden", or numbers and "out"."""
    t = text.strip()
    if not t or t.lower() in ("all", "hidden"):
        return t.lower() or None
    out: list[Any] = []
    for part in t.replace(";", ",").split(","):
        p = part.strip()
        if not p:
            continue
        out.append(int(p) if p.isdigit() else p)
    return out


def _safe(name: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return out or "gradlab"


# ============================================================================ the dialog
class PreviewLabel(QLabel):
    """The preview: says when its size changed (the figure is scaled to it again)."""

    resized = Signal()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class PublicationFigureDialog(QDialog):
    """See the module docstring. ``kind``/``options`` default to the window's current view."""

    def __init__(
        self, win, kind: str | None = None, options: dict | None = None, parent=None
    ) -> None:
        super().__init__(parent if parent is not None else win)
        self.win = win
        self.settings = win.settings
        self.setWindowTitle("Export figure")
        self.result_path: Path | None = None
        self.figure = None  # the last figure drawn, and the choices it was drawn with
        self._drawn_with: tuple | None = None
        self.preview_png: bytes | None = None
        view = win.tabs.currentWidget()
        vkind, vopts = view_figure(view)
        self.kind0 = kind or vkind
        self.options0 = dict(options if options is not None else vopts)
        self.step0 = win.timeline.selected_step if self.kind0 != "compare" else None
        self.run = frozen(win.run) if win.run is not None else None
        self.pinned = list(win.pinned)
        self._network_token: int | None = None
        self._listening = False
        self._want_network()

        lay = QHBoxLayout(self)
        left = QWidget(self)
        left.setMaximumWidth(430)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.form = form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind_box = QComboBox(left)
        for k in figures.KINDS:
            self.kind_box.addItem(k.replace("_", " "), k)
            self.kind_box.setItemData(
                self.kind_box.count() - 1, figures.describe(k), Qt.ItemDataRole.ToolTipRole
            )
        form.addRow("Figure", self.kind_box)
        self.about = QLabel(left)
        self.about.setWordWrap(True)
        self.about.setStyleSheet(f"color: {theme.current().muted};")
        form.addRow("", self.about)
        self.quantity_box = QComboBox(left)
        form.addRow("Panel", self.quantity_box)
        self.extra_boxes: dict[str, QComboBox] = {}
        for key, label in EXTRA_LABELS.items():
            box = QComboBox(left)
            self.extra_boxes[key] = box
            form.addRow(label, box)
        self.layers_edit = QLineEdit(left)
        self.layers_edit.setPlaceholderText("the figure's choice")
        self.layers_edit.setToolTip(
            "all, hidden, or layer numbers and out, e.g. 1, 2, out (empty: the figure's choice)"
        )
        form.addRow("Layers", self.layers_edit)
        logs = QHBoxLayout()
        self.logx_box = QCheckBox("log x", left)
        self.logy_box = QCheckBox("log y", left)
        for b in (self.logx_box, self.logy_box):
            b.setToolTip("Checked: a log axis; unchecked: the figure's own choice")
            logs.addWidget(b)
        logs.addStretch(1)
        form.addRow("Scales", logs)
        self.step_box = QSpinBox(left)
        self.step_box.setRange(-1, 2_000_000_000)
        self.step_box.setSpecialValueText("newest")
        self.step_box.setGroupSeparatorShown(True)
        self.step_box.setToolTip("The probe at or before this step (the timeline's step)")
        form.addRow("Step", self.step_box)
        self.style_box = QComboBox(left)
        self.style_box.addItem("paper (8-9 pt at a 3.3 in column)", "paper")
        self.style_box.addItem("slides (large fonts, thick lines, 16:9)", "slides")
        form.addRow("Style", self.style_box)
        size = QHBoxLayout()
        self.width_box = QDoubleSpinBox(left)
        self.height_box = QDoubleSpinBox(left)
        for b in (self.width_box, self.height_box):
            b.setRange(0.0, INCHES[1])
            b.setDecimals(2)
            b.setSingleStep(0.1)
            b.setSuffix(" in")
            b.setSpecialValueText("auto")
            b.setToolTip("In inches (auto: the style's size for this figure)")
        size.addWidget(self.width_box)
        size.addWidget(QLabel("×", left))
        size.addWidget(self.height_box)
        form.addRow("Size", size)
        self.dpi_box = QSpinBox(left)
        self.dpi_box.setRange(DPIS[0] - 1, DPIS[1])
        self.dpi_box.setSpecialValueText("style's (300 paper, 150 slides)")
        self.dpi_box.setSuffix(" dpi")
        self.dpi_box.setToolTip("Pixels per inch of PNG files and of images inside vector files")
        form.addRow("Resolution", self.dpi_box)
        self.format_box = QComboBox(left)
        for label, suffix in FORMATS:
            self.format_box.addItem(label, suffix)
        form.addRow("Format", self.format_box)
        file_row = QHBoxLayout()
        self.file_edit = QLineEdit(left)
        browse = QPushButton("Browse…", left)
        browse.clicked.connect(self._browse)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)
        form.addRow("File", file_row)
        ll.addLayout(form)
        self.error = QLabel(left)
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet(f"color: {theme.current().error};")
        self.error.hide()
        ll.addWidget(self.error)
        ll.addStretch(1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, left
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Export")
        self.screen_btn = self.buttons.addButton(
            "As on screen…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.screen_btn.setToolTip(
            "A PNG or SVG of the window's own plots, as they look now (quick slides)"
        )
        self.screen_btn.clicked.connect(self._as_on_screen)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        ll.addWidget(self.buttons)
        lay.addWidget(left)

        right = QVBoxLayout()
        self.preview = PreviewLabel(self)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(QSize(420, 300))
        # (Ignored: the pixmap never sizes the label; the label's size sizes the pixmap)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.resized.connect(self._show_pixmap)
        self.preview.setStyleSheet("background: white; border: 1px solid #c0c0c0;")
        self.preview.setWordWrap(True)
        right.addWidget(self.preview, 1)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        right.addWidget(self.info)
        lay.addLayout(right, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY)
        self._timer.timeout.connect(self.draw_preview)
        self._restore()
        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        for box in (self.quantity_box, self.style_box, *self.extra_boxes.values()):
            box.currentIndexChanged.connect(self._changed)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        for b in (self.logx_box, self.logy_box):
            b.toggled.connect(self._changed)
        for b in (self.step_box, self.dpi_box):
            b.valueChanged.connect(self._changed)
        for b in (self.width_box, self.height_box):
            b.valueChanged.connect(self._changed)
        self.layers_edit.textEdited.connect(self._changed)
        self.file_edit.textEdited.connect(lambda _t: self.error.hide())
        self.resize(1060, 640)
        self._changed()

    # ------------------------------------------------------------------ set-up
    def _restore(self) -> None:
        s = self.settings
        self.kind_box.setCurrentIndex(max(self.kind_box.findData(self.kind0), 0))
        self._fill_choices()
        o = self.options0
        self._select(self.quantity_box, o.get("quantity"))
        for key, box in self.extra_boxes.items():
            self._select(box, o.get(key))
        layers = o.get("layers")
        if isinstance(layers, (list, tuple)):
            layers = ", ".join(str(x) for x in layers)
        self.layers_edit.setText(str(layers) if layers else "")
        self.logx_box.setChecked(bool(o.get("logx")))
        self.logy_box.setChecked(bool(o.get("logy")))
        self.step_box.setValue(-1 if self.step0 is None else int(self.step0))
        self._select(self.style_box, str(s.value("export/figure2/style", "paper")))
        self._select(self.format_box, str(s.value("export/figure2/format", ".pdf")))
        self.dpi_box.setValue(int(s.value("export/figure2/dpi", 0) or 0) or DPIS[0] - 1)
        self.file_edit.setText(str(self._default_dir() / self._default_name()))
        self._auto_name = self.file_edit.text()

    @staticmethod
    def _select(box: QComboBox, value: Any) -> None:
        i = box.findData(value) if value is not None else -1
        if i >= 0:
            box.setCurrentIndex(i)

    def _fill_choices(self) -> None:
        """The Panel and extra boxes for the chosen kind (hidden when it has none)."""
        opts = figures.kind_options(self.kind)
        self.about.setText(figures.describe(self.kind))
        form = self.form
        for box, key in [(self.quantity_box, "quantity")] + [
            (b, k) for k, b in self.extra_boxes.items()
        ]:
            keep = box.currentData()
            box.blockSignals(True)
            box.clear()
            for v in opts.get(key, ()):
                box.addItem(EXTRA_CHOICES.get(v, str(v).replace("_", " ")), v)
            self._select(box, keep)
            box.blockSignals(False)
            form.setRowVisible(box, box.count() > 0)
        is_compare = self.kind == "compare"
        form.setRowVisible(self.step_box, not is_compare)

    def _want_network(self) -> None:
        """Ask the worker for a copy of the network (the boundary needs one); it answers
        between two steps."""
        run = self.win.run
        exp = run.experiment if run is not None else None
        if self.run is None or exp is None or exp.data_error or run.input_dim != 2:
            return
        self._network_token = next(_tokens)
        self.win.worker.worker.networkCopied.connect(self._on_network)
        self._listening = True
        self.win.worker.post("copy_network", ("figure", self._network_token))

    @Slot(object, object, int, str)
    def _on_network(self, token: object, network: object, step: int, _name: str) -> None:
        if token != ("figure", self._network_token) or self.run is None:
            return
        self._network_token = None
        exp = self.win.run.experiment if self.win.run is not None else None
        if exp is None:
            return
        try:
            data = exp.data
        except ValueError:
            return
        self.run.experiment = NetworkAt(data, network, exp.loss, step)
        if self.kind in ("boundary", "dashboard"):
            self._drawn_with = None
            self._changed()

    # ------------------------------------------------------------------ the choices
    @property
    def kind(self) -> str:
        return self.kind_box.currentData()

    def source(self) -> Any:
        if self.kind == "compare":
            return self.pinned
        return self.run

    def options(self) -> dict[str, Any]:
        """The keyword options of :func:`gradlab.figures.plot` the dialog's choices make."""
        o: dict[str, Any] = {"style": self.style_box.currentData()}
        if self.quantity_box.count():
            o["quantity"] = self.quantity_box.currentData()
        for key, box in self.extra_boxes.items():
            if box.count():
                o[key] = box.currentData()
        layers = parse_layers(self.layers_edit.text())
        if layers is not None:
            o["layers"] = layers
        if self.logx_box.isChecked():
            o["logx"] = True
        if self.logy_box.isChecked():
            o["logy"] = True
        if self.width_box.value() > 0:
            o["width"] = self.width_box.value()
        if self.height_box.value() > 0:
            o["height"] = self.height_box.value()
        if self.dpi_box.value() >= DPIS[0]:
            o["dpi"] = self.dpi_box.value()
        return o

    def step(self) -> int | None:
        v = self.step_box.value()
        return None if v < 0 or self.kind == "compare" else v

    def _key(self) -> tuple:
        network = self.run.experiment if self.run is not None else None
        return (self.kind, self.step(), repr(sorted(self.options().items())), id(network))

    def _kind_changed(self) -> None:
        self._fill_choices()
        self._rename()
        self._changed()

    def _format_changed(self) -> None:
        self._rename()
        self._update_info()

    def _changed(self, *_args) -> None:
        self.error.hide()
        self._timer.start()

    # ------------------------------------------------------------------ drawing
    def make_figure(self):
        """The figure for the current choices (drawn again only when they changed)."""
        key = self._key()
        if self.figure is None or key != self._drawn_with:
            if self.source() is None:
                raise figures.FigureError("there is no run to draw yet")
            self.figure = figures.plot(self.source(), self.kind, self.step(), **self.options())
            self._drawn_with = key
        return self.figure

    def draw_preview(self) -> bool:
        """Render the figure to PNG bytes in memory and show it scaled; False (and the reason
        in one sentence) if it cannot be drawn."""
        self._timer.stop()
        if self._network_token is not None and self.kind in ("boundary", "dashboard"):
            self.preview.setText("Waiting for a copy of the network…")
            self._timer.start()
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            fig = self.make_figure()
            w, h = fig.get_size_inches()
            room = self._room()
            ratio = self.preview.devicePixelRatioF()
            fit = min(room.width() / w, room.height() / h) * ratio
            dpi = max(DPIS[0], min(self._dpi(fig), fit))
            png = figures.render(fig, "png", dpi=dpi)
        except (ValueError, OSError, MemoryError) as err:
            self._fail(err)
            self.preview.setPixmap(QPixmap())
            self.preview.setText("No preview: " + self.error.text())
            self.preview_png = None
            self.info.setText("")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.preview_png = png
        pm = QPixmap()
        pm.loadFromData(png, "PNG")
        pm.setDevicePixelRatio(ratio)
        self._pixmap = pm
        self._update_info()
        self._show_pixmap()
        return True

    @Slot()
    def _show_pixmap(self) -> None:
        pm = getattr(self, "_pixmap", None)
        if pm is None or pm.isNull():
            return
        ratio = pm.devicePixelRatio()
        room = self._room() * ratio
        scaled = pm.scaled(
            room,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        scaled.setDevicePixelRatio(ratio)
        self.preview.setPixmap(scaled)

    def _room(self) -> QSize:
        """The preview's inside, where the scaled figure goes."""
        r = self.preview.contentsRect().size()
        return QSize(max(r.width() - 6, 50), max(r.height() - 6, 50))


    def _dpi(self, fig) -> float:
        v = self.dpi_box.value()
        return float(v) if v >= DPIS[0] else float(fig.dpi)

    def _update_info(self) -> None:
        fig = self.figure
        if fig is None or self.preview_png is None:
            return
        w, h = fig.get_size_inches()
        dpi = self._dpi(fig)
        fmt = self.format_box.currentData()
        px = f"{round(w * dpi):,} × {round(h * dpi):,} px"
        what = "pixels" if fmt == ".png" else "vector (images inside at that resolution)"
        self.info.setText(
            f"{w:.2f} × {h:.2f} in, {self.style_box.currentData()} style, {dpi:g} dpi: {px}, "
            f"{what}. The preview is scaled to fit."
        )

    # ------------------------------------------------------------------ the file
    def _default_dir(self) -> Path:
        d = self.settings.value("export/dir")
        if d and Path(str(d)).is_dir():
            return Path(str(d))
        if self.win.path is not None:
            return Path(self.win.path).parent
        return Path.home()

    def _default_name(self) -> str:
        stem = self.run.name if self.run is not None and self.kind != "compare" else "compare"
        return f"{_safe(stem)}-{self.kind}{self.format_box.currentData()}"

    def _rename(self) -> None:
        """Keep the file name following the kind and format unless the user typed one."""
        text = self.file_edit.text().strip()
        suffix = self.format_box.currentData()
        if not text or text == self._auto_name:
            folder = Path(text).parent if text else self._default_dir()
            text = str(folder / self._default_name())
            self._auto_name = text
        elif Path(text).suffix.lower() != suffix:
            text = str(Path(text).with_suffix(suffix))
        self.file_edit.setText(text)

    def _browse(self) -> None:
        suffix = self.format_box.currentData()
        path, _ = QFileDialog.getSaveFileName(
            self, "Export figure", self.file_edit.text(), f"{suffix[1:].upper()} (*{suffix})"
        )
        if path:
            p = Path(path)
            i = self.format_box.findData(p.suffix.lower())
            if i >= 0:
                self.format_box.setCurrentIndex(i)
            else:
                p = p.with_suffix(suffix)
            self.file_edit.setText(str(p))
            self._auto_name = ""

    def export(self) -> Path | None:
        """Write the figure (atomically); on failure say why in the dialog and stay open."""
        text = self.file_edit.text().strip()
        if not text:
            self._fail(ValueError("Choose a file to export to."))
            return None
        path = Path(text).expanduser()
        i = self.format_box.findData(path.suffix.lower())
        if i >= 0:
            self.format_box.setCurrentIndex(i)
        else:
            path = path.with_suffix(self.format_box.currentData())
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            if not path.parent.is_dir():
                raise FileNotFoundError(
                    f"Cannot write {path.name}: the folder {path.parent} does not exist."
                )
            fig = self.make_figure()
            out = figures.save(fig, path, dpi=self._dpi(fig))
        except (ValueError, OSError, MemoryError) as err:
            self._fail(err, path)
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        s = self.settings
        s.setValue("export/figure2/style", self.style_box.currentData())
        s.setValue("export/figure2/format", self.format_box.currentData())
        s.setValue("export/figure2/dpi", self.dpi_box.value() if self.dpi_box.value() >= 50 else 0)
        s.setValue("export/dir", str(out.parent))
        self.result_path = out
        self.win.statusBar().showMessage(f"Exported {printable(out.name, 200)}", 5000)
        self.accept()
        return out

    def _fail(self, err: BaseException, path: Path | None = None) -> None:
        from gradlab.app.export import _sentence
        from gradlab.errors import sentence

        if path is not None and isinstance(err, OSError) and not isinstance(
            err, FileNotFoundError
        ):
            text = _sentence(err, path)
        elif isinstance(err, FileNotFoundError) and not err.filename:
            text = str(err)
        elif isinstance(err, ValueError) and not isinstance(err, UnicodeError):
            text = str(err)  # FigureError and the dialog's own: one sentence already
        else:
            text = sentence(err)
        text = text.strip().rstrip(".")
        self.error.setText(printable(f"{text[:1].upper()}{text[1:]}.", 600))
        self.error.show()

    def _as_on_screen(self) -> None:
        from gradlab.app import export

        self.reject()
        export.export_screen_dialog(self.win)

    def done(self, r: int) -> None:
        self._timer.stop()
        if self._listening:
            self._listening = False
            try:
                self.win.worker.worker.networkCopied.disconnect(self._on_network)
            except (RuntimeError, TypeError):
                pass
        super().done(r)


def export_figure_dialog(win, kind: str | None = None) -> Path | None:
    """File > Export Figure… (returns the written file, or None)."""
    dlg = PublicationFigureDialog(win, kind)
    dlg.exec()
    return dlg.result_path


__all__ = [
    "FrozenRun",
    "PublicationFigureDialog",
    "export_figure_dialog",
    "frozen",
    "parse_layers",
    "view_figure",
]
