"""When does a weight become custody? Stable, repeated, in range; never an overload."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from drivers.scale.reading import ScaleReading, ScaleState


@dataclass
class StableWeightFilter:
    """Accept a weight once `repeats` consecutive stable OK readings agree within `tolerance`
    grams; after accepting, the same load is not accepted again until the scale changes.

    - motion (an unstable weight), overload, underload and errors end the run and forget the
      accepted load: what is on the scale afterwards is weighed anew;
    - busy ("ask again": MT-SICS `S I`), a frame error or an info frame is "not yet": it ends
      the run (the readings around it are not consecutive) but says nothing about the load, so
      a load already accepted stays accepted. Busy is never accepted and never a fault;
    - but a busy reply that says the load moves (the 8217 motion status, its only sign of a
      change: it sends no unstable weights) is motion, as above: two identical boxes swapped
      while it moves are two weighings.
    """

    repeats: int = 3
    tolerance: Decimal = Decimal("0")
    _run: list[Decimal] = field(default_factory=list)
    _accepted: Decimal | None = None

    def reset(self) -> None:
        self._run.clear()
        self._accepted = None

    def interrupt(self) -> None:
        """Something that is not a usable reading arrived: the run of agreeing readings ends."""
        self._run.clear()

    def offer(self, reading: ScaleReading) -> Decimal | None:
        """Feed one reading; returns the accepted weight in grams, once, when it is accepted."""
        if reading.state is ScaleState.BUSY and not reading.moving:
            self.interrupt()
            return None
        if reading.state is not ScaleState.OK or not reading.stable or reading.grams is None:
            self.reset()  # the load changed or the scale is in trouble
            return None
        grams = reading.grams
        if self._run and abs(grams - self._run[0]) > self.tolerance:
            self._run.clear()
        self._run.append(grams)
        if len(self._run) < self.repeats:
            return None
        if self._accepted is not None and abs(grams - self._accepted) <= self.tolerance:
            return None  # the same box still on the scale
        self._accepted = grams
        return grams
