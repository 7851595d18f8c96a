"""The model manager: installed models, recommended downloads, adding and removing models.

Downloads run on their own thread (`DownloadThread`) with progress, Cancel and resume (a
cancelled download continues where it stopped next time); the dialog never blocks. Nothing is
fetched unless the user presses Download. An allowed pickle checkpoint is read on a thread of
its own too (`CheckpointThread`: learning what it is needs torch, which the UI thread never
imports). IP-Adapters (add-ons: a reference picture steers a
base model) are listed, downloaded and added (a folder) here too, but never offered as a model
to paint with. File dialogs are injectable (`ask_folder`, `ask_checkpoint`, `ask_adapter`,
`confirm`) so tests drive the dialog without modal windows.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...ai.errors import AiError, Cancelled, DownloadError, quoted

if TYPE_CHECKING:
    from ...ai.models.catalogue import CatalogueEntry
    from ...ai.models.ip_adapter import IpAdapterInfo
    from ...ai.models.registry import ModelRegistry
    from ...ai.models.source import ModelInfo
    from ..worker import AiWorker

PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl")
ADD_FOLDER, ADD_FILE = "Add model folder…", "Add model file…"
HAVE_ONE = (f"To use a model you already have, press {ADD_FILE} (.safetensors) or "
            f"{ADD_FOLDER} (diffusers).")
EMPTY_HINT = ("No models yet. Download one of the recommended models below, or add one you "
              f"already have:\n{ADD_FILE} for a .safetensors checkpoint, {ADD_FOLDER} for a "
              "diffusers folder.")
log = logging.getLogger(__name__)


def human_size(n: float) -> str:
    """Decimal units, as download sizes are usually quoted (2.6 GB = 2.6e9 bytes)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def kind_label(info: ModelInfo) -> str:
    f = info.facts
    base = {"sdxl": "SDXL", "taesd": "Preview decoder"}.get(
        f.arch, "SD 2.x" if f.native >= 768 else "SD 1.5 / 2.x")
    return base + (" inpaint" if f.inpaint else "")


class DownloadThread(QThread):
    """Runs `registry.download(entry_id)` off the UI thread."""

    progress = Signal(object, object, str)   # bytes done, bytes total, file (64-bit safe)
    done = Signal(str, str, str)             # entry id, error message ("" = success), reason

    def __init__(self, registry: ModelRegistry, entry_id: str) -> None:
        super().__init__()
        self.registry, self.entry_id = registry, entry_id
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        try:
            self.registry.download(self.entry_id, lambda d, t, f: self.progress.emit(d, t, f),
                                   lambda: self._stop)
        except Cancelled:
            self.done.emit(self.entry_id, "Download cancelled; it resumes where it stopped "
                                          "when you press Download again.", "cancelled")
        except DownloadError as exc:
            self.done.emit(self.entry_id, str(exc), exc.reason)
        except AiError as exc:
            self.done.emit(self.entry_id, str(exc), "model")
        except Exception:  # never let a thread die silently
            log.exception("downloading %s failed", self.entry_id)
            self.done.emit(self.entry_id, f"Cannot download {self.entry_id}: an unexpected "
                                          "problem (details are in the log).", "unknown")
        else:
            self.done.emit(self.entry_id, "", "")


class CheckpointThread(QThread):
    """Adds an allowed pickle checkpoint off the UI thread: learning what it is means reading
    it with torch (`torch.load`), which the UI thread never does. The registry keeps what it
    learned, so listing the models afterwards reads nothing."""

    done = Signal(object, str)   # the ModelInfo (None on failure), error message ("" = added)

    def __init__(self, registry: ModelRegistry, path: str) -> None:
        super().__init__()
        self.registry, self.path = registry, path

    def run(self) -> None:
        try:
            info = self.registry.add_checkpoint(self.path, allow_pickle=True)
        except AiError as exc:
            self.done.emit(None, _sentence(exc))
        except Exception:  # never let a thread die silently
            log.exception("adding the checkpoint %s failed", self.path)
            self.done.emit(None, f"Cannot add {quoted(self.path)}: an unexpected problem "
                                 "(details are in the log).")
        else:
            self.done.emit(info, "")


