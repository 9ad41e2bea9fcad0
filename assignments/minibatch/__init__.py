"""Stochastic, batch and mini-batch gradient descent over a provided gradient."""

from neurograde import Limits, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="minibatch", title="Stochastic, batch and mini-batch gradient descent", order=36,
    summary="Three update loops over a given gradient function: one example, all examples, "
            "or a shuffled batch at a time.",
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512))
