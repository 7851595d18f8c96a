"""The window's questions answered without a dialog: `StubPrompts` (the `prompts` fixture)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiart_desktop.qt.dialogs.prompts import SaveChoice


@dataclass
class StubPrompts:
    """Answers every question from its fields and records what was asked."""

    save_choice: SaveChoice = SaveChoice.DISCARD
    open_path: str | None = None
    save_path: str | None = None
    export_path: str | None = None
    import_path: str | None = None
    addon_path: str | None = None      # the LoRA / embedding / control model file to add
    folder_path: str | None = None     # the folder ask_folder answers (Live's recorder)
    new_spec: Any = None
    canvas_spec: Any = None
    send_unencrypted: bool = True      # Continue to a plain-http server on another machine
    asked: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    infos: list[tuple[str, str]] = field(default_factory=list)

    def ask_send_unencrypted(self, url: str) -> bool:
        self.asked.append(f"unencrypted:{url}")
        return self.send_unencrypted

    def ask_save_changes(self, name: str) -> SaveChoice:
        self.asked.append(f"save_changes:{name}")
        return self.save_choice

    def ask_open_path(self, start: str = "") -> str | None:
        self.asked.append("open")
        return self.open_path

    def ask_import_path(self, start: str = "") -> str | None:
        self.asked.append("import")
        return self.import_path

    def ask_addon_path(self, kind: str, start: str = "") -> str | None:
        self.asked.append(f"addon:{kind}")
        return self.addon_path

    def ask_folder(self, title: str, start: str = "") -> str | None:
        self.asked.append(f"folder:{title}")
        return self.folder_path

    def ask_save_path(self, start: str = "") -> str | None:
        self.asked.append("save_as")
        return self.save_path

    def ask_export_path(self, start: str = "") -> str | None:
        self.asked.append("export")
        return self.export_path

    def ask_new_document(self, width: int = 0, height: int = 0) -> Any:
        self.asked.append("new")
        return self.new_spec

    def ask_canvas_size(self, width: int, height: int) -> Any:
        self.asked.append("canvas_size")
        return self.canvas_spec

    def show_error(self, title: str, message: str) -> None:
        self.errors.append((title, message))

    def show_info(self, title: str, html: str) -> None:
        self.asked.append(f"info:{title}")
        self.infos.append((title, html))
