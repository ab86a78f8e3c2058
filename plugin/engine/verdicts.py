"""What a check can end in besides a pass: a failure, or "inconclusive" on a machine too busy to judge."""

from __future__ import annotations

# How every inconclusive verdict starts: `pytest --solutions` and the contract know one by it.
TOO_BUSY = "inconclusive: this machine was too busy to judge"


class KataFailure(AssertionError):
    """A check failed. The message is complete: the plugin shows it instead of a traceback."""


class Inconclusive(KataFailure):
    """A check failed on a machine too busy to judge it: run it again. Never a pass."""

    @classmethod
    def because(cls, why: str) -> "Inconclusive":
        """The verdict of a check that the machine left unable to judge, for the reason `why`."""
        return cls(f"{TOO_BUSY} ({why}); run it again.")


INCONCLUSIVE = (
    TOO_BUSY + " ({percent}% of the time waiting for a CPU); run it again. "
    "What was measured:"
)
# The share of a run's wall time the loop thread may spend waiting for a CPU before a failed
# check that load alone can fail is called inconclusive.
INCONCLUSIVE_SHARE = 0.25
# A step long enough to block that the sampler never saw: the loop was busy, but whose code kept
# it busy is not known. A check of blocks that finds none cannot pass on that.
UNJUDGED = (
    TOO_BUSY + " (a step of the event loop ran {wall_ms:.0f} ms, "
    "{cpu_ms:.0f} ms of it computing, and the sampler that tells whose code it was never got a CPU "
    "meanwhile); run it again."
)
