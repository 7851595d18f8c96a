"""The canvas: the view widget, its display cache, and the painting tools."""
