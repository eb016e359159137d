"""Qt rendering of the window's views to PNG or SVG: a view, or the whole dashboard, "as on
screen".

Figures are drawn by *fresh* instances of the view classes, sized to the requested pixels and
shown off screen (``WA_DontShowOnScreen``), never by resizing the window's live views: the
window's layout stays as the user left it. In the window, the live view's control choices (the
quantity a combo box shows, a check box...) are copied onto the fresh instance first.

PNG: a ``QImage`` of width x height pixels, the DPI written into its ``pHYs`` metadata. SVG: the
same widgets painted through ``QPainter`` on a ``QSvgGenerator`` (vector axes, curves and text;
images such as the decision boundary embedded). Both are drawn into memory and written with
:func:`gradlab.fileio.atomic_write_bytes`, as every file GradLab writes: a failed export leaves
the old file as it was. (The publication figures, in PDF, SVG, PNG or EPS, are
:mod:`gradlab.figures`'; the window's dialog for them is :mod:`gradlab.app.figure_dialog`.)
``scale`` draws text and lines larger: the widgets are laid out at (width / scale) x
(height / scale) and painted scaled up, which keeps a 300-DPI figure for a paper readable.

The dialogs that ask for these files are in :mod:`gradlab.app.export`.
"""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QEventLoop,
    QIODevice,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QFontDatabase, QImage, QPainter, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QSlider,
    QSpinBox,
    QSplitter,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views import RUN_VIEWS, VIEWS, BaseView, view_class
from gradlab.fileio import atomic_write_bytes

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
            data = QByteArray()
            buf = QBuffer(data)
            buf.open(QIODevice.OpenModeFlag.WriteOnly)
            if not image.save(buf, "PNG"):
                raise OSError(_unwritable(path))
            buf.close()
            atomic_write_bytes(path, bytes(data))
        else:
            data = QByteArray()
            buf = QBuffer(data)
            buf.open(QIODevice.OpenModeFlag.WriteOnly)
            gen = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)  # 1.1: clip paths are kept
            gen.setOutputDevice(buf)
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
            buf.close()
            svg = bytes(data)
            if not svg:
                raise OSError(_unwritable(path))
            if dpi:
                svg = _svg_physical_size(svg, out_w / dpi * 25.4, out_h / dpi * 25.4)
            atomic_write_bytes(path, svg)
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


def _svg_physical_size(data: bytes, width_mm: float, height_mm: float) -> bytes:
    """The SVG with its root element's width and height rewritten (QSvgGenerator derives them
    from its resolution, which must stay the screen's so text keeps its size)."""
    head, sep, rest = data.partition(b"viewBox=")
    if not sep:
        return data
    head = re.sub(
        rb'width="[^"]*" height="[^"]*"',
        f'width="{width_mm:.2f}mm" height="{height_mm:.2f}mm"'.encode(),
        head,
        count=1,
    )
    return head + sep + rest


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
