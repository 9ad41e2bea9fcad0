"""Built-in datasets: MNIST, scikit-learn digits, the gender table and XOR."""

from plugins import hookimpl


@hookimpl
def neurograde_register_datasets():
    return []
