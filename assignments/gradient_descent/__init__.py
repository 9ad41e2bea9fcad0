"""Gradient descent on a function of one variable."""

from neurograde import Limits, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="gradient-descent", title="Gradient descent", order=15,
    summary="Minimise x⁴ − 3x³ + 2 by following the derivative downhill; stop on precision, "
            "report divergence.",
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512))
