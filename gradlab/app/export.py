"""Export dialogs: the window's views "as on screen" (PNG or SVG, drawn by
:mod:`gradlab.app.render`, for quick slides; the publication figure is
:mod:`gradlab.app.figure_dialog`'s), the probe statistics (CSV or JSON) and the network (weights
``.npz``, PyTorch or Keras code).

The network is copied by the training worker between two steps, on request (File > Export
Network posts ``copy_network``; the worker answers with a detached copy and the dialog opens):
training never pauses for it and nothing waits in a nested event loop.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.render import (
    BOUNDARY_RES,
    DASHBOARD,
    DEFAULT_DPI,
    DEFAULT_SIZE,
    FIGURE_SUFFIXES,
    copy_controls,
    ensure_boundary,
    export_window_figure,
    figure_keys,
    render_figure,
)
from gradlab.app.views import RUN_VIEWS, BaseView
from gradlab.fileio import atomic_write_text


# ============================================================================ figure dialog
class ScreenExportDialog(QDialog):
    """File > Export As on Screen: the window's own plots as they look (current view or the
    dashboard), PNG or SVG: format, size, DPI, scale, file."""

    def __init__(self, win, parent: QWidget | None = None):
        super().__init__(parent if parent is not None else win)
        self.win = win
        self.settings = win.settings
        self.setWindowTitle("Export as on screen")
        self.result_path: Path | None = None
        s = self.settings
        current = win.tabs.currentWidget()
        self.view_title = current.title if isinstance(current, BaseView) else "view"
        self.view_key = current.key if isinstance(current, BaseView) else RUN_VIEWS[0].key

        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.what = QComboBox(self)
        self.what.addItem(f"Current view: {self.view_title}", "view")
        self.what.addItem(f"Whole dashboard: {len(RUN_VIEWS)} views in a grid", DASHBOARD)
        self.what.setItemData(
            1,
            ", ".join(v.title for v in RUN_VIEWS),
            Qt.ItemDataRole.ToolTipRole,
        )
        form.addRow("Export", self.what)
        self.format = QComboBox(self)
        self.format.addItem("PNG image", ".png")
        self.format.addItem("SVG vector drawing", ".svg")
        form.addRow("Format", self.format)
        size_row = QHBoxLayout()
        self.width_box = QSpinBox(self)
        self.height_box = QSpinBox(self)
        for box in (self.width_box, self.height_box):
            box.setRange(16, 20000)
            box.setSuffix(" px")
            box.setAccelerated(True)
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×", self))
        size_row.addWidget(self.height_box)
        size_row.addStretch(1)
        form.addRow("Size", size_row)
        self.dpi_box = QSpinBox(self)
        self.dpi_box.setRange(10, 4800)
        self.dpi_box.setToolTip(
            "Written into the file: how large the figure prints (pixels / DPI = inches)"
        )
        form.addRow("DPI", self.dpi_box)
        self.scale_box = QDoubleSpinBox(self)
        self.scale_box.setRange(0.5, 6.0)
        self.scale_box.setSingleStep(0.25)
        self.scale_box.setDecimals(2)
        self.scale_box.setPrefix("× ")
        self.scale_box.setToolTip(
            "Draw text and lines this many times larger (the plots are laid out at size / scale):"
            " 2 or 3 keeps a 300-DPI figure readable in print"
        )
        form.addRow("Text and lines", self.scale_box)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        form.addRow("", self.info)
        file_row = QHBoxLayout()
        self.file_edit = QLineEdit(self)
        self.browse = QPushButton("Browse…", self)
        self.browse.clicked.connect(self._browse)
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse)
        form.addRow("File", file_row)
        lay.addLayout(form)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.current().error};")
        self.error.hide()
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Export")
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        # remembered choices
        what = str(s.value("export/figure/what", "view"))
        self.what.setCurrentIndex(1 if what == DASHBOARD else 0)
        fmt = str(s.value("export/figure/format", ".png"))
        self.format.setCurrentIndex(1 if fmt == ".svg" else 0)
        self.width_box.setValue(int(s.value("export/figure/width", DEFAULT_SIZE[0])))
        self.height_box.setValue(int(s.value("export/figure/height", DEFAULT_SIZE[1])))
        self.dpi_box.setValue(int(s.value("export/figure/dpi", DEFAULT_DPI)))
        self.scale_box.setValue(float(s.value("export/figure/scale", 1.0)))
        self.file_edit.setText(str(self._default_dir() / self._default_name()))
        self._auto_name = self.file_edit.text()

        self.what.currentIndexChanged.connect(self._update)
        self.format.currentIndexChanged.connect(self._update)
        for box in (self.width_box, self.height_box, self.dpi_box):
            box.valueChanged.connect(self._update)
        self.scale_box.valueChanged.connect(self._update)
        self.file_edit.textEdited.connect(lambda _t: self.error.hide())
        self._update()
        self.resize(560, self.sizeHint().height())

    # ------------------------------------------------------------------ helpers
    def _default_dir(self) -> Path:
        d = self.settings.value("export/dir")
        if d and Path(str(d)).is_dir():
            return Path(str(d))
        if self.win.path is not None:
            return Path(self.win.path).parent
        return Path.home()

    def _default_name(self) -> str:
        run = self.win.run
        stem = run.name if run is not None else "gradlab"
        what = DASHBOARD if self.what.currentData() == DASHBOARD else self.view_key
        return f"{_safe(stem)}-{what}{self.format.currentData()}"

    def _update(self) -> None:
        suffix = self.format.currentData()
        text = self.file_edit.text().strip()
        if text == self._auto_name or not text:
            text = str(Path(text).parent / self._default_name()) if text else self._default_name()
            self._auto_name = text
        elif Path(text).suffix.lower() != suffix:
            text = str(Path(text).with_suffix(suffix))
        self.file_edit.setText(text)
        self.dpi_box.setEnabled(True)
        w, h = self.width_box.value(), self.height_box.value()
        inches = f"{w / self.dpi_box.value():.1f} × {h / self.dpi_box.value():.1f} in"
        if self.what.currentData() == DASHBOARD:
            n = len(RUN_VIEWS)
            cols = 2 if n <= 4 else 3
            rows = -(-n // cols)
            sc = self.scale_box.value()
            tw = cols * w
            th = round(rows * (h + 34 * sc) + 44 * sc)
            self.info.setText(
                f"Each view {w} × {h} px in a {cols} × {rows} grid with captions: the image is "
                f"{tw} × {th} px."
            )
        else:
            self.info.setText(
                f"{w} × {h} px; at {self.dpi_box.value()} DPI it prints {inches}."
                + (" SVG stays sharp at any size." if suffix == ".svg" else "")
            )
        self.error.hide()

    def _browse(self) -> None:
        suffix = self.format.currentData()
        filt = "PNG image (*.png)" if suffix == ".png" else "SVG drawing (*.svg)"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export figure", self.file_edit.text(), f"{filt};;All files (*)"
        )
        if path:
            p = Path(path)
            if p.suffix.lower() in FIGURE_SUFFIXES:
                self.format.setCurrentIndex(FIGURE_SUFFIXES.index(p.suffix.lower()))
            else:
                p = p.with_suffix(suffix)
            self.file_edit.setText(str(p))
            self._auto_name = ""

    def export(self) -> Path | None:
        """Write the figure; on failure show the reason in the dialog and stay open."""
        text = self.file_edit.text().strip()
        if not text:
            self._fail("Choose a file to export to.")
            return None
        path = Path(text).expanduser()
        if path.suffix.lower() in FIGURE_SUFFIXES:
            self.format.setCurrentIndex(FIGURE_SUFFIXES.index(path.suffix.lower()))
        else:
            path = path.with_suffix(self.format.currentData())
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            out = export_window_figure(
                self.win,
                path,
                dashboard=self.what.currentData() == DASHBOARD,
                width=self.width_box.value(),
                height=self.height_box.value(),
                dpi=self.dpi_box.value(),
                scale=self.scale_box.value(),
            )
        except (OSError, ValueError) as err:
            self._fail(_sentence(err, path))
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        s = self.settings
        s.setValue("export/figure/what", self.what.currentData())
        s.setValue("export/figure/format", self.format.currentData())
        s.setValue("export/figure/width", self.width_box.value())
        s.setValue("export/figure/height", self.height_box.value())
        s.setValue("export/figure/dpi", self.dpi_box.value())
        s.setValue("export/figure/scale", self.scale_box.value())
        s.setValue("export/dir", str(out.parent))
        self.result_path = out
        sb = getattr(self.win, "statusBar", None)
        if callable(sb):
            sb().showMessage(f"Exported {out.name}", 5000)
        self.accept()
        return out

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()


def export_screen_dialog(win) -> Path | None:
    """File > Export As on Screen… (returns the written file, or None)."""
    dlg = ScreenExportDialog(win)
    dlg.exec()
    return dlg.result_path


def export_figure_dialog(win) -> Path | None:
    """File > Export Figure…: the publication figure of the current view (matplotlib is
    imported when the dialog first draws, not before)."""
    from gradlab.app.figure_dialog import export_figure_dialog as publication

    return publication(win)


# ============================================================================ data
def export_data_dialog(win) -> Path | None:
    """File > Export Data…: the probe statistics as CSV (long format) or JSON (with
    histograms), as ``gradlab export --stats`` writes them."""
    from gradlab.experiment.export import write_stats

    run = win.run
    if run is None:
        QMessageBox.information(win, "Export data", "There is no run to export yet.")
        return None
    s = win.settings
    filters = [
        "CSV, one row per statistic (*.csv)",
        "JSON, statistics with histograms (*.json)",
    ]
    last = str(s.value("export/data/format", ".csv"))
    chosen = filters[1] if last == ".json" else filters[0]
    d = s.value("export/dir")
    folder = (
        Path(str(d))
        if d and Path(str(d)).is_dir()
        else (Path(win.path).parent if win.path is not None else Path.home())
    )
    default = folder / f"{_safe(run.name)}-stats{'.json' if last == '.json' else '.csv'}"
    path, flt = QFileDialog.getSaveFileName(
        win, "Export data", str(default), ";;".join(filters), chosen
    )
    if not path:
        return None
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".json"):
        p = p.with_suffix(".json" if flt == filters[1] else ".csv")
    try:
        if not p.parent.is_dir():
            raise OSError(f"Cannot write {p.name}: the folder {p.parent} does not exist.")
        write_stats(run.history, p, run.name)
    except (OSError, ValueError) as err:
        QMessageBox.warning(win, "Cannot export the data", _sentence(err, p))
        return None
    s.setValue("export/data/format", p.suffix.lower())
    s.setValue("export/dir", str(p.parent))
    win.statusBar().showMessage(f"Exported the statistics to {p.name}", 5000)
    return p


# ============================================================================ network
NET_FORMATS = (
    ("npz", "Trained weights (.npz)", ".npz"),
    ("pytorch", "PyTorch code (.py)", ".py"),
    ("keras", "Keras code (.py)", ".py"),
)


def network_copy(net):
    """A detached copy of a network (same layers, arrays copied)."""
    return net.copy()


def npz_listing(net, name: str = "weights") -> str:
    """What a weights file holds, as the dialog previews it."""
    rows = [
        f"# {name}.npz: np.load('{name}.npz') holds (GradLab's W is (fan_in, fan_out); "
        "PyTorch's Linear.weight is its transpose)",
        "",
    ]
    arrays = net.state_arrays()
    width = max(len(k) for k in arrays) if arrays else 8
    for k, v in arrays.items():
        rows.append(f"{k:<{width}}  {v.dtype!s:<8} {tuple(v.shape)!s}")
    rows += [
        f"{'spec':<{width}}  the resolved layer list (a JSON string)",
        f"{'meta':<{width}}  input_dim, output_dim, dtype (a JSON string)",
        "",
        "# in GradLab:  from gradlab.experiment.netexport import load_weights_npz",
        f"#              net = load_weights_npz('{name}.npz'); net.predict(x)",
        "# in PyTorch or Keras: export the code (.py) too and call "
        "load_gradlab_weights(model, path)",
    ]
    return "\n".join(rows)


class NetworkExportDialog(QDialog):
    """File > Export Network: weights (.npz) or the architecture as PyTorch / Keras code, with a
    read-only preview and a Copy button."""

    def __init__(
        self,
        network,
        *,
        name: str,
        step: int,
        settings,
        directory: Path | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        from gradlab.experiment import netexport

        self._ne = netexport
        self.network = network
        self.name = name
        self.step = step
        self.settings = settings
        self.directory = directory
        self.saved_path: Path | None = None
        self.setWindowTitle("Export network")
        self.resize(860, 640)
        lay = QVBoxLayout(self)
        head = QLabel(
            f"<b>{name}</b>: {network.describe()}, {network.n_params:,} parameters; weights at "
            f"step {step:,}",
            self,
        )
        head.setWordWrap(True)
        lay.addWidget(head)
        row = QHBoxLayout()
        row.addWidget(QLabel("Export as", self))
        self.format = QComboBox(self)
        for key, label, _ in NET_FORMATS:
            self.format.addItem(label, key)
        self.format.setItemData(
            0,
            "Every parameter and batch-norm buffer by name, and the layer spec",
            Qt.ItemDataRole.ToolTipRole,
        )
        self.format.setItemData(
            1,
            "nn.Sequential with the same initialisers, and a loader for the .npz weights",
            Qt.ItemDataRole.ToolTipRole,
        )
        self.format.setItemData(
            2,
            "keras.Sequential (Keras 3) with the same initialisers, and a loader for the weights",
            Qt.ItemDataRole.ToolTipRole,
        )
        row.addWidget(self.format)
        row.addStretch(1)
        lay.addLayout(row)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self.preview = QPlainTextEdit(self)
        self.preview.setReadOnly(True)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.preview.setFont(mono)
        lay.addWidget(self.preview, 1)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.current().error};")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QHBoxLayout()
        self.copy_btn = QPushButton("Copy", self)
        self.copy_btn.setToolTip("Copy the text above to the clipboard")
        self.copy_btn.clicked.connect(self.copy)
        self.save_btn = QPushButton("Save…", self)
        self.save_btn.setDefault(True)
        self.save_btn.clicked.connect(self._save_dialog)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        buttons.addWidget(self.copy_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.save_btn)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        last = str(settings.value("export/network/format", "pytorch")) if settings else "pytorch"
        keys = [k for k, _, _ in NET_FORMATS]
        self.format.setCurrentIndex(keys.index(last) if last in keys else 1)
        self.format.currentIndexChanged.connect(self._update)
        self._update()

    def text(self) -> str:
        """The preview for the chosen format (the file's content for the code formats)."""
        key = self.format.currentData()
        layers, dim = self.network.layers, self.network.input_dim
        if key == "pytorch":
            return self._ne.pytorch_snippet(layers, dim, name=self.name)
        if key == "keras":
            return self._ne.keras_snippet(layers, dim, name=self.name)
        return npz_listing(self.network, _safe(self.name))

    HINTS = {  # noqa: RUF012
        "npz": "Every parameter and batch-norm buffer by name, with the layer spec. Load it in "
        "GradLab with load_weights_npz, or in PyTorch / Keras with the exported code's "
        "load_gradlab_weights(model, path).",
        "pytorch": "The architecture with GradLab's initialisers (untrained). For the trained "
        "weights, also save the .npz and call load_gradlab_weights(model, path); then "
        "model.eval() computes what GradLab computes.",
        "keras": "The architecture with GradLab's initialisers, for Keras 3 (untrained). For the "
        "trained weights, also save the .npz and call load_gradlab_weights(model, path).",
    }

    def _update(self) -> None:
        self.hint.setText(self.HINTS[self.format.currentData()])
        self.preview.setPlainText(self.text())
        self.copy_btn.setText("Copy listing" if self.format.currentData() == "npz" else "Copy code")
        self.error.hide()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.preview.toPlainText())
        self.copy_btn.setText("Copied ✓")

    def default_path(self) -> Path:
        key = self.format.currentData()
        suffix = dict((k, s) for k, _, s in NET_FORMATS)[key]
        stem = _safe(self.name) + {"npz": "-weights", "pytorch": "_torch", "keras": "_keras"}[key]
        d = self.settings.value("export/dir") if self.settings else None
        folder = Path(str(d)) if d and Path(str(d)).is_dir() else (self.directory or Path.home())
        return folder / f"{stem}{suffix}"

    def _save_dialog(self) -> None:
        key = self.format.currentData()
        filt = "NumPy archive (*.npz)" if key == "npz" else "Python (*.py)"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export network", str(self.default_path()), filt
        )
        if path:
            self.save(path)

    def save(self, path: str | Path) -> Path | None:
        """Write the chosen format to ``path``; on failure show why and return None."""
        key = self.format.currentData()
        path = Path(path)
        want = ".npz" if key == "npz" else ".py"
        if path.suffix.lower() != want:
            path = path.with_suffix(want)
        try:
            if not path.parent.is_dir():
                raise OSError(f"Cannot write {path.name}: the folder {path.parent} does not exist.")
            if key == "npz":
                self._ne.save_weights_npz(self.network, path)
            else:
                atomic_write_text(path, self.text())
        except (OSError, ValueError) as err:
            self.error.setText(_sentence(err, path))
            self.error.show()
            return None
        if self.settings is not None:
            self.settings.setValue("export/network/format", key)
            self.settings.setValue("export/dir", str(path.parent))
        self.saved_path = path
        self.error.setText(f"Saved {path}")
        self.error.setStyleSheet(f"color: {theme.current().ok};")
        self.error.show()
        return path


