"""The window's actions, menus and tool bar, with Krita / Photoshop shortcuts."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from .resources import icon

if TYPE_CHECKING:
    from .main_window import MainWindow

TOOL_ACTIONS = (  # tool id, text, key, icon
    ("brush", "Brush", "B", "brush"),
    ("eraser", "Eraser", "E", "eraser"),
    ("fill", "Fill Bucket", "G", "fill"),
    ("picker", "Colour Picker", "I", "picker"),
    ("move", "Move Layer", "V", "move"),
    ("transform", "Transform", "Ctrl+T", "transform"),
    ("rect_select", "Rectangle Select", "M", "rect-select"),
    ("ellipse_select", "Ellipse Select", "M", "ellipse-select"),
    ("lasso", "Lasso", "L", "lasso"),
    ("polygon_lasso", "Polygonal Lasso", "L", "polygon-lasso"),
    ("wand", "Magic Wand", "W", "wand"),
    ("select_object", "Select Object", "O", "select-object"),
    ("hand", "Hand (pan)", "H", "hand"),
    ("zoom", "Zoom", "Z", "zoom"),
)
# Keys shared by two tools: the key (or Shift+key) switches between them, as in Photoshop.
TOOL_CYCLES = {"M": ("rect_select", "ellipse_select"), "L": ("lasso", "polygon_lasso")}


class Actions:
    """Holds every QAction by name (e.g. `actions.undo`), for menus, tests and enabling."""

    def __init__(self) -> None:
        self.by_name: dict[str, QAction] = {}
        self.tools: dict[str, QAction] = {}

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["by_name"][name]
        except KeyError:
            raise AttributeError(name) from None


def build_actions(win: MainWindow) -> Actions:
    acts = Actions()

    def act(name: str, text: str, slot: Callable[[], object] | None,
            keys: str | list[str] | QKeySequence.StandardKey = "",
            icon_name: str = "", tip: str = "") -> QAction:
        a = QAction(icon(icon_name) if icon_name else icon(""), text, win)
        if isinstance(keys, QKeySequence.StandardKey):
            a.setShortcuts(keys)
        elif keys:
            seqs = [keys] if isinstance(keys, str) else keys
            a.setShortcuts([QKeySequence(k) for k in seqs])
        if tip or a.shortcut().toString():
            a.setToolTip((tip or text) + _keys_hint(a))
        if slot is not None:
            a.triggered.connect(lambda _checked=False: slot())
        win.addAction(a)  # shortcuts work even when the menu bar is hidden
        acts.by_name[name] = a
        return a

    docs = win.doc_required
    # File
    act("new", "&New\u2026", win.new_document, "Ctrl+N")
    act("open", "&Open\u2026", win.open_dialog, "Ctrl+O")
    act("import_layer", "&Import as Layer\u2026", docs(win.import_layer), "Ctrl+Shift+O")
    act("save", "&Save", docs(win.save), "Ctrl+S")
    act("save_as", "Save &As\u2026", docs(win.save_as), "Ctrl+Shift+S")
    act("export", "&Export\u2026", docs(win.export), "Ctrl+E",
        tip="Export the flattened picture as PNG, JPEG, WebP or TIFF")
    act("quit", "&Quit", win.close, "Ctrl+Q")
    # Edit
    act("undo", "&Undo", docs(win.undo), ["Ctrl+Z"], "undo")
    act("redo", "&Redo", docs(win.redo), ["Ctrl+Shift+Z", "Ctrl+Y"], "redo")
    act("cut", "Cu&t", docs(win.cut), "Ctrl+X")
    act("copy", "&Copy", docs(win.copy), "Ctrl+C")
    act("paste", "&Paste as New Layer", docs(win.paste), "Ctrl+V")
    act("swap_colors", "Swap Colours", win.state.swap_colors, "X")
    act("reset_colors", "Reset Colours", win.state.reset_colors, "D")
    act("size_down", "Smaller Brush", lambda: win.state.scale_size(False), "[")
    act("size_up", "Bigger Brush", lambda: win.state.scale_size(True), "]")
    # Image
    act("canvas_size", "&Canvas Size\u2026", docs(win.canvas_size_dialog), "Ctrl+Alt+C")
    act("provenance", "&Provenance\u2026", docs(lambda: _provenance(win)),
        tip="Which layers, and what part of the visible picture, came from a model")
    act("fill_fg", "&Fill with Foreground", docs(win.select_ops.fill_foreground),
        "Shift+Backspace", tip="Fill the selection (or the layer) with the foreground colour")
    # Select
    so = win.select_ops
    act("select_all", "Select &All", so.select_all, "Ctrl+A")
    act("deselect", "&Deselect", so.deselect, "Ctrl+D")
    act("reselect", "&Reselect", so.reselect, "Ctrl+Shift+D")
    act("invert_selection", "&Invert Selection", so.invert, "Ctrl+Shift+I")
    act("color_range", "Colour &Range\u2026", so.color_range,
        tip="Select the foreground colour across the picture")
    act("alpha_to_selection", "Alpha to &Selection", so.alpha_to_selection,
        tip="Select the active layer's opaque pixels")
    act("grow", "&Grow\u2026", so.grow)
    act("shrink", "S&hrink\u2026", so.shrink)
    act("feather", "&Feather\u2026", so.feather, "Shift+F6")
    act("border", "&Border\u2026", so.border)
    qm = act("quick_mask", "&Quick Mask", so.toggle_quick_mask, "Q", "quick-mask",
             tip="Paint the selection: the brush adds, the eraser takes away")
    qm.setCheckable(True)
    win.canvas.quick_mask.toggled.connect(qm.setChecked)
    # Delete (the Layers panel's Clear): end the tool's work first, then honour the selection.
    clear = win.layers_panel.act_clear
    clear.triggered.disconnect()
    clear.triggered.connect(lambda _checked=False: so.clear())
    # View
    c = win.canvas
    act("zoom_in", "Zoom &In", c.zoom_in, ["Ctrl++", "+", "=", "Ctrl+="])
    act("zoom_out", "Zoom &Out", c.zoom_out, ["Ctrl+-", "-"])
    act("fit", "&Fit Canvas", c.fit, "Ctrl+0")
    act("actual", "&100 %", c.actual_pixels, "Ctrl+1")
    # Help
    act("shortcuts", "&Keyboard Shortcuts", win.show_shortcuts, "F1")
    act("about", "&About AIArt Desktop", win.show_about)
    act("log_folder", "Open &Log Folder", win.open_log_folder,
        tip="The log files: what went wrong, in detail (attach them to a bug report)")

    group = QActionGroup(win)
    group.setExclusive(True)
    for tool, text, key, icon_name in TOOL_ACTIONS:
        shared = key in TOOL_CYCLES
        a = act(f"tool_{tool}", text, lambda t=tool: win.state.set_tool(t),
                "" if shared else key, icon_name)
        if shared:
            a.setToolTip(f"{text}  ({key}, again for {_other(tool, key)})")
        a.setCheckable(True)
        a.setActionGroup(group)
        a.setChecked(tool == win.state.tool)
        acts.tools[tool] = a
    win.state.tool_changed.connect(lambda t: acts.tools[t].setChecked(True))
    last = {key: pair[0] for key, pair in TOOL_CYCLES.items()}

    def cycle(key: str) -> None:
        pair = TOOL_CYCLES[key]
        cur = win.state.tool
        nxt = _other(cur, key) if cur in pair else last[key]
        win.state.set_tool(nxt)

    def remember(tool: str) -> None:
        for key, pair in TOOL_CYCLES.items():
            if tool in pair:
                last[key] = tool

    win.state.tool_changed.connect(remember)
    for key, pair in TOOL_CYCLES.items():
        names = " / ".join(text for t, text, *_ in TOOL_ACTIONS if t in pair)
        act(f"cycle_{key}", f"Switch {names}",
            lambda k=key: cycle(k), [key, f"Shift+{key}"])

    _build_menus(win, acts)
    _build_toolbar(win, acts)
    return acts


def _provenance(win: MainWindow) -> object:
    from .dialogs.provenance import show_provenance  # on demand: not needed at startup

    return show_provenance(win)


def _other(tool: str, key: str) -> str:
    a, b = TOOL_CYCLES[key]
    return b if tool == a else a


def _keys_hint(a: QAction) -> str:
    text = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    return f"  ({text})" if text else ""


def _build_menus(win: MainWindow, a: Actions) -> None:
    mb = win.menuBar()
    lp = win.layers_panel

    m = mb.addMenu("&File")
    _add(m, a.new, a.open)
    win.recent_menu = m.addMenu("Open &Recent")
    win.recent_menu.aboutToShow.connect(win.fill_recent_menu)
    _add(m, None, a.save, a.save_as, a.export, None, a.import_layer, None, a.quit)

    m = mb.addMenu("&Edit")
    _add(m, a.undo, a.redo, None, a.cut, a.copy, a.paste, lp.act_clear, a.fill_fg, None,
         a.swap_colors, a.reset_colors, a.size_down, a.size_up)

    m = mb.addMenu("&Image")
    _add(m, a.canvas_size, None, lp.act_flatten, None, a.provenance)

    m = mb.addMenu("&Layer")
    _add(m, lp.act_add, lp.act_group, lp.act_duplicate, lp.act_delete, None, lp.act_rename,
         lp.act_alpha, None, lp.act_merge, lp.act_clear, None, a.alpha_to_selection, None,
         a.import_layer)

    m = mb.addMenu("&Select")
    _add(m, a.select_all, a.deselect, a.reselect, a.invert_selection, None, a.color_range,
         a.alpha_to_selection, a.tools["select_object"], None, a.grow, a.shrink, a.feather,
         a.border, None, a.quick_mask)

    m = mb.addMenu("&View")
    _add(m, a.zoom_in, a.zoom_out, a.fit, a.actual, None)
    tools_menu = m.addMenu("&Tools")
    _add(tools_menu, *a.tools.values())
    win.panels_menu = m.addMenu("&Panels")

    m = mb.addMenu("&Help")
    _add(m, a.shortcuts, None, a.log_folder, None, a.about)


def window_menu(win: QMainWindow, title: str) -> QMenu | None:
    """The menu bar's menu titled `title` (mnemonic "&" ignored) that is on the bar now (a
    replaced menu may linger as a child until it is deleted)."""
    bar = win.menuBar()
    for m in bar.findChildren(QMenu):
        if m.title().replace("&", "") == title and m.menuAction() in bar.actions():
            return m
    return None


def _build_toolbar(win: MainWindow, a: Actions) -> None:
    tb = QToolBar("Tools", win)
    tb.setObjectName("toolsToolBar")
    tb.setOrientation(Qt.Orientation.Vertical)
    tb.setIconSize(QSize(22, 22))
    tb.setMovable(True)
    for act in a.tools.values():
        tb.addAction(act)
    tb.addSeparator()
    tb.addAction(a.quick_mask)
    win.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tb)
    win.tools_toolbar = tb


def _add(menu: QMenu, *items: QAction | None) -> None:
    for item in items:
        if item is None:
            menu.addSeparator()
        else:
            menu.addAction(item)
