"""Before the window starts: can it open here? Then a splash at once while the window is built.

Qt aborts the whole process (exit 134, a hint about ``xcb-cursor0``) when its platform plugin
cannot start: no display, an X library missing, an X server that does not answer. On Linux,
:func:`display_problem` finds these first and says which in one sentence, so ``gradlab`` can exit
with code 2 instead. It loads no Qt widget code: it reads the environment, loads the X11 (xcb)
platform plugin's libraries with ``ctypes`` and connects to the X server with ``libxcb``.

:func:`prepare_window` creates the QApplication and shows a splash within a fraction of a second
(the window's imports and set-up take longer); the splash closes when the window is drawn.
``GRADLAB_QUIT_WHEN_SHOWN=SECONDS`` (not for users: ``packaging/smoke.sh`` and the build's
start-time measurement use it) prints ``gradlab: splash shown at UNIX_TIME`` and ``gradlab:
window shown at UNIX_TIME`` on stderr and quits SECONDS after the window is shown.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Mapping

QUIT_WHEN_SHOWN = "GRADLAB_QUIT_WHEN_SHOWN"

#: what a bare Debian or Ubuntu needs for the window (README, "Desktop build")
APT_LINE = (
    "sudo apt install libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libgssapi-krb5-2 "
    "libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 "
    "libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 "
    "libxcb-xkb1"
)

#: Qt platforms that need a display server (any other, e.g. offscreen or vnc, needs none)
_DISPLAY_PLATFORMS = {"xcb", "wayland", "wayland-egl", "wayland-brcm", ""}


def _platforms(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, from ``QT_QPA_PLATFORM`` (``"wayland;xcb"``,
    ``"xcb:option"``); ``[""]`` when it is not set (Qt's own choice)."""
    value = environ.get("QT_QPA_PLATFORM", "").strip()
    names = [part.split(":", 1)[0].strip() for part in value.split(";") if part.strip()]
    return names or [""]


def display_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the window cannot open here, in one sentence, or None when it can (or when the
    platform is one GradLab does not check: not Linux, or a platform without a display)."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platforms = _platforms(environ)
    if any(p not in _DISPLAY_PLATFORMS for p in platforms):
        return None  # offscreen, minimal, vnc, eglfs, linuxfb...: the user chose one
    x_display = environ.get("DISPLAY", "").strip()
    wayland = environ.get("WAYLAND_DISPLAY", "").strip()
    only_x = all(p == "xcb" for p in platforms)
    if not x_display and (only_x or not wayland):
        return (
            "there is no display to open the window on (DISPLAY is not set"
            + ("" if only_x else ", nor WAYLAND_DISPLAY")
            + "); the headless commands work without one (gradlab run, export, info, presets, "
            "data), and QT_QPA_PLATFORM=offscreen opens the window invisibly"
        )
    if wayland and not only_x:
        return None  # Qt tries Wayland first; its libraries come with the Wayland session
    return _xcb_problem(x_display)


def _xcb_problem(x_display: str) -> str | None:
    """The X11 plugin's libraries load, and the X server ``x_display`` accepts a connection."""
    plugin = _xcb_plugin()
    if plugin is not None:
        try:
            ctypes.CDLL(plugin)
        except OSError as err:
            missing = str(err).split(":", 1)[0].strip()
            if not missing or missing == plugin:
                missing = "a library"
            return (
                f"the window cannot open: Qt's X11 platform plugin needs {missing}, which is not "
                f"installed (on Debian or Ubuntu: {APT_LINE})"
            )
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return (
            "the window cannot open: the X11 client library libxcb.so.1 is not installed "
            f"(on Debian or Ubuntu: {APT_LINE})"
        )
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(x_display.encode(), None)
    try:
        failed = xcb.xcb_connection_has_error(conn) != 0
    finally:
        xcb.xcb_disconnect(conn)
    if failed:
        return (
            f"the window cannot open: the X display {x_display!r} does not answer (is its X "
            "server running, and may this user use it?)"
        )
    return None


def _xcb_plugin() -> str | None:
    """The path of Qt's X11 platform plugin (``libqxcb.so``), or None if Qt has none."""
    from PySide6.QtCore import QLibraryInfo

    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    path = os.path.join(folder, "platforms", "libqxcb.so")
    return path if os.path.isfile(path) else None