def export_network_dialog(win) -> None:
    """File > Export Network…: the window asks the worker for a copy of the network; the dialog
    (:func:`show_network_dialog`) opens when it arrives."""
    win.export_network()


def show_network_dialog(win, network, step: int, name: str) -> Path | None:
    """The Export Network dialog on a detached copy of the network (taken at ``step``)."""
    dlg = NetworkExportDialog(
        network,
        name=name,
        step=step,
        settings=win.settings,
        directory=Path(win.path).parent if win.path is not None else None,
        parent=win,
    )
    dlg.exec()
    return dlg.saved_path


# ============================================================================ helpers
def _safe(name: str) -> str:
    """A file-name-safe version of a run name."""
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return out or "gradlab"


def _sentence(err: Exception, path: Path) -> str:
    """One sentence for the user from an OSError/ValueError."""
    from gradlab.fileio import ReadOnlyTarget

    if isinstance(err, ReadOnlyTarget):
        return f"Cannot write {path}: it {err.why}."
    if isinstance(err, OSError) and err.strerror:
        return f"Cannot write {path}: {err.strerror.lower()}."
    msg = str(err).strip()
    if not msg:
        return f"Cannot write {path}."
    return msg[0].upper() + msg[1:] + ("" if msg.endswith(".") else ".")


__all__ = [
    "BOUNDARY_RES",
    "DASHBOARD",
    "DEFAULT_DPI",
    "DEFAULT_SIZE",
    "FIGURE_SUFFIXES",
    "NetworkExportDialog",
    "ScreenExportDialog",
    "copy_controls",
    "ensure_boundary",
    "export_data_dialog",
    "export_figure_dialog",
    "export_network_dialog",
    "export_screen_dialog",
    "export_window_figure",
    "figure_keys",
    "npz_listing",
    "render_figure",
    "show_network_dialog",
]
