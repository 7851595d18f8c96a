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
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
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
        for e in self.entries():
            path = Path(getattr(e, "path", "") or "")
            arch = str(getattr(e, "arch", "") or "")
            kind = getattr(e, "kind", "")
            for_ = ARCHS.get(arch, arch) + (f" · {kind}" if kind else "")
            item = QTreeWidgetItem([str(e.name), for_, _human(_size(path)), str(path)])
            item.setData(0, 256, str(e.id))
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

    def add(self) -> Any:
        path = self.ask(self.kind)
        if not path:
            return None
        try:
            info = getattr(self.registry, self._add)(path)
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
        item = self.tree.currentItem()
        if item is None:
            return False
        entry_id, name = str(item.data(0, 256)), item.text(0)
        if not self.confirm(f"Take the {self.what} {name} off the list?"):
            return False
        remover = getattr(self.registry, f"remove_{self.kind}", None) or getattr(
            self.registry, "remove", None)
        try:
            if remover is None:
                raise AiError(f"{self.what}s cannot be removed from this model source")
            remover(entry_id)
        except AiError as exc:
            self.say(str(exc), error=True)
            return False
        self.say(f"Removed the {self.what} {name}.")
        self.refresh()
        self.changed.emit()
        return True


def _human(n: float) -> str:
    from .model_manager import human_size

    return human_size(n) if n else ""