def prepare_window(environ: Mapping[str, str] | None = None) -> None:
    """Before the window is built: create the QApplication (the window reuses it) and show a
    splash at once, closed when the first other window is drawn on the screen. With
    ``GRADLAB_QUIT_WHEN_SHOWN=SECONDS``, also print ``gradlab: splash shown at UNIX_TIME`` and
    ``gradlab: window shown at UNIX_TIME`` on stderr and quit SECONDS after the window is shown."""
    environ = os.environ if environ is None else environ
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QGuiApplication, QWindow
    from PySide6.QtWidgets import QApplication

    # the X11 window class (WM_CLASS "gradlab", "GradLab", which desktops match to gradlab.desktop)
    # is fixed when the first window is made, so name the application before the splash
    app = QApplication.instance() or QApplication(["gradlab"])
    app.setApplicationName("GradLab")
    quit_after = _seconds(environ.get(QUIT_WHEN_SHOWN, ""))
    splash = _splash()

    class Watcher(QObject):
        """Closes the splash when another window is first exposed; reports both (smoke)."""

        seen: set[str] = set()  # noqa: RUF012 (one instance)

        def eventFilter(self, obj, event):
            if event.type() != QEvent.Type.Expose or not isinstance(obj, QWindow):
                return False
            if not obj.isExposed():
                return False
            what = "splash" if obj is splash.windowHandle() else "window"
            if what in self.seen:
                return False
            self.seen.add(what)
            if quit_after is not None:
                print(f"gradlab: {what} shown at {time.time():.3f}", file=sys.stderr, flush=True)
            if what == "window":
                splash.close()
                app.removeEventFilter(self)
                if quit_after is not None:
                    QTimer.singleShot(round(quit_after * 1000), app.quit)
            return False

    watcher = Watcher(app)
    app.installEventFilter(watcher)
    if QGuiApplication.platformName() == "xcb":
        _drop_pid(int(splash.winId()))  # before it is mapped
    splash.show()
    app.processEvents()  # drawn now, before the window's imports and set-up


class _Cookie(ctypes.Structure):
    _fields_ = [("sequence", ctypes.c_uint)]


class _AtomReply(ctypes.Structure):
    _fields_ = [
        ("response_type", ctypes.c_uint8),
        ("pad0", ctypes.c_uint8),
        ("sequence", ctypes.c_uint16),
        ("length", ctypes.c_uint32),
        ("atom", ctypes.c_uint32),
    ]


def _drop_pid(window: int) -> None:
    """Remove ``_NET_WM_PID`` from the splash's X window, so tools that find the app's window by
    its process (``xdotool search --pid``, as the screenshot tools do) find the main window, not
    the splash. Best effort: any failure leaves the splash as it is."""
    from PySide6.QtGui import QGuiApplication

    try:
        QGuiApplication.sync()  # Qt has created the window and set its properties on the server
        xcb = ctypes.CDLL("libxcb.so.1")
        libc = ctypes.CDLL(None)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_intern_atom.restype = _Cookie
        xcb.xcb_intern_atom.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint8,
            ctypes.c_uint16,
            ctypes.c_char_p,
        ]
        xcb.xcb_intern_atom_reply.restype = ctypes.POINTER(_AtomReply)
        xcb.xcb_intern_atom_reply.argtypes = [ctypes.c_void_p, _Cookie, ctypes.c_void_p]
        xcb.xcb_delete_property.restype = _Cookie
        xcb.xcb_delete_property.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        libc.free.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return
    conn = xcb.xcb_connect(None, None)

    def atom(name: bytes) -> int:
        reply = xcb.xcb_intern_atom_reply(conn, xcb.xcb_intern_atom(conn, 0, len(name), name), None)
        if not reply:
            return 0
        value = reply.contents.atom
        libc.free(ctypes.cast(reply, ctypes.c_void_p))
        return value

    try:
        if xcb.xcb_connection_has_error(conn) == 0:
            pid = atom(b"_NET_WM_PID")
            if pid:
                xcb.xcb_delete_property(conn, window, pid)
                atom(b"WM_NAME")  # a round trip: the deletion is done before the splash maps
    finally:
        xcb.xcb_disconnect(conn)


def _seconds(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 0.0


def _splash():
    """A small splash: the icon, the name and the version on the icon's dark ground."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QLabel

    from gradlab._resources import resource_path
    from gradlab._version import __version__

    width, height = 420, 180
    screen = QGuiApplication.primaryScreen()
    ratio = screen.devicePixelRatio() if screen is not None else 1.0
    pixmap = QPixmap(round(width * ratio), round(height * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(QColor("#15171a"))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(resource_path("icons", "gradlab.svg"))).render(
        painter, QRectF(24, 30, 120, 120)
    )
    painter.setPen(QColor("#e8eaed"))
    title = QFont()
    title.setPointSizeF(24)
    title.setBold(True)
    painter.setFont(title)
    painter.drawText(QRectF(164, 44, 240, 44), Qt.AlignmentFlag.AlignLeft, "GradLab")
    painter.setPen(QColor("#9aa0a6"))
    body = QFont()
    body.setPointSizeF(10.5)
    painter.setFont(body)
    painter.drawText(
        QRectF(164, 94, 240, 60),
        Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
        f"version {__version__}\nopening the lab\u2026",
    )
    painter.end()
    # a frameless label, not QSplashScreen: its show() waits up to 1 s for the window manager
    flags = Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint
    splash = QLabel(None, flags | Qt.WindowType.WindowStaysOnTopHint)
    splash.setWindowTitle("GradLab")
    splash.setPixmap(pixmap)
    splash.resize(width, height)
    if screen is not None:
        area = screen.availableGeometry()
        splash.move(area.center().x() - width // 2, area.center().y() - height // 2)
    return splash
