"""Export: figures (a view or the whole dashboard, PNG or SVG), the probe statistics (CSV or
JSON) and the network (weights ``.npz``, PyTorch or Keras code).

Figures are drawn by *fresh* instances of the view classes, sized to the requested pixels and
shown off screen (``WA_DontShowOnScreen``), never by resizing the window's live views: the
window's layout stays as the user left it, and the command line (``gradlab export --figure``)
draws exactly what the window exports. In the window, the live view's control choices (the
quantity a combo box shows, a check box...) are copied onto the fresh instance first.

PNG: a ``QImage`` of width x height pixels, the DPI written into its ``pHYs`` metadata. SVG: the
same widgets painted through ``QPainter`` on a ``QSvgGenerator`` (vector axes, curves and text;
images such as the decision boundary embedded). ``scale`` draws text and lines larger: the
widgets are laid out at (width / scale) x (height / scale) and painted scaled up, which keeps a
300-DPI figure for a paper readable.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QEventLoop,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QThread,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QImage, QPainter, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
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
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views import RUN_VIEWS, VIEWS, BaseView, view_class
from gradlab.fileio import atomic_write_text

FIGURE_SUFFIXES = (".png", ".svg")
DEFAULT_SIZE = (1600, 1000)
DEFAULT_DPI = 150
DASHBOARD = "dashboard"
BOUNDARY_RES = 90

_app_ref: QApplication | None = None  # a QApplication created here for headless use


def figure_keys() -> list[str]:
    """What ``render_figure`` can draw: every view's key and ``"dashboard"``."""
    return [v.key for v in VIEWS if v.key != DASHBOARD] + [DASHBOARD]


# ============================================================================ rendering
def render_figure(
    model: RunModel,
    view_key: str,
    path: str | Path,
    *,
    step: int | None = None,
    width: int = DEFAULT_SIZE[0],
    height: int = DEFAULT_SIZE[1],
    dpi: int | None = None,
    scale: float = 1.0,
) -> Path:
    """Draw view ``view_key`` (or ``"dashboard"``: every run view in a grid) of ``model`` to
    ``path``, a ``.png`` or ``.svg`` file, without a window.

    ``step`` draws the probe taken at or before that step (default: the newest);
    ``width`` x ``height`` are the pixels of one view (the dashboard is a grid of them);
    ``dpi`` is written into the file's metadata. Needs a QApplication (one is created if there
    is none; use ``QT_QPA_PLATFORM=offscreen`` without a display). For the decision boundary of a
    loaded session the probability grid is computed here, from the session's network.

    Raises ValueError (one sentence) for an unknown view or suffix or a bad size, OSError when the
    file cannot be written.
    """
    path = Path(path)
    _check_suffix(path)
    keys = _keys_for(view_key)
    _check_size(width, height, dpi, scale)
    if step is not None and step < 0:
        raise ValueError(f"the step must be 0 or more, got {step}")
    _ensure_app()
    if view_key in (DASHBOARD, "boundary"):
        ensure_boundary(model)
    row = None
    if step is not None and model.history.n_probes:
        row = model.history.probe_index_at(step)
    return _render(
        model,
        keys,
        path,
        row=row,
        width=width,
        height=height,
        dpi=dpi,
        scale=scale,
        dashboard=view_key == DASHBOARD,
    )


def ensure_boundary(model: RunModel, res: int = BOUNDARY_RES) -> bool:
    """Compute ``model.boundary`` from its experiment's network if it has none yet (a loaded
    session, the command line). True if the model has a boundary afterwards."""
    if model.boundary is not None:
        return True
    exp = model.experiment
    if exp is None or exp.data_error is not None or model.input_dim != 2:
        return False
    from gradlab import data
    from gradlab.app.worker import boundary_probabilities
    from gradlab.errors import DataError

    try:
        _, _, pts = data.grid_for(exp.data, res)
    except (DataError, ValueError):
        return False
    model.boundary = boundary_probabilities(exp, pts.astype(exp.network.dtype), res)
    return True


def _check_suffix(path: Path) -> str:
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give a file name ending in .png or .svg")
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise ValueError(
            f"{path.name}: a figure is written as .png or .svg, "
            f"not {suffix or 'a file without a suffix'}"
        )
    return suffix


def _keys_for(view_key: str) -> list[str]:
    if view_key == DASHBOARD:
        return [v.key for v in RUN_VIEWS]
    try:
        view_class(view_key)
    except KeyError:
        raise ValueError(
            f"unknown view {view_key!r}: choose from {', '.join(figure_keys())}"
        ) from None
    return [view_key]


