"""XOR with a 2-H-1 network: tanh hidden layer, sigmoid output, cross-entropy."""

from neurograde import Limits, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="xor", title="XOR: a hidden layer that learns", order=35,
    summary="A 2-H-1 network with a tanh hidden layer and a sigmoid output, trained from scratch "
            "with binary cross-entropy.",
    limits=Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512),
    params={"xor_seeds": 9, "xor_min_seeds": 5, "xor_hidden": 4})
