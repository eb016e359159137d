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

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from gradlab import data as datasets
from gradlab.app.downloads import DONE, downloads
from gradlab.app.panels.base import SpecPanel
from gradlab.app.panels.data_download import DownloadList, DownloadNotice, read_statuses
from gradlab.app.panels.data_preview import CLASS_COLORS, PreviewPane, ThumbGrid, class_color
from gradlab.app.panels.forms import (
    ComboBox,
    ParamForm,
    align_labels,
    blocked,
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
from gradlab.data.catalog import Status, human_size
from gradlab.errors import DataError, SpecError
from gradlab.experiment.spec import check

#: the keys every dataset shares (shown in the "Split & preprocessing" section)
SHARED = ("val_fraction", "preprocess", "max_train", "whiten_eps")
FILE_FILTERS = {
    "idx": "IDX files (*-ubyte *-ubyte.gz *.idx *.idx?-ubyte *.gz);;All files (*)",
    "npz": "NumPy archives (*.npz);;All files (*)",
    "csv": "CSV files (*.csv *.tsv *.txt);;All files (*)",
}
#: the preview widgets live in data_preview; these names stay importable from here
__all__ = ["CLASS_COLORS", "DataPanel", "PreviewPane", "ThumbGrid", "class_color"]


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
    #: the dataset on show finished downloading (the window builds the run on it again)
    datasetDownloaded = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._name = ""
        self._errors: list[str] = []
        self._field_errors: list[str] = []
        self._memory: dict[str, dict] = {}
        self._preview_key = ""
        self._preview_error = ""  # a DataError of the current request
        self._statuses: dict[str, Status] = {}  # the downloadable datasets by name
        self._note = ""  # the dataset on show is not downloaded: its fallback runs
        self._missing = ""  # the dataset on show is not downloaded and has no fallback
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
        #: why the dataset on show is not what runs, or cannot run yet, with its download
        self.notice = DownloadNotice(body)
        self.notice.layout().setContentsMargins(8, 0, 8, 0)
        lay.addWidget(self.notice)

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

        self.downloads_box, dform = section("Downloadable datasets", body)
        self.download_list = DownloadList(self.downloads_box)
        self.download_list.chosen.connect(self.choose_dataset)
        dform.addRow(self.download_list)
        lay.addWidget(self.downloads_box)
        lay.addStretch(1)
        downloads().changed.connect(self._on_download_changed)
        downloads().finished.connect(self._on_download_finished)

        self._read_statuses()
        self._show_dataset("spiral", {"name": "spiral"})

    # ------------------------------------------------------------------ model -> UI
    def set_spec(self, spec: dict) -> None:
        super().set_spec(spec)
        self._read_statuses()  # a few stat calls: a fetch from the command line shows too
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
        self.choose_dataset(self.combo.currentData())

    def choose_dataset(self, name: str) -> None:
        """Show and emit dataset ``name`` (the combo box, a title in the downloads list)."""
        if name == self._name or name not in datasets.names():
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
            if self._field_errors == [self._missing]:  # nothing to preview before the download
                self.pane.clear()
                text = f"The preview shows once {self._statuses[self._name].title} is downloaded."
            else:
                text = "Fix the highlighted fields to see a preview."
            self.pane.status.setText(text)
            self.pane.status.show()
        else:
            self._request_preview()
        self._publish()
        self._update_notice()

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
        self._note, self._missing = self._download_state(data) if not errs else ("", "")
        if self._missing:
            errs.append(self._missing)
        return list(dict.fromkeys(errs))

    # ------------------------------------------------------------------ downloads
    def _read_statuses(self) -> None:
        """What can be downloaded and what is (the catalog in force, the files on disk)."""
        self._statuses, problem = read_statuses()
        self.download_list.set_statuses(self._statuses, problem)
        self.downloads_box.setVisible(bool(self._statuses or problem))
        for name, st in self._statuses.items():
            i = self.combo.findData(name)
            if i >= 0:
                state = "downloaded" if st.cached else f"not downloaded yet, {st.label}"
                tip = f"{datasets.info(name).description} ({state})"
                self.combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)

    def _download_state(self, data: dict) -> tuple[str, str]:
        """(note, missing) for the dataset on show when it is a download not on disk: the
        note of the fallback that runs instead (:attr:`gradlab.data.Dataset.note`), or the
        sentence saying it must be downloaded first."""
        st = self._statuses.get(self._name)
        if st is None or st.cached:
            return "", ""
        try:
            return datasets.fallback_note(data), ""
        except DataError:
            return "", (f"{st.title} is not downloaded yet: download it "
                        f"({human_size(st.download_size)}) in the Data panel, or give it a "
                        f"fallback dataset to run on meanwhile.")
        except SpecError:
            return "", ""  # a bad fallback: its field says so

    def _update_notice(self) -> None:
        st = self._statuses.get(self._name)
        state = downloads().state(self._name)
        text = self._missing or self._note
        if st is None or not (text or state.running or state.error) or (
            st.cached and not state.running
        ):
            self.notice.show_for(None, "")
        else:
            if self._missing:
                text = f"{st.title} is not downloaded yet. Download it to train on it, or give " \
                       f"a fallback dataset to run on meanwhile."
            self.notice.show_for(st, text)

    @Slot(str)
    def _on_download_changed(self, name: str) -> None:
        if name == self._name:
            self._update_notice()

    @Slot(str, str, str)
    def _on_download_finished(self, name: str, outcome: str, _message: str) -> None:
        if outcome != DONE:
            return
        self._service.invalidate()  # the same spec loads other data now
        self._read_statuses()
        if name != self._name:
            return
        self._preview_key = ""  # ask again
        self._refresh()
        self.datasetDownloaded.emit(name)

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