def _check_size(width: int, height: int, dpi: int | None, scale: float) -> None:
    if not (16 <= int(width) <= 20000 and 16 <= int(height) <= 20000):
        raise ValueError(f"a figure must be 16 to 20000 pixels a side, got {width} x {height}")
    if dpi is not None and not 10 <= int(dpi) <= 4800:
        raise ValueError(f"the DPI must be between 10 and 4800, got {dpi}")
    if not 0.25 <= float(scale) <= 8.0:
        raise ValueError(f"the scale must be between 0.25 and 8, got {scale}")


def _ensure_app() -> QApplication:
    global _app_ref
    app = QApplication.instance()
    if app is None:
        _app_ref = app = QApplication([])
    if pg.getConfigOption("imageAxisOrder") != "row-major":  # the theme was never applied
        theme.apply(theme.current().name, app)
    return app


def _settle(rounds: int = 3) -> None:
    """Let layouts, resize events and pyqtgraph's deferred updates run."""
    for _ in range(rounds):
        QApplication.sendPostedEvents()
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)


def _make_view(
    key: str,
    model: RunModel | None,
    *,
    row: int | None,
    size: QSize,
    pinned: list[RunModel] | None = None,
    source: BaseView | None = None,
) -> BaseView:
    """A fresh view of class ``key`` showing ``model`` (Compare: ``pinned``), shown off screen
    with its figure widget ``size`` big."""
    view = view_class(key)()
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.resize(size)
    view.show()
    if key == "compare":
        view.set_runs(list(pinned if pinned is not None else ([model] if model else [])))
    else:
        view.set_model(model)
    if source is not None:
        copy_controls(source, view)
    view.refresh(row)
    _settle()
    # the figure widget is the view minus its help bar and controls: grow the view so the
    # figure widget itself gets the requested size
    for _ in range(2):
        fw = view.figure_widget().size()
        if fw == size:
            break
        view.resize(
            view.width() + size.width() - fw.width(), view.height() + size.height() - fw.height()
        )
        _settle()
    view.refresh(row)
    _settle()
    return view


def copy_controls(src: QWidget, dst: QWidget) -> None:
    """Copy the state of ``src``'s combo boxes, spin boxes, sliders, checkable buttons and
    splitters onto the same widgets of ``dst`` (an instance of the same class built on the same
    model: its children come in the same order)."""
    for cls in (QComboBox, QSpinBox, QDoubleSpinBox, QSlider):
        for a, b in zip(src.findChildren(cls), dst.findChildren(cls)):
            if isinstance(a, QComboBox):
                if a.count() == b.count() and a.currentIndex() != b.currentIndex():
                    b.setCurrentIndex(a.currentIndex())
            elif a.value() != b.value():
                b.setValue(a.value())
    for a, b in zip(src.findChildren(QAbstractButton), dst.findChildren(QAbstractButton)):
        if a.isCheckable() and b.isCheckable() and a.isChecked() != b.isChecked():
            b.setChecked(a.isChecked())
    for a, b in zip(src.findChildren(QSplitter), dst.findChildren(QSplitter)):
        sa = a.sizes()
        total = sum(sa)
        if total > 0 and len(sa) == b.count():
            tb = sum(b.sizes()) or total
            b.setSizes([round(s * tb / total) for s in sa])


