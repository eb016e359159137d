"""Desktop integration (packaging/): the install and uninstall scripts against a temporary home,
the .desktop entry, and the application/x-gradlab file type, whose magic rule must tell a real
session from other zip files."""

from __future__ import annotations

import configparser
import io
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from gradlab import Experiment
from gradlab.experiment import presets

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
TOOLS = ("update-mime-database", "update-desktop-database", "gtk-update-icon-cache", "xdg-mime")
# what the scripts need from the system (nothing else is on their PATH in these tests)
BASICS = ("bash", "dirname", "basename", "mkdir", "cp", "mv", "rm", "sed")


@pytest.fixture
def home(tmp_path):
    """A user's home with its XDG folders, and a PATH of the basic commands only."""
    h = tmp_path / "home"
    (h / ".config").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BASICS:
        (bin_dir / name).symlink_to(shutil.which(name))
    env = {
        "HOME": str(h),
        "XDG_DATA_HOME": str(h / "data"),
        "XDG_CONFIG_HOME": str(h / ".config"),
        "PATH": str(bin_dir),
        "LANG": "C.UTF-8",
    }
    return h, bin_dir, env


def with_tool_shims(bin_dir: Path, log: Path) -> None:
    """Stand-ins for the desktop tools: each writes its name and arguments to ``log``; xdg-mime
    also adds the default-application line the real one writes (under the file's section)."""
    for tool in TOOLS:
        extra = ""
        if tool == "xdg-mime":
            extra = 'printf "%s=%s\\n" "$3" "$2" >> "$XDG_CONFIG_HOME/mimeapps.list"\n'

        shim = bin_dir / tool
        shim.write_text(f'#!/bin/bash\necho "{tool} $*" >> "{log}"\n{extra}')
        shim.chmod(0o755)


