"""Vectorized backpropagation on MNIST."""

from neurograde import Limits, Metric, assignment_hook

neurograde_register_assignments = assignment_hook(
    __file__, slug="mnist", title="Handwritten digits: vectorized backpropagation on MNIST",
    order=40, summary="A sigmoid network trained with mini-batch gradient descent, from scratch.",
    limits=Limits(wall_seconds=300, cpu_seconds=300, memory_mb=2048, threads=1),
    datasets=("mnist",), metric=Metric("accuracy", format="{:.4f}"),
    params={"full_credit_accuracy": 0.95, "zero_credit_accuracy": 0.90,
            "vectorization_ratio": 8.0, "time_budget_seconds": 180, "dataset": "mnist"},
    rubrics={"default": {"description": "full credit from 95 % accuracy, linear partial credit "
                                        "from 90 %, backprop within 8× the reference's CPU time"},
             "strict": {"params": {"full_credit_accuracy": 0.97, "zero_credit_accuracy": 0.92,
                                   "vectorization_ratio": 6.0},
                        "description": "full credit from 97 % accuracy (partial from 92 %), "
                                       "backprop within 6× the reference's CPU time"}})
