"""The model manager's add-on tabs: LoRAs, textual-inversion embeddings and control models.

    tab = AddonTab("lora", registry, ask=lambda kind: path, confirm=lambda text: True)

Each tab lists what the model source holds of its kind (`loras()`, `embeddings()`,
`control_models()`), with Add… (a `.safetensors` file, asked through the window's `Prompts`:
`ask_addon_path(kind)`) and Remove (the entry leaves the list; a file the app copied into its
own folder is deleted, after a question). A refused file gets two plain lines naming it.
Downloads of the catalogue's control models and detectors stay in the dialog's
"Recommended downloads" list.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...ai.errors import AiError, quoted
from ..panels.widgets import run_off_ui

log = logging.getLogger(__name__)
ARCHS = {"sd": "SD 1.5", "sdxl": "SDXL", "": "any"}

# kind: (tab title, what one is, list method, add method, hint when empty)
KINDS: dict[str, tuple[str, str, str, str, str]] = {
    "lora": ("LoRAs", "LoRA", "loras", "add_lora",
             "No LoRAs yet. Press Add LoRA… to add a .safetensors LoRA (kohya / A1111 or "
             "diffusers layout); pick it in the AI panel's LoRAs section."),
    "embedding": ("Embeddings", "embedding", "embeddings", "add_embedding",
                  "No embeddings yet. Press Add embedding… to add a textual-inversion "
                  ".safetensors file; use it by its file name in a prompt or negative prompt."),
    "control": ("Control models", "control model", "control_models", "add_control_model",
                "No control models yet. Download one below (ControlNet for SD 1.5, the SDXL "
                "union ControlNet), or press Add control model… for a .safetensors file."),
}


def _size(path: Path) -> int:
    try:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:
        return 0


class AddonTab(QWidget):
    """One kind of add-on: its list, Add… and Remove (see the module's notes)."""

    changed = Signal()

    def __init__(self, kind: str, registry: Any, *, ask: Callable[[str], str | None],
                 confirm: Callable[[str], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind, self.registry, self.ask, self.confirm = kind, registry, ask, confirm
        title, self.what, self._list, self._add, hint = KINDS[kind]
        self.setObjectName(f"addon_{kind}")
        self.title = title
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "For", "Size", "File"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.tree.currentItemChanged.connect(lambda *_: self._sync())
        self.hint = QLabel(hint)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #a0a0a0;")
        self.add_button = QPushButton(f"Add {self.what}…")
        self.add_button.setToolTip(f"Add a {self.what} file you have (.safetensors); pickle "
                                   "files (.ckpt, .bin, .pt) are refused")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip(f"Take the {self.what} off the list")
        self.message = QLabel()
        self.message.setObjectName(f"addonMessage_{kind}")
        self.message.setWordWrap(True)
        self.add_button.clicked.connect(lambda: self.add())
        self.add_folder_button: QPushButton | None = None
        if kind == "control":   # a diffusers ControlNet is a folder
            self.add_folder_button = QPushButton("Add control model folder…")
            self.add_folder_button.setToolTip("Add a diffusers ControlNet folder (config.json "
                                              "and its .safetensors weights); it stays where "
                                              "it is")
            self.add_folder_button.clicked.connect(lambda: self.add(folder=True))
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        if self.add_folder_button is not None:
            row.addWidget(self.add_folder_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.message)
        self.refresh()

    def entries(self) -> list[Any]:
        lister = getattr(self.registry, self._list, None)
        if lister is None:
            return []
        try:
            return list(lister())
        except (AiError, OSError) as exc:
            log.warning("could not list the %ss: %s", self.what, exc)
            return []

    def refresh(self) -> None:
        self.tree.clear()
        self._entries = {}
        for e in self.entries():
            path = Path(getattr(e, "path", "") or "")
            arch = str(getattr(e, "arch", "") or "")
            kinds = getattr(e, "kinds_label", "")   # a control model: the types it serves
            for_ = ARCHS.get(arch, arch) + (f" · {kinds}" if kinds else "")
            size = int(getattr(e, "size_bytes", 0) or 0) or _size(path)
            item = QTreeWidgetItem([str(e.name), for_, _human(size), str(path)])
            item.setData(0, 256, str(e.id))
            self._entries[str(e.id)] = e
            words = getattr(e, "triggers", ()) or ()
            if words:
                item.setToolTip(0, "Trigger words: " + ", ".join(map(str, words)))
            item.setToolTip(3, str(path))
            self.tree.addTopLevelItem(item)
        for col in range(3):
            self.tree.resizeColumnToContents(col)
        self.hint.setVisible(self.tree.topLevelItemCount() == 0)
        self._sync()

    def _sync(self) -> None:
        self.remove_button.setEnabled(self.tree.currentItem() is not None)
        self.add_button.setEnabled(hasattr(self.registry, self._add))

    def say(self, text: str, error: bool = False) -> None:
        from ..panels.messages import short_message

        self.message.setStyleSheet("color: #ff8a80;" if error else "")
        self.message.setText(short_message(text))

    def add(self, folder: bool = False) -> Any:
        """Ask for a file (or, with `folder`, a folder) and add it; a refusal is said in two
        plain lines naming it."""
        path = self.ask(f"{self.kind}-folder" if folder else self.kind)
        if not path:
            return None
        self.say(f"Adding {Path(path).name}…")
        try:   # copied (LoRAs, embeddings) and checked: a moment, off the UI thread
            info = run_off_ui(getattr(self.registry, self._add), path, busy=self.add_button)
        except AiError as exc:
            why = str(exc).strip()
            name = Path(path).name
            self.say(why if name in why else f"Could not add {quoted(path)}.\n{why}", error=True)
            return None
        except OSError as exc:
            self.say(f"Could not add {quoted(path)}.\n{exc.strerror or exc}", error=True)
            return None
        arch = ARCHS.get(str(getattr(info, "arch", "")), str(getattr(info, "arch", "")))
        self.say(f"Added the {self.what} {info.name} (for {arch} models).")
        self.refresh()
        self.changed.emit()
        return info

    def remove_selected(self) -> bool:
        """Remove the selected entry: a LoRA or embedding file is deleted from its folder; a
        downloaded control model's files are deleted; one added from elsewhere is only taken
        off the list (its files stay); each after a question."""
        item = self.tree.currentItem()
        if item is None:
            return False
        entry_id, name = str(item.data(0, 256)), item.text(0)
        entry = getattr(self, "_entries", {}).get(entry_id)
        path = Path(getattr(entry, "path", "") or "")
        reg = self.registry
        own = getattr(reg, f"remove_{self.kind}", None)
        try:
            if own is not None:
                if not self.confirm(f"Delete the {self.what} {name} ({path.name}) from the "
                                    f"{self.what} folder?"):
                    return False
                own(entry_id)
                done = f"Deleted the {self.what} {name}."
            elif getattr(entry, "source", "") == "catalogue":
                folder = reg.catalogue_folder(entry_id)
                if not self.confirm(f"Delete the downloaded files in {folder}?"):
                    return False
                shutil.rmtree(folder, ignore_errors=True)
                done = f"Deleted {folder}."
            elif reg.added_path(entry_id) is not None:
                if not self.confirm(f"Take the {self.what} {name} off the list? Its files stay "
                                    "where they are."):
                    return False
                reg.remove(entry_id)
                done = f"Removed {name} from the list (its files were left where they are)."
            else:   # a file or folder put in the app's own folder
                if not self.confirm(f"Delete {path}?"):
                    return False
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                done = f"Deleted {path.name}."
        except (AiError, OSError) as exc:
            self.say(str(exc), error=True)
            return False
        self.say(done)
        self.refresh()
        self.changed.emit()
        return True


def _human(n: float) -> str:
    from .model_manager import human_size

    return human_size(n) if n else ""
