"""Typed user settings stored as JSON under platformdirs."""
