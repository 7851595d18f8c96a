"""The user's own style pictures in the Style gallery: add (drop or "Add…", imported on the
library's background thread), list, rename in place, remove (asked first)."""
from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidgetItem, QMenu

from ...ai.errors import AiError
from ...ai.styles.library import background
from .style_grid import KEY_ROLE, placeholder_icon

if TYPE_CHECKING:
    from ...ai.styles.library import StyleLibrary
    from .style_grid import StyleGrid


class UserStyles:
    """Mixed into StyleGallery (which provides the widgets, signals and helpers named here)."""

    library: StyleLibrary
    user_grid: StyleGrid
    _filling: bool
    _result_key: tuple[Any, ...] | None
    ask_files: Any
    confirm: Any
    imported: Any
    message: Any

    if TYPE_CHECKING:
        def _tell(self, text: str) -> None: ...
        def _in_background(self, future: Future[Any], callback: Any) -> None: ...
        def _show_error(self, text: str) -> None: ...
        def _current_key(self, kind: str) -> str | None: ...
        def discard(self) -> None: ...

    def refresh_user_styles(self, select: str | None = None) -> None:
        current = select or self._current_key("user")
        self._filling = True
        try:
            self.user_grid.clear()
            for entry in self.library.styles():
                try:
                    icon = QIcon(str(self.library.thumbnail(entry.id)))
                except AiError:
                    icon = placeholder_icon()
                self.user_grid.add_style("user", entry.id, entry.name, icon,
                                         f"{entry.name}\n{entry.width} × {entry.height}, from "
                                         f"{entry.source or 'your files'}\nRight-click to "
                                         "rename or remove")
        finally:
            self._filling = False
        self.user_grid.fit_rows(2)
        self.user_grid.setVisible(self.user_grid.count() > 0)  # empty: the hint says it all
        item = self.user_grid.find_key(current) if current else None
        if item is not None:
            self.user_grid.setCurrentItem(item)

    def add_pictures(self) -> None:
        files = self.ask_files()
        if files:
            self.import_files(list(files))

    def import_files(self, paths: list[str]) -> None:
        """Add pictures to the library on the background thread; each one reports through
        `imported` (the new entry or the reason it was refused)."""
        for path in paths:
            self._tell("Adding style pictures…")
            self._in_background(background().submit(self.library.import_file, path),
                                self._import_done)

    def _import_done(self, future: Future[Any]) -> None:
        try:
            entry = future.result()
        except (AiError, OSError) as exc:
            self._show_error(str(exc))
            self._tell("Nothing was added.")
            self.imported.emit(str(exc))
            return
        self._show_error("")
        self.refresh_user_styles(select=entry.id)
        self._tell(f"Added “{entry.name}” to your styles.")
        self.message.emit(f"Style picture “{entry.name}” added")
        self.imported.emit(entry)

    def _user_menu(self, pos: QPoint) -> None:
        item = self.user_grid.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            menu.addAction("Preview", self.preview)
            menu.addAction("Rename…", lambda: self.user_grid.editItem(item))
            menu.addAction("Remove from gallery…", lambda: self.remove_style(item.data(KEY_ROLE)))
            menu.addSeparator()
        menu.addAction("Add style pictures…", self.add_pictures)
        menu.popup(self.user_grid.viewport().mapToGlobal(pos))

    def _renamed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        key = item.data(KEY_ROLE)
        try:
            entry = self.library.rename(key, item.text())
        except AiError as exc:
            self._show_error(str(exc))
            self.refresh_user_styles(select=key)
            return
        self._show_error("")
        self._filling = True
        item.setText(entry.name)
        self._filling = False
        self._tell(f"Renamed to “{entry.name}”.")

    def rename_style(self, key: str, name: str) -> bool:
        item = self.user_grid.find_key(key)
        if item is None:
            return False
        item.setText(name)  # itemChanged -> _renamed
        return True

    def remove_style(self, key: str) -> bool:
        try:
            entry = self.library.get(key)
        except AiError as exc:
            self._show_error(str(exc))
            return False
        if not self.confirm("Remove style", f"Remove “{entry.name}” from your styles? The "
                            "picture it was added from is not touched."):
            return False
        self.library.remove(key)
        if self._result_key is not None and self._result_key[1] == key:
            self.discard()
        self.refresh_user_styles()
        self._tell(f"Removed “{entry.name}”.")
        return True