def _ask_folder(parent: QWidget) -> str | None:
    path = QFileDialog.getExistingDirectory(parent, "Add a diffusers model folder")
    return path or None


def _ask_adapter(parent: QWidget) -> str | None:
    path = QFileDialog.getExistingDirectory(
        parent, "Add an IP-Adapter folder (its .safetensors and image_encoder folder)")
    return path or None


def _ask_checkpoint(parent: QWidget, allow_pickle: bool) -> str | None:
    filt = "Safetensors checkpoints (*.safetensors)"
    if allow_pickle:
        filt += ";;Pickle checkpoints — can run code (*.ckpt *.bin *.pt *.pth)"
    path, _ = QFileDialog.getOpenFileName(parent, "Add a checkpoint file", "", filt)
    return path or None


def _ask_addon(parent: QWidget, kind: str) -> str | None:
    """A LoRA / embedding / control model file, asked through the window's `Prompts`."""
    w: Any = parent
    while w is not None and getattr(w, "prompts", None) is None:
        w = w.parent()
    if w is not None:
        return w.prompts.ask_addon_path(kind)
    from .prompts import Prompts

    return Prompts(parent).ask_addon_path(kind)


def _confirm(parent: QWidget, text: str) -> bool:
    answer = QMessageBox.question(parent, "Model Manager", text)
    return answer == QMessageBox.StandardButton.Yes


COMPILE = "Compile the model for speed (CUDA; slow first frame)"


