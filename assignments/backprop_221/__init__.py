"""Backpropagation by hand in a 2-2-1 sigmoid network."""

from neurograde import Limits, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="backprop-2-2-1", title="Backpropagation in a 2-2-1 network", order=30,
    summary="Feedforward, every gradient by the chain rule, and training on four people.",
    limits=Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512), datasets=("gender",))
