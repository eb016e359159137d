"""The Data panel's downloads as a user drives them: the list of downloadable datasets and their
labels, a download with its progress bar (the window stays responsive) after which the dataset is
used at once, Cancel leaving nothing, a failure's one sentence and Retry, a preset on the
fallback saying so, closing the window mid-download; and CIFAR-10's colour thumbnails.

No network: the datasets come from the loopback server of tests/datasets_loopback.py, with a
registry and a data dir of each test's own. A download "caught in the middle" is one whose
server holds back the second half of a file until the test lets it go.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from gradlab import data as datasets
from gradlab.app.downloads import Downloads, downloads, running_threads
from gradlab.app.panels import DataPanel
from gradlab.app.preview import preview_service
from gradlab.data import download
from gradlab.experiment import presets
from tests.datasets_loopback import (
    digits,
    files_in,
    idx_bytes,
    publish,
    serve,
    sha256,
    write_registry,
)
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401 (fixture)

pytestmark = pytest.mark.qt

#: MNIST's training images in these tests: enough to take many 64 KiB chunks
N_BIG = 1500
NIELSEN = "nielsen-sigmoid-3hidden"


class Site:
    """The loopback server, its registry (written to ``registry``) and the data dir."""

    def __init__(self, server, tmp_path):
        self.server = server
        self.tmp = tmp_path
        self.gates: list = []
        self.registry = publish(server)
        x, y = digits(N_BIG, 7)
        self.big = "/mnist/big-train-images-idx3-ubyte.gz"
        self.put("mnist", "train_images", self.big, idx_bytes(x))
        self.put("mnist", "train_labels", "/mnist/big-train-labels-idx1-ubyte.gz", idx_bytes(y))
        self.path = tmp_path / "registry.json"
        self.data_dir = tmp_path / "datasets"
        self.write()

    def put(self, name: str, key: str, path: str, body: bytes) -> None:
        self.server.files[path] = body
        entry = self.registry[name]["files"][key]
        entry.update(size=len(body), sha256=sha256(body), urls=[self.server.url(path)])

    def write(self) -> None:
        write_registry(self.path, self.registry)

    def size(self, name: str) -> int:
        return sum(f["size"] for f in self.registry[name]["files"].values())

    def hold(self, path: str | None = None):
        """Hold back the second half of ``path`` (default: MNIST's big file); the gate."""
        import threading

        gate = threading.Event()
        self.server.hold[path or self.big] = gate
        self.gates.append(gate)
        return gate


@pytest.fixture
def site(tmp_path, monkeypatch):
    with serve() as server:
        s = Site(server, tmp_path)
        monkeypatch.setenv("GRADLAB_DATA_REGISTRY", str(s.path))
        monkeypatch.setenv("GRADLAB_DATA_DIR", str(s.data_dir))
        monkeypatch.setattr(Downloads, "backoff", 0.0)
        try:
            yield s
        finally:
            for gate in s.gates:  # a failed test must not leave a download waiting
                gate.set()
            downloads().stop_all()
            assert preview_service().wait(20000)


def make_panel(qtbot, spec=None) -> DataPanel:
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 1000)
    panel.show()
    panel.set_spec(spec if spec is not None else presets.load("spiral"))
    return panel


def choose(panel: DataPanel, name: str) -> None:
    """Pick ``name`` in the Name box, as a click on its item does."""
    i = panel.combo.findData(name)
    panel.combo.setCurrentIndex(i)
    panel.combo.activated.emit(i)


