"""Dockable panels: layers, tool options, undo history (and the colour panel)."""
