"""Headless painting core: numpy only, never Qt."""
