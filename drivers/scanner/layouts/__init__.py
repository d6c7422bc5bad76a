"""Keyboard layouts as data, one module each holding `LAYOUT`; find them with `get_layout`."""
