"""The AI dock's form: operation, prompts, model and generation settings.

`AiForm.params()` gives the request fields for `ai.capture.make_request`; `fill_from_record`
puts a result's (or an AI layer's) record back for tweaking. No document, no worker here.

IP-Adapter: `install_ip_adapter(win)` gives the form a way to ask which installed adapter fits
the picked model; the "IP-Adapter" strength then shows next to the reference (for Refine,
Generate, Fill and Expand), or a hint linking to the model manager when none fits.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...ai.latents import INTERPOLATE, LatentMix
from ...ai.requests import (
    CLASSICAL,
    DIRECTIONS,
    LAMA,
    MAX_SEED,
    MIGAN,
    SCHEDULERS,
    random_seed,
)
from ...ai.styles.presets import PRESETS
from .ai_controls import ControlsSection
from .ai_loras import LorasSection
from .widgets import SliderSpin

# (op, combo label, run-button label, hint)
OPERATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("inpaint", "Fill selection", "Fill selection",
     "Repaint the selection from the prompt, blended into its surroundings. "
     "With no model: erase it into the background."),
    ("img2img", "Refine", "Refine",
     "Repaint the selection (or the layer, or after Upscale the whole picture in tiles) "
     "keeping its layout; strength sets how much changes."),
    ("txt2img", "Generate", "Generate",
     "A new picture from the prompt, the size of the selection (or canvas)."),
    ("outpaint", "Expand canvas", "Expand canvas",
     "Grow the canvas on one side and continue the picture into the new strip."),
)
OP_IDS = tuple(o[0] for o in OPERATIONS)
NEEDS_MODEL = ("img2img", "txt2img")
DIRECTION_LABELS = {"left": "Left", "right": "Right", "top": "Top", "bottom": "Bottom"}
CLASSICAL_LABEL = "Classical fill (no model)"
LAMA_LABEL = "LaMa: remove object (no prompt)"
MIGAN_LABEL = "MI-GAN: remove object, light (no prompt)"
REMOVERS = {LAMA: "LaMa", MIGAN: "MI-GAN"}   # the object removers: model id -> name
MODEL_FREE = (CLASSICAL, LAMA, MIGAN)  # the fills that need no diffusion model (nor prompt)
PROMPT_HINT = "Describe what to paint…  (Ctrl+Enter runs)"
NO_MODEL_TEXT = ("No diffusion model yet: <b>Fill selection</b> {fill} (no prompt needed). For "
                 "prompts, click <b>Models…</b> to download SD-Turbo (2.6 GB) or add your own.")


def _text_edit(placeholder: str, lines: int) -> QPlainTextEdit:
    e = QPlainTextEdit()
    e.setPlaceholderText(placeholder)
    e.setTabChangesFocus(True)
    h = e.fontMetrics().lineSpacing() * lines + 12
    e.setFixedHeight(h)
    return e


class AiForm(QWidget):
    """Everything the user sets before pressing Generate."""

    op_changed = Signal(str)
    model_changed = Signal(str)
    manage_models = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._has_models = False
        self._had_lama = False  # an object remover was offered at the last set_models
        self._remover = ""      # the installed object remover an empty prompt uses
        self.op = QComboBox()
        for op, label, _run, hint in OPERATIONS:
            self.op.addItem(label, op)
            self.op.setItemData(self.op.count() - 1, hint, Qt.ItemDataRole.ToolTipRole)
        self.op.setToolTip("What the AI does with the selection")
        self.op_hint = QLabel()
        self.op_hint.setWordWrap(True)
        self.op_hint.setStyleSheet("color: #a0a0a0;")
        self.prompt = _text_edit(PROMPT_HINT, 3)
        self.prompt.setToolTip("What should appear. Ctrl+Enter runs; Tab moves on.")
        self.negative = _text_edit("Things to avoid (optional)", 2)
        self.negative.setToolTip("Negative prompt: what should not appear")

        self.model = QComboBox()
        self.model.setToolTip("The model that paints. The classical fill needs none: it "
                              "continues the surroundings into the selection.")
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(8)
        self.models_button = QPushButton("Models…")
        self.models_button.setToolTip("Download recommended models, add your own, remove them")
        self.models_button.clicked.connect(self.manage_models)
        self.no_model = QLabel(NO_MODEL_TEXT.format(fill="uses the classical fill"))
        self.no_model.setWordWrap(True)
        self.no_model.setStyleSheet("color: #e0c080;")

        self.strength = SliderSpin("Strength", 0, 100, suffix=" %",
                                   tooltip="How much may change: low keeps the original, "
                                           "100 % repaints freely")
        self.strength.label.setMinimumWidth(0)
        self.area = QComboBox()
        self.area.addItem("Selection", "selection")
        self.area.addItem("Whole layer", "layer")
        self.area.addItem("Whole picture, in tiles", "tiles")
        self.area.setToolTip("Refine the selected area, or the whole active layer (or group): "
                             "the picture where it has paint. In tiles: after Upscale, every "
                             "part of the picture at the model's own size, one run per tile "
                             "(a low strength keeps the picture; slow on a CPU)")
        self.direction = QComboBox()
        for d in DIRECTIONS:
            self.direction.addItem(DIRECTION_LABELS[d], d)
        self.direction.setCurrentIndex(DIRECTIONS.index("right"))
        self.pixels = QSpinBox()
        self.pixels.setRange(8, 4096)
        self.pixels.setSingleStep(64)
        self.pixels.setValue(256)
        self.pixels.setSuffix(" px")
        self.pixels.setToolTip("How far to grow the canvas")
        self.batch = QSpinBox()
        self.batch.setRange(1, 8)
        self.batch.setValue(2)
        self.batch.setToolTip("How many variations to make (one seed each)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 150)
        self.steps.setValue(20)
        self.steps.setToolTip("Denoising steps: more is slower and finer (Turbo models: 1–4)")
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setDecimals(1)
        self.guidance.setValue(7.0)
        self.guidance.setToolTip("How closely to follow the prompt (CFG scale; Turbo: 0)")
        self.scheduler = QComboBox()
        for sid, name in SCHEDULERS.items():
            self.scheduler.addItem(name, sid)
        self.scheduler.setToolTip("Sampler")
        self.seed = QLineEdit()
        self.seed.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,10}")))
        self.seed.setPlaceholderText("random")
        self.seed.setToolTip("Seed: the same seed and settings give the same picture. "
                             "Shows the last seed used.")
        self.seed.setMinimumWidth(60)
        self.seed_lock = QCheckBox("Lock")
        self.seed_lock.setToolTip("Locked: reuse this seed. Unlocked: a new random seed each "
                                  "run (the field shows the last one used)")
        self.seed_dice = QPushButton("New")
        self.seed_dice.setFixedWidth(self.seed_dice.fontMetrics().horizontalAdvance("New") + 24)
        self.seed_dice.setToolTip("Pick a new random seed and lock it")
        self.seed_dice.clicked.connect(self._new_seed)
        self.seed.textEdited.connect(lambda t: self.seed_lock.setChecked(bool(t)))
        self.preset = QComboBox()
        self.preset.addItem("None", "")
        for p in PRESETS:
            self.preset.addItem(p.name, p.name)
            self.preset.setItemData(self.preset.count() - 1, f"{p.hint}\nAdds: {p.prompt}",
                                    Qt.ItemDataRole.ToolTipRole)
        self.preset.setToolTip("Style preset: adds a style phrase to the prompt (and things to "
                               "avoid to the negative prompt); recorded with the result")
        # Refine from a reference style: a built-in style or a picture, restyled then repainted.
        self.reference = QComboBox()
        self.reference.addItem("None", "")
        from ...ai.styles.builtins import BUILTINS

        for b in BUILTINS:  # the built-in styles (ai/styles/builtins.py), painterly first
            self.reference.addItem(b.name, b.id)   # data: the stable id "Style N"
            self.reference.setItemData(self.reference.count() - 1, b.look,
                                       Qt.ItemDataRole.ToolTipRole)
        self.reference.setToolTip("Refine in the style of a reference: the region is first "
                                  "restyled (fast style transfer), then repainted by the model "
                                  "at the strength above")
        self.reference_pick = QPushButton("Picture…")
        self.reference_pick.setToolTip("Use a picture of your own as the reference style")
        self.reference_pick.clicked.connect(self._pick_reference)
        # IP-Adapter: the reference picture steers the model (shown when one is installed).
        self._ip_lookup: Callable[[str], str | None] | None = None
        self._ip_name: str | None = None
        self.ip_scale = SliderSpin("IP-Adapter", 0, 100, suffix=" %",
                                   tooltip="How strongly the reference picture steers the "
                                           "model (IP-Adapter); 0 % turns it off")
        self.ip_scale.label.setMinimumWidth(0)
        self.ip_scale.set_value(50)
        self.ip_hint = QLabel()
        self.ip_hint.setWordWrap(True)
        self.ip_hint.setStyleSheet("color: #a0a0a0;")
        self.ip_hint.linkActivated.connect(lambda _link: self.manage_models.emit())
        self.reference.currentIndexChanged.connect(lambda *_: self._sync_reference())
        self.ip_scale.value_changed.connect(lambda *_: self._sync_reference())
        # A re-generated in-between / "more like this" result: its seed mix, kept until cleared.
        self.mix: LatentMix | None = None
        self.mix_label = QLabel("")
        self.mix_label.setWordWrap(True)
        self.mix_label.setStyleSheet("color: #9fc5ff;")
        self.mix_clear = QPushButton("Clear")
        self.mix_clear.setToolTip("Forget the seed mix: run plain variations again")
        self.mix_clear.clicked.connect(lambda: self.set_mix(None))
        # Control layers and LoRAs (panels/ai_controls.py, ai_loras.py), folded by default.
        self.controls_section = ControlsSection()
        self.controls_section.manage_models.connect(self.manage_models)
        self.loras_section = LorasSection()
        self.loras_section.insert_word.connect(self.insert_prompt_word)

        self._build_layout()
        for sig in (self.steps.valueChanged, self.guidance.valueChanged,
                    self.scheduler.currentIndexChanged, self.negative.textChanged):
            sig.connect(lambda *_: self._more_summary())
        self.op.currentIndexChanged.connect(self._op_changed)
        for sig in (self.area.currentIndexChanged, self.direction.currentIndexChanged,
                    self.pixels.valueChanged):
            sig.connect(lambda *_: self._sync_region())
        self.model.currentIndexChanged.connect(self._model_changed)
        self.set_models([], "")
        self._op_changed()

    def _build_layout(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        g = QGridLayout()
        g.setHorizontalSpacing(6)
        g.setColumnStretch(1, 1)

        def row(text: str, *widgets: QWidget) -> QLabel:
            r = g.rowCount()
            label = QLabel(text)
            label.setBuddy(widgets[0])
            g.addWidget(label, r, 0)
            if len(widgets) == 1:
                g.addWidget(widgets[0], r, 1)
            else:
                box = QHBoxLayout()
                for i, w in enumerate(widgets):
                    box.addWidget(w, 1 if i == 0 else 0)
                g.addLayout(box, r, 1)
            return label

        row("&Operation", self.op)
        g.addWidget(self.op_hint, g.rowCount(), 0, 1, 2)
        lay.addLayout(g)
        p_label = QLabel("&Prompt")
        p_label.setBuddy(self.prompt)
        lay.addWidget(p_label)
        lay.addWidget(self.prompt)
        g = QGridLayout()
        g.setHorizontalSpacing(6)
        g.setColumnStretch(1, 1)
        head = QHBoxLayout()
        m_label = QLabel("&Model")
        m_label.setBuddy(self.model)
        head.addWidget(m_label)
        head.addStretch(1)
        head.addWidget(self.models_button)
        g.addLayout(head, g.rowCount(), 0, 1, 2)
        g.addWidget(self.model, g.rowCount(), 0, 1, 2)
        g.addWidget(self.no_model, g.rowCount(), 0, 1, 2)
        g.addWidget(self.strength, g.rowCount(), 0, 1, 2)
        self.area_label = row("Area", self.area)
        self.tiles_hint = QLabel()          # the tile grid of a refine in tiles (AiPanel)
        self.tiles_hint.setWordWrap(True)
        self.tiles_hint.setStyleSheet("color: #a0a0a0;")
        g.addWidget(self.tiles_hint, g.rowCount(), 0, 1, 2)
        self.tiles_hint.hide()
        self.dir_label = row("Grow", self.direction, self.pixels)
        self.preset_label = row("St&yle", self.preset)
        self.reference_label = row("&Reference", self.reference, self.reference_pick)
        g.addWidget(self.ip_scale, g.rowCount(), 0, 1, 2)
        g.addWidget(self.ip_hint, g.rowCount(), 0, 1, 2)
        row("&Variations", self.batch)
        row("&Seed", self.seed, self.seed_lock, self.seed_dice)
        self.mix_row = QWidget()
        box = QHBoxLayout(self.mix_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.mix_label, 1)
        box.addWidget(self.mix_clear)
        g.addWidget(self.mix_row, g.rowCount(), 0, 1, 2)
        self.mix_row.hide()
        lay.addLayout(g)
        # Sampling settings, folded away by default (they rarely change for a given model).
        self.more = QToolButton()
        self.more.setText("More settings")
        self.more.setCheckable(True)
        self.more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more.setArrowType(Qt.ArrowType.RightArrow)
        self.more.setStyleSheet("QToolButton { border: none; padding: 2px 0; }")
        self.more.setToolTip("Negative prompt, steps, guidance and sampler")
        self.more_box = QWidget()
        g = QGridLayout(self.more_box)
        g.setContentsMargins(0, 0, 0, 0)
        g.setHorizontalSpacing(6)
        g.setColumnStretch(1, 1)
        n_label = QLabel("&Negative prompt")
        n_label.setBuddy(self.negative)
        g.addWidget(n_label, 0, 0, 1, 2)
        g.addWidget(self.negative, 1, 0, 1, 2)
        row("S&teps", self.steps)
        row("&Guidance", self.guidance)
        row("Sa&mpler", self.scheduler)
        self.more_box.hide()
        self.more.toggled.connect(self._show_more)
        lay.addWidget(self.controls_section)
        lay.addWidget(self.loras_section)
        lay.addWidget(self.more)
        lay.addWidget(self.more_box)
        self.strength.set_value(100)

    def _show_more(self, on: bool) -> None:
        self.more_box.setVisible(on)
        self.more.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self._more_summary()

    def _more_summary(self) -> None:
        """The folded section's title says what is set, so nothing hides surprises."""
        if not self.paints():
            text = "More settings (not used)"
            tip = "Negative prompt, steps, guidance and sampler: not used by the classical fill"
        else:
            neg = "negative, " if self.negative.toPlainText().strip() else ""
            text = (f"{neg}{self.steps.value()} steps, CFG {self.guidance.value():g}, "
                    f"{self.scheduler.currentText()}")
            tip = ("Negative prompt, steps, guidance (CFG) and sampler" +
                   (" — a negative prompt is set" if neg else ""))
        self.more.setText(text)
        self.more.setToolTip(tip)

    # ---- state -----------------------------------------------------------------------------
    def current_op(self) -> str:
        return str(self.op.currentData())

    def set_op(self, op: str) -> None:
        if op in OP_IDS:
            self.op.setCurrentIndex(OP_IDS.index(op))

    def run_label(self) -> str:
        return OPERATIONS[OP_IDS.index(self.current_op())][2]

    def current_model(self) -> str:
        return str(self.model.currentData() or CLASSICAL)

    def paints(self) -> bool:
        """Whether the current model is a diffusion model (not the classical, LaMa or MI-GAN
        fill)."""
        return self.current_model() not in MODEL_FREE

    @property
    def has_models(self) -> bool:
        return self._has_models

    def set_models(self, models: list[tuple[str, str]], current: str,
                   lama: bool = False, migan: bool = False) -> None:
        """Fill the model picker: (id, label) of each installed diffusion model, then LaMa
        when `lama` (installed), MI-GAN when `migan`, then the classical fill; select
        `current` (or keep the selection, or the first model; with no diffusion model, LaMa
        (else MI-GAN) when installed: the automatic choice for a fill without prompt)."""
        keep = current or (self.model.currentData() if self.model.count() else "")
        if models and (not keep or keep in MODEL_FREE) and not self._has_models:
            keep = models[0][0]  # the first model installed becomes the choice
        remover = LAMA if lama else MIGAN if migan else ""
        if not models and remover and keep in ("", CLASSICAL) and not self._had_lama:
            keep = remover
        self._had_lama = bool(remover)
        self._remover = remover
        self.model.blockSignals(True)
        self.model.clear()
        for mid, label in models:
            self.model.addItem(label, mid)
        if lama:
            self.model.addItem(LAMA_LABEL, LAMA)
        if migan:
            self.model.addItem(MIGAN_LABEL, MIGAN)
        self.model.addItem(CLASSICAL_LABEL, CLASSICAL)
        i = self.model.findData(keep)
        self.model.setCurrentIndex(i if i >= 0 else 0)
        self.model.blockSignals(False)
        self._has_models = bool(models)
        self.no_model.setVisible(not models)
        self._model_changed()

    def blocked_reason(self) -> str:
        """Why the current settings cannot run ("" when they can)."""
        remover = REMOVERS.get(self.current_model())
        if remover and self.current_op() != "inpaint":
            name = OPERATIONS[OP_IDS.index(self.current_op())][1]
            return f"{name} needs a diffusion model: {remover} only fills selections."
        if self.current_model() == CLASSICAL and self.current_op() in NEEDS_MODEL:
            name = OPERATIONS[OP_IDS.index(self.current_op())][1]
            if not self._has_models:
                return f"{name} needs a diffusion model: open Models… to add one."
            return f"{name} needs a diffusion model: pick one in the Model list."
        return ""

    def _sync_prompt_hint(self) -> None:
        """What the prompt box says: that an object remover takes none, or that an empty one
        removes the selection (a Fill with an object remover installed)."""
        picked = REMOVERS.get(self.current_model())
        auto = REMOVERS.get(self._remover)
        if picked:
            text = f"{picked} takes no prompt: Fill selection removes what is selected " \
                   "(Ctrl+Enter runs)"
        elif auto and self.current_op() == "inpaint" and self.paints():
            text = f"Describe what to paint…  Empty: {auto} removes what is selected"
        else:
            text = PROMPT_HINT
        self.prompt.setPlaceholderText(text)

    def _op_changed(self, *_a: Any) -> None:
        op = self.current_op()
        self._sync_prompt_hint()
        self.op_hint.setText(OPERATIONS[OP_IDS.index(op)][3])
        self.strength.setVisible(op in ("inpaint", "img2img"))
        if op == "img2img" and self.strength.value() >= 100:
            self.strength.set_value(60)
        for w in (self.area_label, self.area):
            w.setVisible(op == "img2img")
        self._sync_reference()
        for w in (self.dir_label, self.direction, self.pixels):
            w.setVisible(op == "outpaint")
        self._sync_region()
        self.op_changed.emit(op)

    def _sync_region(self) -> None:
        """Tell the control layers what the request will cover (their thumbnails' crop)."""
        self.controls_section.set_region(self.current_op(), str(self.area.currentData()),
                                         str(self.direction.currentData()),
                                         self.pixels.value())

    def _model_changed(self, *_a: Any) -> None:
        diffusion = self.paints()
        for w in (self.steps, self.guidance, self.scheduler, self.negative, self.strength,
                  self.preset):
            w.setEnabled(diffusion)
        remover = REMOVERS.get(self.current_model())
        name = remover or "the classical fill"
        why = "" if diffusion else (f"Not used by {name}: control layers and LoRAs "
                                    "steer a diffusion model (pick one in the Model list)")
        # the object removers take no prompt and give one answer (no seed to vary)
        self._sync_prompt_hint()
        self.batch.setEnabled(remover is None)
        self.batch.setToolTip(f"{remover} makes one answer: it has no seed to vary"
                              if remover else "How many variations to make (one seed each)")
        self.no_model.setText(NO_MODEL_TEXT.format(
            fill=f"removes the selected object with {remover}" if remover
            else "uses the classical fill"))
        self.controls_section.set_disabled_reason(why)
        self.loras_section.set_disabled_reason(why)
        self._refresh_ip()
        self._more_summary()
        self.model_changed.emit(self.current_model())

    # ---- reference and IP-Adapter ----------------------------------------------------------
    def set_ip_adapter_lookup(self, lookup: Callable[[str], str | None] | None) -> None:
        """`lookup(model id)` -> the name of the installed IP-Adapter fitting that model, or
        None. Without a lookup the form offers no IP-Adapter (and no hint)."""
        self._ip_lookup = lookup
        self._refresh_ip()

    def _refresh_ip(self) -> None:
        model, name = self.current_model(), None
        if self._ip_lookup is not None and model not in MODEL_FREE:
            try:
                name = self._ip_lookup(model)
            except Exception:  # a broken models folder: offer no adapter
                name = None
        self._ip_name = name
        self._sync_reference()

    def ip_adapter_name(self) -> str | None:
        """The IP-Adapter the current model would use (None: none installed for it)."""
        return self._ip_name

    def _reference_shown(self) -> bool:
        op = self.current_op()
        return op == "img2img" or (self._ip_name is not None and op in OP_IDS)

    def _ip_reference(self) -> str:
        """The reference picture the IP-Adapter would use ("" when it is not used)."""
        ref = str(self.reference.currentData() or "")
        if (self._ip_name is None or not self._reference_shown() or self.ip_scale.value() <= 0
                or not ref or ref.startswith("Style ")):
            return ""
        return ref

    def _sync_reference(self) -> None:
        if not hasattr(self, "ip_hint"):
            return  # still being built
        shown = self._reference_shown()
        for w in (self.reference_label, self.reference, self.reference_pick):
            w.setVisible(shown)
        self.ip_scale.setVisible(shown and self._ip_name is not None)
        ref = str(self.reference.currentData() or "")
        text = ""
        if shown and self._ip_name is None and self._ip_lookup is not None \
                and self.paints():
            text = ("No IP-Adapter for this model. <a href='models'>Models…</a> offers one: "
                    "a reference picture then steers the model.")
        elif shown and self._ip_name is not None and self.ip_scale.value() > 0:
            if ref.startswith("Style "):
                text = ("The IP-Adapter follows a picture: choose one with Picture… (a "
                        "built-in style restyles the region first instead).")
            elif ref:
                text = f"{self._ip_name} steers the model with this picture."
        self.ip_hint.setText(text)
        self.ip_hint.setVisible(bool(text))
        self.reference.setToolTip(
            "The picture whose style (and content) the model follows through the IP-Adapter; "
            "a built-in style restyles the region first (Refine)" if self._ip_name else
            "Refine in the style of a reference: the region is first restyled (fast style "
            "transfer), then repainted by the model at the strength above")

    def apply_defaults(self, defaults: dict[str, Any]) -> None:
        """A model's recommended steps / guidance / sampler (e.g. Turbo: 4 steps, CFG 0)."""
        if "steps" in defaults:
            self.steps.setValue(int(defaults["steps"]))
        if "guidance" in defaults:
            self.guidance.setValue(float(defaults["guidance"]))
        i = self.scheduler.findData(defaults.get("scheduler"))
        if i >= 0:
            self.scheduler.setCurrentIndex(i)

    # ---- seed ------------------------------------------------------------------------------
    def _new_seed(self) -> None:
        self.seed.setText(str(random_seed()))
        self.seed_lock.setChecked(True)

    def show_seed(self, seed: int) -> None:
        """Show the seed a run used (unless the user locked one)."""
        if not self.seed_lock.isChecked():
            self.seed.setText(str(seed))

    def seed_value(self) -> int | None:
        text = self.seed.text().strip()
        if not self.seed_lock.isChecked() or not text:
            return None
        return min(int(text), MAX_SEED)

    # ---- request fields --------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        op = self.current_op()
        p: dict[str, Any] = dict(
            prompt=self.prompt.toPlainText().strip(),
            negative_prompt=self.negative.toPlainText().strip(),
            seed=self.seed_value(), steps=self.steps.value(),
            guidance=float(self.guidance.value()), scheduler=str(self.scheduler.currentData()),
            model=self.current_model(),
            batch_size=1 if self.current_model() in REMOVERS else self.batch.value(),
        )
        if self.preset.currentData() and self.paints():
            p["style_preset"] = str(self.preset.currentData())
        if self.mix is not None and self.paints():
            p.update(mix=self.mix, batch_size=len(self.mix))
        if op in ("inpaint", "img2img"):
            p["strength"] = round(self.strength.value() / 100.0, 4)
        ref = str(self.reference.currentData() or "")
        ip_ref = self._ip_reference()
        if ip_ref and self.paints():
            from ...ai.backends.style import style_image_rgb

            p.update(ip_adapter_scale=round(self.ip_scale.value() / 100.0, 4),
                     ip_adapter_reference=ip_ref, ip_adapter_image=style_image_rgb(ip_ref))
        elif op == "img2img" and ref and self.paints():
            p["style_reference"] = ref
            if not ref.startswith("Style "):  # a picture: its pixels go in the request
                from ...ai.backends.style import style_image_rgb

                p["style_image"] = style_image_rgb(ref)
        if op == "outpaint":
            p["direction"] = str(self.direction.currentData())
            p["pixels"] = self.pixels.value()
        if self.paints():
            controls = self.controls_section.control_layers()
            loras = self.loras_section.lora_refs()
            if controls:
                p["controls"] = controls
            if loras:
                p["loras"] = tuple(loras)
        remover = self.auto_remover()
        if remover and op == "inpaint" and not p["prompt"] and self.paints() and not (
                p.get("controls") or p.get("loras") or p.get("ip_adapter_scale") or "mix" in p):
            # no prompt: the installed object remover fills, as the placeholder says
            for key in ("style_preset", "negative_prompt"):
                p.pop(key, None)
            p.update(model=remover, batch_size=1)
        return p

    def auto_remover(self) -> str:
        """The object remover a Fill selection without prompt uses ("lama", "migan"; "" when
        none is installed)."""
        return self._remover

    def set_arch(self, arch: str) -> None:
        """The picked model's architecture ("sd", "sdxl"; "" for none or unknown): which
        LoRAs and control models fit."""
        self.controls_section.set_arch(arch)
        self.loras_section.set_arch(arch)

    def insert_prompt_word(self, word: str) -> None:
        """Put `word` (a LoRA's trigger word) at the end of the prompt, comma-separated (not
        again when the prompt already lists it); one undo step in the prompt."""
        text = self.prompt.toPlainText()
        items = [t.strip().lower() for t in text.replace("\n", ",").split(",")]
        if word.strip().lower() in items:
            return
        body = text.rstrip()
        sep = "" if not body else (" " if body.endswith(",") else ", ")
        cur = self.prompt.textCursor()
        cur.setPosition(len(body))
        cur.movePosition(cur.MoveOperation.End, cur.MoveMode.KeepAnchor)
        cur.insertText(f"{sep}{word}")
        self.prompt.setTextCursor(cur)

    def fill_from_record(self, rec: dict[str, Any]) -> None:
        """Put a result's (or AI layer's) settings back, seed locked, for a tweaked re-run."""
        self.set_op(str(rec.get("op", self.current_op())))
        self.prompt.setPlainText(str(rec.get("prompt", "")))
        self.negative.setPlainText(str(rec.get("negative_prompt", "")))
        model = str(rec.get("model_id") or rec.get("model") or "")
        i = self.model.findData(model)
        if i < 0:
            i = self.model.findText(str(rec.get("model_name", "")))
        if i >= 0:
            self.model.setCurrentIndex(i)
        for key, w in (("steps", self.steps), ("batch_size", self.batch),
                       ("pixels", self.pixels)):
            if isinstance(rec.get(key), (int, float)):
                w.setValue(int(rec[key]))
        if isinstance(rec.get("guidance"), (int, float)):
            self.guidance.setValue(float(rec["guidance"]))
        if isinstance(rec.get("strength"), (int, float)):
            self.strength.set_value(float(rec["strength"]) * 100.0)
        for key, combo in (("scheduler", self.scheduler), ("direction", self.direction)):
            j = combo.findData(rec.get(key))
            if j >= 0:
                combo.setCurrentIndex(j)
        if rec.get("seed") is not None:
            self.seed.setText(str(int(rec["seed"])))
            self.seed_lock.setChecked(True)
        j = self.preset.findData(str(rec.get("style_preset") or ""))
        self.preset.setCurrentIndex(max(0, j))
        ref = str(rec.get("style_reference") or rec.get("ip_adapter_reference") or "")
        self.set_reference("" if ref == "image" else ref)
        if isinstance(rec.get("ip_adapter_scale"), (int, float)):
            self.ip_scale.set_value(float(rec["ip_adapter_scale"]) * 100.0)
        self._sync_reference()
        self.set_mix(LatentMix.from_record(rec))
        loras = rec.get("loras")
        refs = [(str(d.get("name", "")), float(d.get("weight", 1.0))) for d in loras
                if isinstance(d, dict)] if isinstance(loras, list) else []
        self.loras_section.set_refs(refs)
        controls = rec.get("controls")
        self.controls_section.set_from_record(controls if isinstance(controls, list) else [])

    def set_reference(self, ref: str) -> None:
        """Choose a reference style: "" (none), "Style N", or a picture file's path."""
        if ref and self.reference.findData(ref) < 0:
            from pathlib import Path

            self.reference.addItem(Path(ref).name, ref)
            self.reference.setItemData(self.reference.count() - 1, ref,
                                       Qt.ItemDataRole.ToolTipRole)
        self.reference.setCurrentIndex(max(0, self.reference.findData(ref)))

    def _pick_reference(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Reference style picture", "",
                                              "Pictures (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.set_reference(path)

    def set_mix(self, mix: LatentMix | None) -> None:
        """Keep a re-generated result's seed mix for the next run (None: plain variations)."""
        self.mix = mix
        if mix is not None:
            if mix.kind == INTERPOLATE:
                text = (f"In-between frame: t = {mix.ts[0]:.2f} towards seed "
                        f"{mix.subseeds[0]}")
                if mix.prompt:
                    text += f" (“{mix.prompt[:40]}”)"
            else:
                text = (f"More like this: nudged {mix.ts[0]:.0%} towards seed "
                        f"{mix.subseeds[0]}")
            self.mix_label.setText(text)
        self.mix_row.setVisible(mix is not None)
        self.batch.setEnabled(mix is None)


def install_ip_adapter(win: Any) -> None:
    """Let the AI dock's form offer the IP-Adapter: its strength shows next to the reference
    when an installed adapter fits the picked model (a hint linking to the model manager when
    none does). Call once, after `install_ai_dock(win)`; the form follows the model manager's
    changes through the panel's model list."""
    from ...ai.errors import AiError

    panel = win.ai_panel

    def lookup(model_id: str) -> str | None:
        reg = panel.registry
        try:
            return reg.ip_adapter_for(reg.resolve(model_id)).name
        except (AiError, OSError):
            return None

    panel.form.set_ip_adapter_lookup(lookup)