def _render(
    model: RunModel | None,
    keys: list[str],
    path: Path,
    *,
    row: int | None,
    width: int,
    height: int,
    dpi: int | None,
    scale: float,
    dashboard: bool,
    pinned: list[RunModel] | None = None,
    sources: dict[str, BaseView] | None = None,
) -> Path:
    """Draw the views ``keys`` into one PNG/SVG file (a grid with captions when ``dashboard``)."""
    suffix = _check_suffix(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OSError(f"Cannot write {path.name}: the folder {folder} does not exist.")
    with _quiet_offscreen():
        return _render_quietly(
            model,
            keys,
            path,
            suffix,
            row=row,
            width=width,
            height=height,
            dpi=dpi,
            scale=scale,
            dashboard=dashboard,
            pinned=pinned,
            sources=sources or {},
        )


@contextlib.contextmanager
def _quiet_offscreen():
    """Drop the offscreen platform's "does not support propagateSizeHints()" notes while the
    figure's widgets are shown off screen (they are noise on the command line's stderr)."""

    def handler(mode, context, message):
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def _render_quietly(
    model: RunModel | None,
    keys: list[str],
    path: Path,
    suffix: str,
    *,
    row: int | None,
    width: int,
    height: int,
    dpi: int | None,
    scale: float,
    dashboard: bool,
    pinned: list[RunModel] | None,
    sources: dict[str, BaseView],
) -> Path:
    t = theme.current()
    lw, lh = max(round(width / scale), 16), max(round(height / scale), 16)
    views = [
        _make_view(k, model, row=row, size=QSize(lw, lh), pinned=pinned, source=sources.get(k))
        for k in keys
    ]
    try:
        cols = 1 if len(views) == 1 else (2 if len(views) <= 4 else 3)
        nrows = -(-len(views) // cols)
        caption_h = 34 if dashboard else 0
        header_h = 44 if dashboard else 0
        total_w = cols * lw
        total_h = header_h + nrows * (lh + caption_h)
        out_w, out_h = round(total_w * scale), round(total_h * scale)

        def paint(painter: QPainter) -> None:
            painter.fillRect(QRectF(0, 0, out_w, out_h), QColor(t.background))
            painter.scale(scale, scale)
            if dashboard:
                _draw_text(painter, QRect(12, 0, total_w - 24, header_h), _header(model, row), 15)
            line = QColor(t.muted)
            line.setAlpha(90)
            for i, view in enumerate(views):
                r, c = divmod(i, cols)
                x, y = c * lw, header_h + r * (lh + caption_h)
                if dashboard:
                    _draw_text(painter, QRect(x + 12, y, lw - 24, caption_h), view.title, 13)
                    painter.setPen(line)
                    painter.drawLine(x + 6, y + 2, x + lw - 6, y + 2)  # a rule above each cell
                painter.save()
                painter.translate(x, y + caption_h)
                fw = view.figure_widget()
                # QWidget.render, not QGraphicsView.render (which draws the scene alone)
                QWidget.render(
                    fw,
                    painter,
                    QPoint(0, 0),
                    QRegion(),
                    QWidget.RenderFlag.DrawChildren | QWidget.RenderFlag.DrawWindowBackground,
                )
                painter.restore()

        if suffix == ".png":
            image = QImage(out_w, out_h, QImage.Format.Format_ARGB32)
            image.fill(QColor(t.background))
            if dpi:
                dpm = round(dpi / 0.0254)
                image.setDotsPerMeterX(dpm)
                image.setDotsPerMeterY(dpm)
            painter = QPainter(image)
            try:
                paint(painter)
            finally:
                painter.end()
            if not image.save(str(path), "PNG"):
                raise OSError(_unwritable(path))
        else:
            gen = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)  # 1.1: clip paths are kept
            gen.setFileName(str(path))
            gen.setSize(QSize(out_w, out_h))
            gen.setViewBox(QRect(0, 0, out_w, out_h))
            # text is sized by the device's resolution: keep the widgets' own (screen) DPI so
            # the SVG matches the PNG, and write the requested DPI as the physical size after
            gen.setResolution(views[0].figure_widget().logicalDpiX() if views else 96)
            gen.setTitle(_header(model, row) if model is not None else "GradLab figure")
            gen.setDescription(f"GradLab: {', '.join(v.title for v in views)}")
            painter = QPainter()
            if not painter.begin(gen):
                raise OSError(_unwritable(path))
            # pyqtgraph's export mode: scatter symbols drawn as paths, not cached pixmaps
            _export_mode(views, {"antialias": True, "background": QColor(t.background)})
            try:
                paint(painter)
            finally:
                painter.end()
            if not path.exists() or path.stat().st_size == 0:
                raise OSError(_unwritable(path))
            if dpi:
                _set_svg_physical_size(path, out_w / dpi * 25.4, out_h / dpi * 25.4)
    finally:
        for view in views:
            view.hide()
            view.deleteLater()
    return path


def _export_mode(views: list[BaseView], opts: dict) -> None:
    """Put every pyqtgraph item of the views in export mode (as pyqtgraph's own exporters do)."""
    for view in views:
        for canvas in view.findChildren(pg.GraphicsView):
            scene = canvas.scene()
            if scene is None:
                continue
            for item in scene.items():
                if hasattr(item, "setExportMode"):
                    item.setExportMode(True, opts)


def _set_svg_physical_size(path: Path, width_mm: float, height_mm: float) -> None:
    """Rewrite the root element's width and height (QSvgGenerator derives them from its
    resolution, which must stay the screen's so text keeps its size)."""
    data = path.read_bytes()
    head, sep, rest = data.partition(b"viewBox=")
    if not sep:
        return
    head = re.sub(
        rb'width="[^"]*" height="[^"]*"',
        f'width="{width_mm:.2f}mm" height="{height_mm:.2f}mm"'.encode(),
        head,
        count=1,
    )
    path.write_bytes(head + sep + rest)


def _unwritable(path: Path) -> str:
    return f"Cannot write {path}: the folder is not writable or the disk is full."


def _header(model: RunModel | None, row: int | None) -> str:
    if model is None:
        return "GradLab: no run"
    h = model.history
    if row is not None and h.n_probes:
        where = f"step {int(h.probe_column('step')[min(row, h.n_probes - 1)]):,}"
    else:
        last = h.latest_step()
        where = f"step {int(last['step']):,}" if last else "step 0"
    return f"{model.describe()} · {where}"


def _draw_text(painter: QPainter, rect: QRect, text: str, px: int) -> None:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
    font.setPixelSize(px)
    font.setBold(True)
    painter.save()
    painter.setFont(font)
    painter.setPen(QColor(theme.current().foreground))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
    painter.restore()


def export_window_figure(
    win,
    path: str | Path,
    *,
    dashboard: bool = False,
    width: int = DEFAULT_SIZE[0],
    height: int = DEFAULT_SIZE[1],
    dpi: int | None = DEFAULT_DPI,
    scale: float = 1.0,
) -> Path:
    """Export the window's current view (or the whole dashboard) at the timeline's step, with
    the live views' control choices."""
    path = Path(path)
    _check_suffix(path)
    _check_size(width, height, dpi, scale)
    current = win.tabs.currentWidget()
    if dashboard or not isinstance(current, BaseView):
        keys = [v.key for v in RUN_VIEWS]
    else:
        keys = [current.key]
    snap = win.snapshot
    idle = snap is None or snap.status != "running"
    if win.run is not None and "boundary" in keys and idle:
        # (only while the worker is idle: the network is the worker's while it trains; a live
        # 2-D run has its grid from the worker anyway)
        ensure_boundary(win.run)
    return _render(
        win.run,
        keys,
        path,
        row=win.timeline.row(),
        width=width,
        height=height,
        dpi=dpi,
        scale=scale,
        dashboard=len(keys) > 1,
        pinned=list(win.pinned),
        sources={v.key: v for v in win.views},
    )


# ============================================================================ figure dialog
class FigureExportDialog(QDialog):
    """File > Export Figure: what (current view / dashboard), format, size, DPI, scale, file."""

    def __init__(self, win, parent: QWidget | None = None):
        super().__init__(parent if parent is not None else win)
        self.win = win
        self.settings = win.settings
        self.setWindowTitle("Export figure")
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


def export_figure_dialog(win) -> Path | None:
    """File > Export Figure… (returns the written file, or None)."""
    dlg = FigureExportDialog(win)
    dlg.exec()
    return dlg.result_path


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
    """A detached copy of a :class:`~gradlab.engine.Network` (same layers, arrays copied)."""
    from gradlab.engine import Network

    copy = Network(net.layers, net.input_dim, net.output_dim, net.seed, net.dtype_name)
    copy.load_state_arrays({k: np.array(v, copy=True) for k, v in net.state_arrays().items()})
    return copy


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


def export_network_dialog(win) -> Path | None:
    """File > Export Network…: a consistent copy of the weights (a running run is paused for the
    copy and resumed), then the dialog."""
    run = win.run
    exp = run.experiment if run is not None else None
    if exp is None:
        QMessageBox.information(win, "Export network", "There is no network to export yet.")
        return None
    snap = win.snapshot
    was_running = snap is not None and snap.status == "running"
    if was_running:
        win.worker.post("pause")
        deadline = time.monotonic() + 3.0
        while (
            win.snapshot is not None
            and win.snapshot.status == "running"
            and time.monotonic() < deadline
        ):
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            QThread.msleep(5)
        if win.snapshot is not None and win.snapshot.status == "running":
            QMessageBox.warning(
                win,
                "Export network",
                "Training did not pause in time to copy the weights: pause it and try again.",
            )
            return None
    net = network_copy(exp.network)
    step = int(exp.step_count)
    if was_running:
        win.worker.post("run")
    dlg = NetworkExportDialog(
        net,
        name=exp.name,
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
    if isinstance(err, OSError) and err.strerror:
        return f"Cannot write {path}: {err.strerror.lower()}."
    msg = str(err).strip()
    if not msg:
        return f"Cannot write {path}."
    return msg[0].upper() + msg[1:] + ("" if msg.endswith(".") else ".")


__all__ = [
    "DASHBOARD",
    "FigureExportDialog",
    "NetworkExportDialog",
    "copy_controls",
    "ensure_boundary",
    "export_data_dialog",
    "export_figure_dialog",
    "export_network_dialog",
    "export_window_figure",
    "figure_keys",
    "npz_listing",
    "render_figure",
]