def run_script(name: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/bash", str(PACKAGING / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def fake_gradlab(folder: Path) -> Path:
    folder.mkdir(parents=True)
    exe = folder / "gradlab"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


def read_desktop(path: Path) -> dict:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def installed_files(data: Path) -> list[Path]:
    return [
        data / "applications" / "gradlab.desktop",
        data / "icons" / "hicolor" / "scalable" / "apps" / "gradlab.svg",
        data / "icons" / "hicolor" / "scalable" / "mimetypes" / "application-x-gradlab.svg",
        data / "mime" / "packages" / "gradlab.xml",
    ]


# ============================================================================== install/uninstall
def test_install_puts_entry_icon_and_file_type_in_the_users_data_folder(home, tmp_path):
    h, bin_dir, env = home
    log = tmp_path / "tools.log"
    with_tool_shims(bin_dir, log)
    exe = fake_gradlab(tmp_path / "my apps" / "$GradLab")  # a space and a $ in the path
    r = run_script("install-desktop.sh", env, "--exec", str(exe))
    assert r.returncode == 0, r.stderr
    data = h / "data"
    for f in installed_files(data):
        assert f.is_file(), f
    entry = read_desktop(data / "applications" / "gradlab.desktop")
    # Exec quotes the path and escapes its $ (a desktop file doubles the escaping backslash)
    assert entry["Exec"] == f'"{exe.parent.parent}/\\\\$GradLab/gradlab" %f'
    assert entry["TryExec"] == str(exe)
    assert entry["MimeType"] == "application/x-gradlab;"
    assert entry["Icon"] == "gradlab"
    assert (data / "mime" / "packages" / "gradlab.xml").read_bytes() == (
        PACKAGING / "gradlab-mime.xml"
    ).read_bytes()
    calls = log.read_text().splitlines()
    assert f"update-mime-database {data / 'mime'}" in calls
    assert f"update-desktop-database {data / 'applications'}" in calls
    assert f"gtk-update-icon-cache -q -t -f {data / 'icons' / 'hicolor'}" in calls
    assert "xdg-mime default gradlab.desktop application/x-gradlab" in calls
    assert "installed in" in r.stdout


def test_uninstall_removes_everything_it_installed_and_only_that(home, tmp_path):
    h, bin_dir, env = home
    log = tmp_path / "tools.log"
    with_tool_shims(bin_dir, log)
    mimeapps = h / ".config" / "mimeapps.list"
    mimeapps.write_text("[Default Applications]\ntext/plain=editor.desktop\n")
    exe = fake_gradlab(tmp_path / "app")
    assert run_script("install-desktop.sh", env, "--exec", str(exe)).returncode == 0
    assert "application/x-gradlab=gradlab.desktop" in mimeapps.read_text()
    keep = h / "data" / "applications" / "other.desktop"
    keep.write_text("[Desktop Entry]\nName=Other\n")
    log.write_text("")
    r = run_script("uninstall-desktop.sh", env)
    assert r.returncode == 0, r.stderr
    for f in installed_files(h / "data"):
        assert not f.exists(), f
    assert keep.exists()
    assert mimeapps.read_text() == "[Default Applications]\ntext/plain=editor.desktop\n"
    # the databases are rebuilt without GradLab
    assert f"update-mime-database {h / 'data' / 'mime'}" in log.read_text().splitlines()


def test_without_the_desktop_tools_install_still_works_and_says_what_waits(home, tmp_path):
    h, _bin_dir, env = home
    exe = fake_gradlab(tmp_path / "app")
    r = run_script("install-desktop.sh", env, "--exec", str(exe))
    assert r.returncode == 0, r.stderr
    for f in installed_files(h / "data"):
        assert f.is_file(), f
    assert "update-mime-database not found" in r.stdout
    assert "update-desktop-database not found" in r.stdout
    r = run_script("uninstall-desktop.sh", env)
    assert r.returncode == 0, r.stderr
    assert not any(f.exists() for f in installed_files(h / "data"))


def test_install_finds_the_frozen_app_beside_it(home, tmp_path):
    """In the frozen folder the scripts sit beside the executable, the files in desktop/."""
    h, _bin_dir, env = home
    app = tmp_path / "dist" / "gradlab"
    fake_gradlab(app)
    (app / "desktop").mkdir()
    for name in ("gradlab.desktop", "gradlab-mime.xml"):
        shutil.copy(PACKAGING / name, app / "desktop")
    shutil.copy(ROOT / "resources" / "icons" / "gradlab.svg", app / "desktop")
    for name in ("install-desktop.sh", "uninstall-desktop.sh"):
        shutil.copy(PACKAGING / name, app)
    r = subprocess.run(
        ["/bin/bash", str(app / "install-desktop.sh")], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    entry = read_desktop(h / "data" / "applications" / "gradlab.desktop")
    assert entry["Exec"] == f"{app}/gradlab %f"


def test_install_without_any_gradlab_is_one_sentence_and_exit_2(home):
    _h, _bin_dir, env = home
    r = run_script("install-desktop.sh", env)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "--exec" in r.stderr
    assert not (Path(env["XDG_DATA_HOME"]) / "applications" / "gradlab.desktop").exists()


# ============================================================================== the file type
def mime_type() -> ET.Element:
    root = ET.parse(PACKAGING / "gradlab-mime.xml").getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    (mt,) = root.findall(f"{MIME_NS}mime-type")
    return mt


def magic_matches(rule: ET.Element, data: bytes) -> bool:
    """shared-mime-info's string match at an offset (the escapes the file uses), nested = AND."""
    value = rule.get("value").encode().decode("unicode_escape").encode("latin-1")
    offset = int(rule.get("offset"))
    if data[offset : offset + len(value)] != value:
        return False
    children = rule.findall(f"{MIME_NS}match")
    return not children or any(magic_matches(c, data) for c in children)


def is_gradlab(data: bytes) -> bool:
    magic = mime_type().find(f"{MIME_NS}magic")
    return any(magic_matches(m, data) for m in magic.findall(f"{MIME_NS}match"))


def test_the_file_type_is_application_x_gradlab_by_extension_and_content(tmp_path):
    mt = mime_type()
    assert mt.get("type") == "application/x-gradlab"
    assert [g.get("pattern") for g in mt.findall(f"{MIME_NS}glob")] == ["*.gradlab"]
    assert mt.find(f"{MIME_NS}sub-class-of").get("type") == "application/zip"
    # a session GradLab writes is recognised by its bytes
    exp = Experiment(presets.load("spiral"))
    exp.run(steps=0)
    path = tmp_path / "s.gradlab"
    exp.save(path)
    assert is_gradlab(path.read_bytes())
    # another zip, or a zip whose first member is not manifest.json, is not a session
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("arrays/x.npy", b"0")
        zf.writestr("manifest.json", b"{}")
    assert not is_gradlab(buf.getvalue())
    assert not is_gradlab(b"manifest.json" * 10)


def test_the_desktop_entry_opens_gradlab_files():
    entry = read_desktop(PACKAGING / "gradlab.desktop")
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "gradlab %f"
    assert entry["MimeType"] == mime_type().get("type") + ";"
    assert entry["Icon"] == "gradlab"
    assert (ROOT / "resources" / "icons" / "gradlab.svg").is_file()
    assert entry["Terminal"] == "false"


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh", "install-desktop.sh",
                                    "uninstall-desktop.sh"])
def test_the_packaging_scripts_are_executable_bash_without_syntax_errors(script):
    path = PACKAGING / script
    assert os.access(path, os.X_OK)
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