def human(n: int) -> str:
    from gradlab.data.catalog import human_size

    return human_size(n)


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# ====================================================================== the list
def test_the_list_shows_each_downloadable_dataset_downloaded_or_its_size(qtbot, site):
    download.fetch("fashion_mnist")  # fetched before, from the command line
    panel = make_panel(qtbot)
    rows = panel.download_list.controls
    assert list(rows) == ["mnist", "fashion_mnist", "cifar10"]
    assert [r.title.text().split(">")[1].split("<")[0] for r in rows.values()] == [
        "MNIST", "Fashion-MNIST", "CIFAR-10"]
    assert rows["mnist"].state_text() == f"Download ({human(site.size('mnist'))})"
    assert rows["cifar10"].state_text() == f"Download ({human(site.size('cifar10'))})"
    assert rows["fashion_mnist"].state_text() == "downloaded"
    assert rows["fashion_mnist"].done.isVisible() and not rows["fashion_mnist"].button.isVisible()
    # the Name box's items say it too
    tip = panel.combo.itemData(panel.combo.findData("mnist"), Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith(f"(not downloaded yet, Download ({human(site.size('mnist'))}))")
    # a title chooses the dataset
    rows["fashion_mnist"].title.linkActivated.emit("fashion_mnist")
    assert panel.combo.currentData() == "fashion_mnist"
    qtbot.waitUntil(lambda: panel.preview() is not None and panel.preview().name ==
                    "fashion_mnist", timeout=20000)
    assert panel.errors() == [] and not panel.notice.isVisible()


def test_choosing_a_dataset_not_downloaded_offers_the_download(qtbot, site):
    panel = make_panel(qtbot)
    choose(panel, "mnist")
    notice = panel.notice
    assert notice.isVisible()
    assert notice.text.text().startswith("MNIST is not downloaded yet.")
    assert notice.control.state_text() == f"Download ({human(site.size('mnist'))})"
    # it cannot run yet: one sentence in the panel's errors (the window disables Run)
    assert panel.errors() == [
        f"MNIST is not downloaded yet: download it ({human(site.size('mnist'))}) in the Data "
        "panel, or give it a fallback dataset to run on meanwhile."]
    assert not panel.message.isVisible()  # no red preview error besides
    assert panel.preview() is None and panel.pane.status.text() == (
        "The preview shows once MNIST is downloaded.")
    assert site.server.gets() == []  # nothing downloads until asked


# ====================================================================== downloading
def test_a_download_moves_the_bar_keeps_the_window_responsive_and_the_data_is_used_at_once(
        qtbot, site):
    gate = site.hold()
    panel = make_panel(qtbot)
    choose(panel, "mnist")
    errors = []
    panel.errorsChanged.connect(lambda: errors.append(panel.errors()))
    control = panel.notice.control
    values = []
    control.bar.valueChanged.connect(values.append)
    click(qtbot, control.button)
    assert control.bar.isVisible() and control.cancel_button.isVisible()
    assert not control.button.isVisible()
    # half of the big file is in: the bar went up step by step and stands between its ends,
    # with the bytes on it
    qtbot.waitUntil(lambda: control.bar.value() > 300, timeout=20000)
    assert control.bar.value() < 700
    assert len(values) >= 5 and values == sorted(values)
    assert control.bar.text().endswith(f" of {human(site.size('mnist'))}")
    row = panel.download_list.controls["mnist"]
    assert row.bar.value() == control.bar.value()  # the list shows the same download
    # meanwhile the UI thread serves events: a timer fires, the form still edits
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=5000)
    timer.stop()
    assert [t.objectName() for t in running_threads()] == ["gradlab-download-mnist"]

    with qtbot.waitSignal(panel.datasetDownloaded, timeout=20000) as sig:
        gate.set()
    assert sig.args == ["mnist"]
    assert sorted(files_in(site.data_dir / "mnist")) == sorted(
        f["filename"] for f in site.registry["mnist"]["files"].values())
    assert row.state_text() == "downloaded" and not panel.notice.isVisible()
    assert panel.errors() == [] and errors[-1] == []
    # the preview rebuilds on the real files: MNIST's thumbnails
    qtbot.waitUntil(lambda: panel.preview() is not None and panel.preview().name == "mnist",
                    timeout=20000)
    pv = panel.preview()
    assert pv.error == "" and pv.n_train + pv.n_val == N_BIG and pv.note == ""
    assert panel.pane.stack.currentWidget() is panel.pane.thumbs


def test_cancel_leaves_nothing_and_the_download_can_start_again(qtbot, site):
    gate = site.hold()
    panel = make_panel(qtbot)
    row = panel.download_list.controls["mnist"]
    click(qtbot, row.button)
    qtbot.waitUntil(lambda: row.bar.value() > 300, timeout=20000)
    click(qtbot, row.cancel_button)
    assert row.bar.text() == "cancelling…" and not row.cancel_button.isEnabled()
    with qtbot.waitSignal(downloads().finished, timeout=20000) as sig:
        gate.set()  # the next chunk sees the cancel
    assert sig.args == ["mnist", "cancelled", ""]
    assert files_in(site.data_dir) == []  # not a byte kept, no temporary file
    assert row.state_text() == f"Download ({human(site.size('mnist'))})"
    assert not row.error.isVisible()
    assert running_threads() == []
    # and again, to the end this time
    del site.server.hold[site.big]
    with qtbot.waitSignal(downloads().finished, timeout=20000) as sig:
        click(qtbot, row.button)
    assert sig.args == ["mnist", "done", ""]
    assert row.state_text() == "downloaded"


