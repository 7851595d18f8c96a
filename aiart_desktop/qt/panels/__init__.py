"""Dock panels of the main window (layers, tool options, colour, ...)."""
