"""The sigmoid neuron: σ, its derivative and one neuron's output."""

from neurograde import Limits, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="sigmoid", title="The sigmoid neuron", order=10,
    summary="σ(z), its derivative and the output of a single neuron.",
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512))
