"""0-vs-1 MNIST with a ReLU hidden layer, a logistic output and cross-entropy."""

from neurograde import Limits, Metric, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="mnist-binary",
    title="Zeros and ones: ReLU, cross-entropy and standardised inputs", order=50,
    summary="A 784-10-1 network with a ReLU hidden layer and a logistic output tells MNIST's "
            "0s from 1s, trained by full-batch gradient descent on standardised pixels.",
    limits=Limits(wall_seconds=120, cpu_seconds=120, memory_mb=1536, threads=1),
    datasets=("mnist",), metric=Metric("test_error", higher_is_better=False, format="{:.2%}"),
    params={"full_credit_error": 0.003, "zero_credit_error": 0.01})
