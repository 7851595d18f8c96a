"""File handling for the main window: new, open, save, export, import, recent files, and the
unsaved-changes question. Every blocking question goes through `self.prompts`.

A base class of MainWindow, so this module imports only the standard library at module level:
the window's skeleton (`MainWindow(lazy=True)`) is shown before numpy and the core load."""
from __future__ import annotations

import errno
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.io.errors import FileFormatError
    from .dialogs.new_document import NewDocumentSpec
    from .main_window import MainWindow

log = logging.getLogger(__name__)

OPEN_EXTENSIONS = (".ora", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
EXPORT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def _with_extension(path: str, default: str) -> tuple[str, str]:
    """Absolute `path` with `default` appended when it has no extension, and its extension."""
    path = os.path.abspath(os.fspath(path))
    ext = _ext(path)
    return (path + default, default) if not ext else (path, ext)


def _ext(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _quoted(path: str) -> str:
    return f"\u201c{os.path.basename(path.rstrip(os.sep)) or path}\u201d"


def _write_problem(exc: BaseException) -> str:
    """Why a file could not be written, in words (the exception itself goes to the log)."""
    if isinstance(exc, OSError):
        words = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk is full",
                 errno.EACCES: "you do not have permission to write there",
                 errno.EPERM: "you do not have permission to write there",
                 errno.EROFS: "the disk is read-only",
                 errno.ENOENT: "its folder does not exist",
                 errno.ENAMETOOLONG: "the name is too long",
                 errno.EISDIR: "a folder has that name"}
        if exc.errno in words:
            return words[exc.errno]
        for kind, code in ((IsADirectoryError, errno.EISDIR), (PermissionError, errno.EACCES),
                           (FileNotFoundError, errno.ENOENT)):
            if isinstance(exc, kind):
                return words[code]
        if exc.strerror:
            return exc.strerror[:1].lower() + exc.strerror[1:]
    return "the file could not be written (the details are in the log)"


def _as_load_error(path: str, exc: BaseException) -> FileFormatError:
    from ..core.io.errors import FileFormatError, describe, kind_of

    return FileFormatError(path, describe(exc), kind_of(exc))


class FileOps:
    """Mixed into MainWindow; relies on its doc, settings, prompts and set_document."""

    def document_name(self: MainWindow) -> str:
        doc = self.doc
        return os.path.basename(doc.path) if doc is not None and doc.path else "Untitled"

    # ---- unsaved changes --------------------------------------------------------------------
    def maybe_save(self: MainWindow) -> bool:
        """True when it is fine to drop the current document (saved, discarded, or clean)."""
        if self.doc is None or not self.doc.modified:
            return True
        self.canvas.finish_tool()
        from .dialogs.prompts import SaveChoice

        choice = self.prompts.ask_save_changes(self.document_name())
        if choice == SaveChoice.SAVE:
            return self.save()
        return choice == SaveChoice.DISCARD

    # ---- new / open -------------------------------------------------------------------------
    def new_document(self: MainWindow, spec: NewDocumentSpec | None = None) -> bool:
        if not self.maybe_save():
            return False
        s = self.settings
        if spec is None:
            spec = self.prompts.ask_new_document(getattr(s, "new_width", 2048),
                                                 getattr(s, "new_height", 2048))
            if spec is None:
                return False
        if s is not None:
            s.new_width, s.new_height = spec.width, spec.height
            s.new_transparent = spec.transparent
        from ..core.document import Document

        self.set_document(Document.new(spec.width, spec.height, spec.background))
        return True

    def open_dialog(self: MainWindow) -> bool:
        if not self.maybe_save():
            return False
        path = self.prompts.ask_open_path(self._start_dir())
        return bool(path) and self.open_path(path, ask=False)

    def open_path(self: MainWindow, path: str, ask: bool = True) -> bool:
        """Open an .ora or an image as the document. Errors are shown, nothing is lost."""
        from ..core.io import load_document
        from ..core.io.errors import FileFormatError

        path = os.path.abspath(os.fspath(path))
        if ask and not self.maybe_save():
            return False
        try:
            doc = load_document(path)
        except FileFormatError as exc:
            self._load_error("Cannot open file", exc)
            if not os.path.exists(path):
                self._forget_recent(path)
            return False
        except (OSError, ValueError, MemoryError) as exc:
            self._load_error("Cannot open file", _as_load_error(path, exc), exc)
            return False
        self.set_document(doc)
        self._remember(path)
        self.statusBar().showMessage(f"Opened {path}", 4000)
        return True

    def import_layer(self: MainWindow, path: str | None = None) -> bool:
        from ..core.io import import_image_as_layer
        from ..core.io.errors import FileFormatError

        if self.doc is None:
            return False
        path = path or self.prompts.ask_import_path(self._start_dir())
        if not path:
            return False
        try:
            import_image_as_layer(self.doc, path)
        except FileFormatError as exc:
            self._load_error("Cannot import file", exc)
            return False
        except (OSError, ValueError, MemoryError) as exc:
            self._load_error("Cannot import file", _as_load_error(path, exc), exc)
            return False
        self._remember_dir(path)
        return True

    # ---- save / export ----------------------------------------------------------------------
    def save(self: MainWindow) -> bool:
        doc = self.doc
        if doc is None:
            return False
        if doc.path and _ext(doc.path) == ".ora":
            return self.save_to(doc.path)
        return self.save_as()

    def save_as(self: MainWindow) -> bool:
        if self.doc is None:
            return False
        path = self.prompts.ask_save_path(self._suggest(".ora"))
        return bool(path) and self.save_to(path)

    def save_to(self: MainWindow, path: str) -> bool:
        """Save the layered document as OpenRaster at `path` (".ora" added when missing)."""
        from ..core.io import save_document

        doc = self.doc
        if doc is None:
            return False
        path, ext = _with_extension(path, ".ora")
        if ext != ".ora":
            self._file_error("Cannot save", path, "Save writes layered OpenRaster (.ora) files."
                             "\nUse File \u203a Export for PNG, JPEG, WebP or TIFF.")
            return False
        self.canvas.finish_tool()
        try:
            save_document(doc, path)
        except (OSError, ValueError) as exc:
            self._file_error("Cannot save file", path, f"it could not be saved: "
                             f"{_write_problem(exc)}.\nYour document is still open: save it "
                             "to another folder or disk.", exc)
            return False
        doc.path = path
        doc.history.set_clean()
        self._remember(path)
        if self.autosave is not None:
            self.autosave.set_display_name(os.path.basename(path))
        self.update_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export(self: MainWindow) -> bool:
        if self.doc is None:
            return False
        last = self._last_export
        start = last if last else self._suggest(".png")
        path = self.prompts.ask_export_path(start)
        return bool(path) and self.export_to(path)

    def export_to(self: MainWindow, path: str, quality: int | None = None) -> bool:
        """Write the flattened picture (PNG by default). The document stays as it is."""
        from ..core.io import save_document

        doc = self.doc
        if doc is None:
            return False
        path, ext = _with_extension(path, ".png")
        if ext not in EXPORT_EXTENSIONS:
            self._file_error("Cannot export", path, f"Export cannot write {ext} files.\n"
                             "It writes PNG, JPEG, WebP and TIFF; Save writes .ora.")
            return False
        opts = {} if quality is None else {"quality": quality}
        if _ext(path) == ".png":
            from ..ai.records.export_parameters import document_parameters

            params = document_parameters(doc) or doc.metadata.get("parameters")
            if params is not None:
                opts["parameters"] = params
        note = ""
        try:
            if ext == ".png":  # with a signed C2PA manifest when a certificate is set
                from ..ai.records.c2pa_manifest import export_png_with_c2pa

                outcome = export_png_with_c2pa(doc, path, parameters=opts.get("parameters"),
                                               settings=self.settings)
                note = f" · {outcome.message}"
            else:
                save_document(doc, path, **opts)
        except (OSError, ValueError) as exc:
            self._file_error("Cannot export file", path, f"it could not be exported: "
                             f"{_write_problem(exc)}.\nTry another folder or disk.", exc)
            return False
        self._last_export = path
        self._remember_dir(path)
        self.statusBar().showMessage(f"Exported {path}{note}", 6000)
        return True

    # ---- recent files -----------------------------------------------------------------------
    def recent_files(self: MainWindow) -> list[str]:
        return list(getattr(self.settings, "recent_files", []) or [])

    def _remember(self: MainWindow, path: str) -> None:
        s = self.settings
        if s is not None and hasattr(s, "add_recent"):
            s.add_recent(path)
        self._remember_dir(path)

    def _remember_dir(self: MainWindow, path: str) -> None:
        if self.settings is not None and hasattr(self.settings, "last_dir"):
            self.settings.last_dir = os.path.dirname(os.path.abspath(path))

    def _forget_recent(self: MainWindow, path: str) -> None:
        s = self.settings
        if s is not None and hasattr(s, "remove_recent"):
            s.remove_recent(path)

    def _start_dir(self: MainWindow) -> str:
        d = getattr(self.settings, "last_dir", "") if self.settings is not None else ""
        return d if d and os.path.isdir(d) else os.path.expanduser("~")

    def _suggest(self: MainWindow, ext: str) -> str:
        doc = self.doc
        if doc is not None and doc.path:
            stem = os.path.splitext(doc.path)[0]
            return stem + ext
        return os.path.join(self._start_dir(), "Untitled" + ext)

    def _file_error(self: MainWindow, title: str, path: str, problem: str,
                    exc: BaseException | None = None) -> None:
        """Show `problem` (at most two short lines) about `path`; log the details."""
        log.warning("%s: %s: %s", title, path, problem.replace("\n", " "),
                    exc_info=None if exc is None else (type(exc), exc, exc.__traceback__))
        self.prompts.show_error(title, f"{_quoted(path)}: {problem}")

    def _load_error(self: MainWindow, title: str, exc: FileFormatError,
                    cause: BaseException | None = None) -> None:
        """Show what went wrong opening a file in two short lines; log the details."""
        err = cause or exc
        log.warning("%s: %s: %s (%s)", title, exc.path, exc.problem, exc.kind,
                    exc_info=(type(err), err, err.__traceback__))
        self.prompts.show_error(title, exc.message)