def test_a_failed_download_says_why_in_one_sentence_and_retry_works(qtbot, site):
    good = site.registry["mnist"]["files"]["train_labels"]["sha256"]
    site.registry["mnist"]["files"]["train_labels"]["sha256"] = "0" * 64
    site.write()
    panel = make_panel(qtbot)
    choose(panel, "mnist")
    control = panel.notice.control
    with qtbot.waitSignal(downloads().finished, timeout=20000) as sig:
        click(qtbot, control.button)
    name, outcome, sentence = sig.args
    assert (name, outcome) == ("mnist", "failed")
    assert "checksum does not match" in sentence and "nothing was kept" in sentence
    assert sentence.endswith(".") and sentence.count(". ") == 0  # one sentence
    for c in (control, panel.download_list.controls["mnist"]):
        assert c.error.isVisible() and c.error.text() == sentence
        assert c.state_text() == f"Retry ({human(site.size('mnist'))})"
    # what was verified stays, the file that failed does not, nor any temporary file
    assert files_in(site.data_dir / "mnist") == ["train-images-idx3-ubyte.gz"]
    assert running_threads() == []

    site.registry["mnist"]["files"]["train_labels"]["sha256"] = good  # the mirror is mended
    site.write()
    with qtbot.waitSignal(panel.datasetDownloaded, timeout=20000):
        click(qtbot, control.button)
    assert not panel.notice.isVisible() and panel.errors() == []
    assert panel.download_list.controls["mnist"].state_text() == "downloaded"
    assert not panel.download_list.controls["mnist"].error.isVisible()


def test_a_server_that_is_down_is_one_sentence_too(qtbot, site):
    from tests.datasets_loopback import closed_port_url

    for f in site.registry["cifar10"]["files"].values():
        f["urls"] = [closed_port_url("/cifar.tar.gz")]
    site.write()
    panel = make_panel(qtbot)
    row = panel.download_list.controls["cifar10"]
    with qtbot.waitSignal(downloads().finished, timeout=30000) as sig:
        click(qtbot, row.button)
    assert sig.args[1] == "failed"
    assert row.error.text() == sig.args[2]
    assert "cannot connect" in row.error.text() and row.error.text().count(". ") == 0
    assert files_in(site.data_dir) == []


# ====================================================================== fallback
def test_a_preset_on_its_fallback_says_so_with_the_download_one_click_away(qtbot, site):
    spec = presets.load(NIELSEN)
    panel = make_panel(qtbot, spec)
    note = datasets.fallback_note(spec["data"])
    assert note.startswith("MNIST is not downloaded") and "mnist_like" in note
    assert panel.notice.isVisible() and panel.notice.text.text() == note
    assert panel.errors() == []  # it runs, on mnist_like
    qtbot.waitUntil(lambda: panel.preview() is not None, timeout=20000)
    assert panel.preview().name == "mnist_like" and panel.preview().note == note

    with qtbot.waitSignal(panel.datasetDownloaded, timeout=20000):
        click(qtbot, panel.notice.control.button)
    assert not panel.notice.isVisible()
    qtbot.waitUntil(lambda: panel.preview() is not None and panel.preview().name == "mnist",
                    timeout=20000)
    assert panel.preview().note == "" and panel.preview().n_train + panel.preview().n_val == N_BIG


# ====================================================================== the window
def test_the_run_is_built_again_on_the_downloaded_data(qtbot, site, settings):  # noqa: F811
    win = make_window(qtbot, settings, start=("preset", NIELSEN))
    try:
        assert win.run.spec["data"]["name"] == "mnist_like"
        panel = next(p for p in win.panels if isinstance(p, DataPanel))
        win.docks[1].raise_()
        with qtbot.waitSignal(panel.datasetDownloaded, timeout=20000):
            click(qtbot, panel.notice.control.button)
        qtbot.waitUntil(lambda: win.run.spec["data"]["name"] == "mnist", timeout=30000)
        assert win.run.experiment.data.input_dim == 784
        assert len(win.run.experiment.data.x_train) + len(win.run.experiment.data.x_val) == N_BIG
        assert win.banner.isHidden()
    finally:
        stop_window(win)


def test_in_the_window_a_dataset_to_download_first_blocks_run_until_it_is_in(
        qtbot, site, settings, monkeypatch):  # noqa: F811
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    win = make_window(qtbot, settings)
    try:
        panel = next(p for p in win.panels if isinstance(p, DataPanel))
        win.docks[1].raise_()
        choose(panel, "mnist")
        # no build is tried (it could only fail): Run waits, the status bar says why
        assert not win._rebuild_timer.isActive()
        assert not win.act_run.isEnabled()
        assert win.spec_error().startswith("MNIST is not downloaded yet: download it (")
        with qtbot.waitSignal(panel.datasetDownloaded, timeout=20000):
            click(qtbot, panel.notice.control.button)
        qtbot.waitUntil(lambda: win.run.spec["data"]["name"] == "mnist", timeout=30000)
        qtbot.waitUntil(win.act_run.isEnabled, timeout=10000)
        assert win.spec_error() == "" and warnings == []
    finally:
        stop_window(win)


