"""The Qt plugins and data the GradLab bundle keeps (used by the hook overrides beside it).

PyInstaller's own hooks for PySide6 collect every plugin of every type a Qt module may use
(all platforms, EGL device integrations, evdev input, SQL drivers, TLS backends...) and Qt's
translations, and then the system libraries those plugins link (GTK for the GTK theme, ...).
GradLab needs far less; keeping only this list keeps the folder small and its dependencies few.
"""

from __future__ import annotations

import os

#: plugin type -> the plugin files kept (None: all of them)
KEEP = {
    # X11 (the usual desktop), Wayland (native on Wayland sessions; XWayland works through xcb),
    # offscreen (the smoke checks, exports and CI)
    "platforms": {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"},
    "xcbglintegrations": None,  # OpenGL contexts on X11, if a view ever asks for one
    "wayland-decoration-client": None,  # window frames on compositors that draw none (GNOME)
    "wayland-shell-integration": {"libxdg-shell.so"},  # the standard desktop shell protocol
    "wayland-graphics-integration-client": {"libqt-plugin-wayland-egl.so"},
    # dead keys and the compose key, and input methods (IBus) in text fields
    "platforminputcontexts": {
        "libcomposeplatforminputcontextplugin.so",
        "libibusplatforminputcontextplugin.so",
    },
    "platformthemes": {"libqxdgdesktopportal.so"},  # the desktop's own file dialogs (portal)
    "iconengines": {"libqsvgicon.so"},  # the window icon is an SVG
    "imageformats": {"libqsvg.so"},  # (PNG is built into Qt)
}


def _kept(dest: str, source: str) -> bool:
    dest = dest.replace(os.sep, "/")
    if "/plugins/" not in dest + "/":
        return True
    kind = (dest + "/").split("/plugins/", 1)[1].rstrip("/")
    if kind not in KEEP:
        return False
    names = KEEP[kind]
    return names is None or os.path.basename(source) in names


def trimmed(hiddenimports, binaries, datas):
    """A Qt hook's results less the plugins not in :data:`KEEP` and the translations (GradLab
    loads no translator)."""
    binaries = [(src, dest) for src, dest in binaries if _kept(dest, src)]
    datas = [
        (src, dest)
        for src, dest in datas
        if not dest.replace(os.sep, "/").rstrip("/").endswith("/translations")
    ]
    return hiddenimports, binaries, datas
