"""Starting the window (gradlab/app/launch.py): with no display, a missing X library or an X server
that does not answer, ``gradlab`` says so in one sentence and exits 2 instead of Qt's abort;
otherwise a splash shows first and the window follows (GRADLAB_QUIT_WHEN_SHOWN, the hook the
packaging smoke checks use, reports both and quits). Also: the Qt plugins the frozen app keeps
exist in the PySide6 GradLab runs on, and the README names the X libraries it needs."""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab.app import launch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging" / "hooks"))
import gradlab_qt  # noqa: E402


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", launch.QUIT_WHEN_SHOWN)}
    env.update(extra)
    return env


def gradlab(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradlab", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


# ================================================================================ no display
def test_without_a_display_gradlab_says_so_and_exits_2_before_qt_aborts():
    r = gradlab(env=clean_env())
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1  # one sentence, no Qt chatter, no abort
    assert r.stderr.startswith("gradlab: there is no display to open the window on")
    assert "QT_QPA_PLATFORM=offscreen" in r.stderr


def test_the_check_comes_after_the_arguments_are_checked(tmp_path):
    r = gradlab(str(tmp_path / "missing.gradlab"), env=clean_env())
    assert r.returncode == 2 and "does not exist" in r.stderr


@pytest.mark.parametrize(
    ("environ", "sentence"),
    [
        ({}, "no display"),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "DISPLAY is not set)"),
        ({"QT_QPA_PLATFORM": "offscreen"}, None),
        ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, None),
        ({"WAYLAND_DISPLAY": "wayland-0"}, None),
        ({"QT_QPA_PLATFORM": "wayland;xcb", "WAYLAND_DISPLAY": "wayland-0"}, None),
    ],
)
def test_which_platforms_need_which_display(environ, sentence):
    problem = launch.display_problem(environ)
    if sentence is None:
        assert problem is None
    else:
        assert sentence in problem


def test_an_x_display_that_does_not_answer_is_named(monkeypatch):
    monkeypatch.setattr(launch, "_xcb_plugin", lambda: None)
    problem = launch.display_problem({"DISPLAY": ":64999", "QT_QPA_PLATFORM": "xcb"})
    assert problem.startswith("the window cannot open: the X display ':64999' does not answer")


def test_a_missing_x_library_is_named_with_the_packages_to_install(monkeypatch, tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    monkeypatch.setattr(launch, "_xcb_plugin", lambda: str(plugin))
    real_cdll = ctypes.CDLL

    def cdll(name, *args, **kw):
        if name == str(plugin):
            raise OSError("libxcb-cursor.so.0: cannot open shared object file: No such file")
        return real_cdll(name, *args, **kw)

    monkeypatch.setattr(launch.ctypes, "CDLL", cdll)
    problem = launch.display_problem({"DISPLAY": ":0"})
    assert "needs libxcb-cursor.so.0, which is not installed" in problem
    assert launch.APT_LINE in problem and "libxcb-cursor0" in launch.APT_LINE


def test_the_readme_names_the_x_libraries_in_one_apt_line():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert launch.APT_LINE in readme


# ================================================================================ the splash
def test_a_splash_shows_first_then_the_window_and_the_hook_quits_it():
    r = gradlab(env=clean_env(QT_QPA_PLATFORM="offscreen", **{launch.QUIT_WHEN_SHOWN: "0"}))
    assert r.returncode == 0, r.stderr
    shown = dict(re.findall(r"gradlab: (splash|window) shown at ([0-9.]+)", r.stderr))
    assert set(shown) == {"splash", "window"}
    assert float(shown["splash"]) <= float(shown["window"])


def test_the_hook_is_not_in_the_users_help():
    r = gradlab("--help", env=clean_env())
    assert r.returncode == 0 and "gradlab" in r.stdout
    assert "QUIT_WHEN_SHOWN" not in r.stdout + r.stderr


# ================================================================================ the bundle
def test_every_qt_plugin_the_bundle_keeps_exists_in_pyside6():
    """A PySide6 upgrade that renames or drops a kept plugin fails here, not in a user's hands."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    for kind, names in gradlab_qt.KEEP.items():
        assert (plugins / kind).is_dir(), kind
        for name in names or ():
            assert (plugins / kind / name).is_file(), f"{kind}/{name}"
    for needed in ("libqxcb.so", "libqoffscreen.so"):
        assert needed in gradlab_qt.KEEP["platforms"]


def test_the_bundle_keeps_the_platforms_and_drops_the_rest_and_the_translations():
    qt = "PySide6/Qt"
    binaries = [
        ("/q/plugins/platforms/libqxcb.so", f"{qt}/plugins/platforms"),
        ("/q/plugins/platforms/libqeglfs.so", f"{qt}/plugins/platforms"),
        ("/q/plugins/platformthemes/libqgtk3.so", f"{qt}/plugins/platformthemes"),
        ("/q/plugins/sqldrivers/libqsqlite.so", f"{qt}/plugins/sqldrivers"),
        ("/q/plugins/iconengines/libqsvgicon.so", f"{qt}/plugins/iconengines"),
        ("/q/lib/libQt6Gui.so.6", f"{qt}/lib"),
    ]
    datas = [("/q/translations/qtbase_de.qm", f"{qt}/translations"), ("/x/y.json", "gradlab")]
    _, kept, kept_datas = gradlab_qt.trimmed([], binaries, datas)
    assert [Path(src).name for src, _ in kept] == ["libqxcb.so", "libqsvgicon.so",
                                                    "libQt6Gui.so.6"]
    assert kept_datas == [("/x/y.json", "gradlab")]