def test_closing_the_window_mid_download_asks_then_stops_it_cleanly(qtbot, site, settings,  # noqa: F811
                                                                     monkeypatch):
    gate = site.hold()
    win = make_window(qtbot, settings, start=("preset", NIELSEN))
    panel = next(p for p in win.panels if isinstance(p, DataPanel))
    win.docks[1].raise_()
    row = panel.download_list.controls["mnist"]
    click(qtbot, row.button)
    qtbot.waitUntil(lambda: row.bar.value() > 300, timeout=20000)

    asked = []
    answer = [QMessageBox.StandardButton.No]

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        if answer[0] == QMessageBox.StandardButton.Yes:
            QTimer.singleShot(0, gate.set)  # the held bytes come once the close waits
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    # "No": the window stays and the download goes on
    assert not win.close()
    assert win.isVisible() and downloads().active() == ["mnist"]
    assert asked[0].startswith("MNIST is still downloading (")
    assert "Close anyway?" in asked[0]
    # "Yes": the download is stopped, its thread ends, nothing half-written stays
    answer[0] = QMessageBox.StandardButton.Yes
    win.doc.edited = False
    assert win.close()
    assert len(asked) == 2
    assert running_threads() == [] and downloads().active() == []
    assert files_in(site.data_dir) == []
    assert not win.isVisible()


def test_a_panel_closed_mid_download_leaves_the_thread_to_the_service(qtbot, site):
    gate = site.hold()
    panel = make_panel(qtbot)
    click(qtbot, panel.download_list.controls["mnist"].button)
    qtbot.waitUntil(lambda: downloads().state("mnist").progress is not None, timeout=20000)
    panel.close()
    panel.deleteLater()
    qtbot.waitUntil(lambda: not panel.isVisible())
    with qtbot.waitSignal(downloads().finished, timeout=20000) as sig:
        gate.set()
    assert sig.args == ["mnist", "done", ""] and running_threads() == []


# ====================================================================== CIFAR-10 in colour
def test_cifar_rows_are_colour_images_and_their_thumbnails_are_rgb():
    rec = np.zeros((1, 3073), dtype=np.uint8)
    rec[0, 1:1025] = 255  # a red plane: a red picture
    x = rec[:, 1:].astype(np.float32)
    grid = datasets.thumbnail_grid(x, (3, 32, 32), n=1, pad=1, levels=(0, 255))
    assert grid.shape == (34, 34, 3)
    assert (grid[1:33, 1:33] == [255, 0, 0]).all()  # red, not grey
    assert (grid[0] == 128).all()  # the padding
    grey = datasets.thumbnail_grid(np.arange(8.0).reshape(2, 4), (2, 2), cols=2, pad=0)
    assert grey.shape == (2, 4)  # grey images stay one channel
    with pytest.raises(ValueError, match="3x32x32"):
        datasets.thumbnail_grid(np.zeros((2, 1024)), (3, 32, 32))


def test_cifar_shows_colour_thumbnails_with_its_class_names(qtbot, site):
    download.fetch("cifar10")
    panel = make_panel(qtbot)
    ds = datasets.load({"name": "cifar10"}, seed=panel.spec().get("seed", 0))
    assert ds.image_shape == (3, 32, 32) and ds.input_dim == 3072
    with qtbot.waitSignal(panel.previewUpdated, timeout=20000):
        choose(panel, "cifar10")
    qtbot.waitUntil(lambda: panel.preview() is not None and panel.preview().name == "cifar10",
                    timeout=20000)
    pv = panel.preview()
    assert pv.image_shape == (3, 32, 32) and pv.strip.ndim == 3
    assert "32×32 colour images" in panel.pane.summary.text()
    thumbs = panel.pane.thumbs
    assert panel.pane.stack.currentWidget() is thumbs and thumbs.count() >= 9
    assert thumbs.image().format() == QImage.Format.Format_RGB888
    # the first thumbnail is the first shown example's planes, in colour
    k = 0
    shown = ds.raw_train[np.flatnonzero(ds.y_train == pv.strip_labels[k])[0]]
    planes = shown.reshape(3, 32, 32)
    pixel = thumbs.image().pixelColor(1 + 5, 1 + 7)
    lo, hi = float(shown.min()), float(shown.max())
    expected = [round((planes[c, 7, 5] - lo) / (hi - lo) * 255) for c in range(3)]
    assert abs(pixel.red() - expected[0]) <= 1 and abs(pixel.green() - expected[1]) <= 1
    assert abs(pixel.blue() - expected[2]) <= 1
    assert pv.class_names[:3] == ("airplane", "automobile", "bird")
    image = thumbs.grab().toImage()
    assert image.width() > 100 and image.height() > 50


def test_the_registry_in_force_can_be_unreadable_and_the_panel_says_so(qtbot, site):
    site.path.write_text(json.dumps({"mnist": {"format": "zip"}}), encoding="utf-8")
    panel = make_panel(qtbot)
    problem = panel.download_list.problem
    assert problem.isVisible() and "format" in problem.text() and str(site.path) in problem.text()
    assert panel.download_list.controls == {}
