"""Dialogs. Everything that blocks goes through `Prompts`, which tests replace."""
