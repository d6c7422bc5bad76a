"""Simulated devices at the hardware edge (pty scales, …), for tests and the demo."""