class ModelManagerDialog(QDialog):
    models_changed = Signal()

    def __init__(self, registry: ModelRegistry, worker: AiWorker | None = None,
                 settings: Any = None, parent: QWidget | None = None, *,
                 ask_folder: Callable[[QWidget], str | None] = _ask_folder,
                 ask_checkpoint: Callable[[QWidget, bool], str | None] = _ask_checkpoint,
                 ask_adapter: Callable[[QWidget], str | None] = _ask_adapter,
                 ask_addon: Callable[[QWidget, str], str | None] = _ask_addon,
                 confirm: Callable[[QWidget, str], bool] = _confirm) -> None:
        super().__init__(parent)
        self.setObjectName("ModelManager")
        self.setWindowTitle("Model Manager")
        self.resize(820, 600)
        self.registry, self.worker, self.settings = registry, worker, settings
        self.ask_folder, self.ask_checkpoint, self.confirm = ask_folder, ask_checkpoint, confirm
        self.ask_adapter, self.ask_addon = ask_adapter, ask_addon
        self.download_thread: DownloadThread | None = None
        self.add_thread: CheckpointThread | None = None

        self.installed = QTreeWidget()
        self.installed.setHeaderLabels(["Name", "Kind", "Size", "Location"])
        self.installed.setRootIsDecorated(False)
        self.installed.setAlternatingRowColors(True)
        self.installed.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.installed.currentItemChanged.connect(lambda *_: self._sync())
        self.empty_hint = QLabel(EMPTY_HINT)
        self.empty_hint.setObjectName("ModelManagerEmptyHint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet("color: #a0a0a0; padding: 16px;")
        self.installed_stack = QStackedWidget()
        self.installed_stack.addWidget(self.installed)
        self.installed_stack.addWidget(self.empty_hint)
        self.installed_note = QLabel()  # why the selected row cannot be used, in full
        self.installed_note.setObjectName("ModelManagerInstalledNote")
        self.installed_note.setWordWrap(True)
        self.add_folder_button = QPushButton(ADD_FOLDER)
        self.add_folder_button.setToolTip("Add a diffusers model folder you already have (with "
                                          "model_index.json); it stays where it is")
        self.add_file_button = QPushButton(ADD_FILE)
        self.add_file_button.setToolTip("Add a single-file Stable Diffusion / SDXL checkpoint "
                                        "(.safetensors) you already have; it stays where it is")
        self.add_adapter_button = QPushButton("Add IP-Adapter…")
        self.add_adapter_button.setToolTip(
            "Add a local IP-Adapter folder: the adapter's .safetensors file and its "
            "image_encoder folder (config.json + model.safetensors), as in h94/IP-Adapter")
        self.allow_pickle = QCheckBox("Allow pickle checkpoints (.ckpt / .bin) — unsafe")
        self.allow_pickle.setToolTip("Pickle files can run any code when loaded. Only tick "
                                     "this for files from a source you trust.")
        self.compile_model = QCheckBox(COMPILE)
        self.compile_model.setToolTip(
            "torch.compile the model's UNet when it loads: faster frames on a CUDA GPU after a "
            "slow first one; ignored on the CPU. Takes effect the next time the program starts.")
        self.compile_model.setChecked(bool(getattr(settings, "torch_compile", False)))
        self.compile_model.setEnabled(settings is not None)
        self.compile_model.toggled.connect(self._compile_toggled)
        self.remove_button = QPushButton("Remove")
        self.unload_button = QPushButton("Unload model")
        self.unload_button.setToolTip("Free the memory of the loaded model (it loads again on "
                                      "the next job)")
        self.unload_button.setEnabled(worker is not None)

        self.catalogue = QTreeWidget()
        self.catalogue.setHeaderLabels(["Recommended model", "Size", "Licence", "Status"])
        self.catalogue.setRootIsDecorated(False)
        self.catalogue.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.catalogue.currentItemChanged.connect(lambda *_: self._sync())
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(True)
        self.download_button = QPushButton("Download")
        self.cancel_button = QPushButton("Cancel download")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.message = QLabel()  # what the last action did, or why it failed
        self.message.setObjectName("ModelManagerMessage")
        self.message.setWordWrap(True)
        self.folder = QLabel(f"Models folder: {registry.root}")
        self.folder.setStyleSheet("color: #a0a0a0;")

        self.add_folder_button.clicked.connect(self.add_folder)
        self.add_file_button.clicked.connect(self.add_checkpoint)
        self.add_adapter_button.clicked.connect(self.add_ip_adapter)
        self.remove_button.clicked.connect(self.remove_selected)
        self.unload_button.clicked.connect(self.unload)
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button.clicked.connect(self.cancel_download)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        # Installed: the models (with IP-Adapters), then LoRAs, embeddings, control models.
        models_tab = QWidget()
        lay = QVBoxLayout(models_tab)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.installed_stack, 1)
        lay.addWidget(self.installed_note)
        row = QHBoxLayout()
        for w in (self.add_folder_button, self.add_file_button, self.add_adapter_button,
                  self.remove_button, self.unload_button):
            row.addWidget(w)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.allow_pickle)
        lay.addWidget(self.compile_model)
        from .model_addons import KINDS, AddonTab

        self.tabs = QTabWidget()
        self.tabs.addTab(models_tab, "Models")
        self.addon_tabs: dict[str, AddonTab] = {}
        for kind in KINDS:
            tab = AddonTab(kind, registry, ask=lambda k: self.ask_addon(self, k),
                           confirm=lambda text: self.confirm(self, text))
            tab.changed.connect(self._changed)
            self.addon_tabs[kind] = tab
            self.tabs.addTab(tab, tab.title)
        self.tabs.currentChanged.connect(lambda _i: self._filter_catalogue())
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("<b>Installed</b>"))
        lay.addWidget(self.tabs, 3)
        lay.addWidget(QLabel("<b>Recommended downloads</b> (only when you press Download)"))
        lay.addWidget(self.catalogue, 2)
        lay.addWidget(self.details)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(self.folder)
        lay.addWidget(buttons)
        self.refresh()

    def _compile_toggled(self, on: bool) -> None:
        """settings.torch_compile (saved with the window's settings)."""
        if self.settings is not None:
            self.settings.torch_compile = bool(on)

    # ---- lists -----------------------------------------------------------------------------
    def refresh(self) -> None:
        for tab in getattr(self, "addon_tabs", {}).values():
            tab.refresh()
        self.installed.clear()
        for m in self.registry.installed():
            item = QTreeWidgetItem([m.name, kind_label(m), human_size(m.facts.size_bytes),
                                    str(m.path)])
            item.setData(0, 256, (m.id, m.source))
            item.setToolTip(3, str(m.path))
            self.installed.addTopLevelItem(item)
        for a in self.registry.ip_adapters():
            item = QTreeWidgetItem([a.name, f"IP-Adapter ({a.family})",
                                    human_size(a.size_bytes), str(a.root)])
            item.setData(0, 256, (a.id, "catalogue" if a.source == "catalogue" else "adapter"))
            item.setToolTip(1, f"An add-on for {a.family} models: set its strength in the AI "
                               "panel, next to the reference picture")
            item.setToolTip(3, str(a.root))
            self.installed.addTopLevelItem(item)
        from ...ai.models.catalogue import catalogue_entry

        self._problems: dict[str, str] = {}
        for mid, why in self.registry.problems().items():
            entry = catalogue_entry(mid)
            if entry is not None:  # an interrupted download, with data to resume
                folder = self.registry.catalogue_folder(mid)
                item = QTreeWidgetItem([entry.name, "partly downloaded",
                                        human_size(_folder_bytes(folder)), str(folder)])
                self._problems[mid] = (f"{entry.name} is partly downloaded: pick it under "
                                       "Recommended downloads and press Download to resume, "
                                       "or Remove to delete it.")
            else:
                path = self.registry.added_path(mid)
                item = QTreeWidgetItem([mid, "cannot be used", "", str(path or "")])
                self._problems[mid] = why
            item.setData(0, 256, (mid, "problem"))
            item.setToolTip(0, self._problems[mid])
            item.setToolTip(1, self._problems[mid])
            self.installed.addTopLevelItem(item)
        for col in range(3):
            self.installed.resizeColumnToContents(col)
        empty = self.installed.topLevelItemCount() == 0
        self.installed_stack.setCurrentWidget(self.empty_hint if empty else self.installed)
        current = self.catalogue.currentItem()
        keep = current.data(0, 256) if current is not None else None
        self.catalogue.clear()
        for e in self.registry.catalogue():
            status = "Installed" if self.registry.is_downloaded(e.id) else (
                "Partly downloaded" if self.registry.is_partial(e.id) else "Not downloaded")
            item = QTreeWidgetItem([e.name, human_size(e.size_mb * 1_000_000),
                                    e.licence.split(":")[0], status])
            item.setData(0, 256, e.id)
            item.setToolTip(2, e.licence)
            self.catalogue.addTopLevelItem(item)
            if e.id == keep:
                self.catalogue.setCurrentItem(item)
        for col in (0, 1, 3):
            self.catalogue.resizeColumnToContents(col)
        self._filter_catalogue()
        self._sync()

    def _filter_catalogue(self) -> None:
        """On the Control models tab, the downloads list offers control models and detectors
        only; elsewhere, everything."""
        from ...ai.models.catalogue import CONTROLNET, DETECTOR, catalogue_entry

        tabs = getattr(self, "tabs", None)
        controls = tabs is not None and tabs.currentWidget() is self.addon_tabs.get("control")
        for i in range(self.catalogue.topLevelItemCount()):
            item = self.catalogue.topLevelItem(i)
            e = catalogue_entry(item.data(0, 256))
            item.setHidden(controls and (e is None or e.arch not in (CONTROLNET, DETECTOR)))

    def _selected_installed(self) -> tuple[str, str] | None:
        item = self.installed.currentItem()
        return None if item is None else item.data(0, 256)

    def _selected_entry(self) -> CatalogueEntry | None:
        from ...ai.models.catalogue import catalogue_entry

        item = self.catalogue.currentItem()
        return None if item is None else catalogue_entry(item.data(0, 256))

    def _sync(self) -> None:
        downloading = self.download_thread is not None
        sel = self._selected_installed()
        self.remove_button.setEnabled(sel is not None)
        problems = getattr(self, "_problems", {})
        if sel is not None and sel[1] == "problem":
            self.installed_note.setText(problems.get(sel[0], ""))
        elif problems:
            n = len(problems)
            self.installed_note.setText(f"{n} model{'s' if n > 1 else ''} cannot be used yet: "
                                        "select it to see why.")
        else:
            self.installed_note.setText("")
        self.installed_note.setVisible(bool(self.installed_note.text()))
        e = self._selected_entry()
        self.download_button.setEnabled(e is not None and not downloading
                                        and not self.registry.is_downloaded(e.id))
        self.cancel_button.setEnabled(downloading)
        if e is not None:
            works = f"<br>Works with: {e.works_with} models." if e.works_with else ""
            self.details.setText(
                f"<b>{e.name}</b> — {e.description}{works}<br>Licence: {e.licence} "
                f"(<a href='{e.licence_url}'>read it</a>)")
        else:
            self.details.setText("Pick a recommended model to see what it is for and its "
                                 "licence.")

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #ff8a80;" if error else "")
        self.message.setText(text)

    def _changed(self) -> None:
        self.refresh()
        self.models_changed.emit()

    # ---- adding and removing ---------------------------------------------------------------
    def add_folder(self) -> ModelInfo | None:
        path = self.ask_folder(self)
        if not path:
            return None
        try:
            info = self.registry.add_folder(path)
        except AiError as exc:
            self._say(_sentence(exc), error=True)
            return None
        self._say(f"Added {info.name} ({kind_label(info)}).")
        self._changed()
        return info

    def add_ip_adapter(self) -> IpAdapterInfo | None:
        path = self.ask_adapter(self)
        if not path:
            return None
        try:
            info = self.registry.add_ip_adapter(path)
        except AiError as exc:
            self._say(f"Could not add the IP-Adapter: {exc}", error=True)
            return None
        self._say(f"Added the IP-Adapter {info.name} for {info.family} models: its strength "
                  "shows in the AI panel when such a model is picked.")
        self._changed()
        return info

    def add_checkpoint(self) -> ModelInfo | None:
        allow = self.allow_pickle.isChecked()
        path = self.ask_checkpoint(self, allow)
        if not path:
            return None
        if path.lower().endswith(PICKLE_SUFFIXES) and not allow:
            self._say(f"Refused {quoted(path)}: pickle checkpoints can run code when loaded.\n"
                      "Use a .safetensors file, or tick “Allow pickle checkpoints” if you trust "
                      "its source.", error=True)
            return None
        if path.lower().endswith(PICKLE_SUFFIXES):
            self._add_pickle(path)  # read on a thread of its own; listed when it is done
            return None
        try:
            info = self.registry.add_checkpoint(path, allow_pickle=allow)
        except AiError as exc:
            self._say(_sentence(exc), error=True)
            return None
        self._say(f"Added {info.name} ({kind_label(info)}).")
        self._changed()
        return info

    def _add_pickle(self, path: str) -> None:
        if self.add_thread is not None:
            return
        t = CheckpointThread(self.registry, path)
        t.done.connect(self._pickle_added)
        self.add_thread = t
        self.add_file_button.setEnabled(False)
        if self.download_thread is None:
            self.progress.setRange(0, 0)  # busy: torch.load reports nothing
        self._say(f"Reading {quoted(path)} to learn what model it is…")
        t.start()

    def _pickle_added(self, info: ModelInfo | None, error: str) -> None:
        t, self.add_thread = self.add_thread, None
        if t is not None:
            t.wait()
        self.add_file_button.setEnabled(True)
        if self.download_thread is None:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        if info is None:
            self._say(error, error=True)
            return
        self._say(f"Added {info.name} ({kind_label(info)}).")
        self._changed()

    def remove_selected(self) -> bool:
        sel = self._selected_installed()
        if sel is None:
            return False
        mid, source = sel
        from ...ai.models.catalogue import catalogue_entry

        if source == "catalogue" or catalogue_entry(mid) is not None:
            folder = self.registry.catalogue_folder(mid)
            if not self.confirm(self, f"Delete the downloaded files in {folder}?"):
                return False
            self.unload()
            shutil.rmtree(folder, ignore_errors=True)
            self._say(f"Deleted {folder}.")
        else:
            try:
                self.registry.remove(mid)
            except AiError as exc:
                self._say(_sentence(exc), error=True)
                return False
            self._say(f"Removed {mid} from the list (its files were left where they are).")
        self._changed()
        return True

    def unload(self) -> None:
        if self.worker is not None:
            self.worker.unload()
            self._say("The loaded model is being unloaded; it loads again on the next job.")

    # ---- downloads -------------------------------------------------------------------------
    def download_selected(self) -> bool:
        e = self._selected_entry()
        if e is None or self.download_thread is not None:
            return False
        t = DownloadThread(self.registry, e.id)
        t.progress.connect(self._download_progress)
        t.done.connect(self._download_done)
        self.download_thread = t
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self._say(f"Downloading {e.name} ({human_size(e.size_mb * 1_000_000)})…")
        t.start()
        self._sync()
        return True

    def _download_progress(self, done: int, total: int, name: str) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.progress.setFormat(f"{human_size(done)} / {human_size(total)}")
        self.progress.setToolTip(name)

    def _download_done(self, entry_id: str, error: str, reason: str = "") -> None:
        t, self.download_thread = self.download_thread, None
        if t is not None:
            t.wait()
        if error:
            text = _sentence(error)
            if reason in ("offline", "network", "login", "not_found"):
                text += "\n" + HAVE_ONE
            self._say(text, error=reason != "cancelled")
        else:
            from ...ai.models.catalogue import (
                INPAINTER,
                IP_ADAPTER,
                MATTING,
                SEGMENTER,
                catalogue_entry,
            )

            self.progress.setValue(1000)
            e = catalogue_entry(entry_id)
            if e is not None and e.arch == IP_ADAPTER:
                self._say(f"{e.name} is downloaded and verified: its strength shows in the AI "
                          f"panel, next to the reference picture, for {e.works_with} models.")
            elif e is not None and e.arch == SEGMENTER:
                self._say(f"{e.name} is downloaded and verified: Select Object (O) can use it "
                          "now.")
            elif e is not None and e.arch == INPAINTER:
                short = "MI-GAN" if e.id == "migan" else "LaMa"
                self._say(f"{e.name} is downloaded and verified: Fill selection removes "
                          f"objects with it ({short} in the AI panel's Model list).")
            elif e is not None and e.kind == "upscaler":
                self._say(f"{e.name} is downloaded and verified: Image › Upscale… "
                          "(Ctrl+Alt+I) lists it.")
            elif e is not None and e.arch == MATTING:
                self._say(f"{e.name} is downloaded and verified: Select › Select Subject and "
                          "Layer › Remove Background can use it now.")
            elif e is not None and e.kind in ("controlnet", "detector"):
                self._say(f"{e.name} is downloaded and verified: the AI panel's Control layers "
                          "use it.")
            else:
                self._say(f"{entry_id} is downloaded and verified: pick it in the AI panel.")
        self._changed()

    def cancel_download(self) -> None:
        if self.download_thread is not None:
            self.download_thread.cancel()
            self._say("Cancelling the download…")

    def shutdown(self) -> None:
        """Stop a running download, and wait for a checkpoint being read (the window is
        closing)."""
        t = self.download_thread
        if t is not None:
            t.cancel()
            t.wait()
        if self.add_thread is not None:
            self.add_thread.wait()


def _sentence(text: object) -> str:
    """A message as the dialog shows it: starting with a capital."""
    s = str(text).strip()
    return s[:1].upper() + s[1:]


def _folder_bytes(folder: Any) -> int:
    """Bytes held under `folder` (a partial download: finished and incomplete files)."""
    total = 0
    for p in folder.rglob("*"):
        try:
            total += p.stat().st_size if p.is_file() else 0
        except OSError:
            continue
    return total
