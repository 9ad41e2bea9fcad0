"""Mean squared error: the loss and its gradient."""

from neurograde import Limits, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="mse-loss", title="Mean squared error loss", order=20,
    summary="The loss that measures how wrong a network is, and its gradient.",
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512))
