"""A vectorized sigmoid network on scikit-learn's 8×8 digits."""

from neurograde import Limits, Metric, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="digits", title="Small digits: a vectorized network on 8×8 images", order=37,
    summary="A 64-H-10 sigmoid network with vectorized backpropagation and mini-batch SGD; "
            "the same functions then scale to MNIST.",
    limits=Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512, threads=1),
    datasets=("digits",), metric=Metric("accuracy", format="{:.4f}"),
    params={"full_credit_accuracy": 0.95, "zero_credit_accuracy": 0.90})
