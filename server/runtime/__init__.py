"""The grading runtime: the queue, grading workers and their process pool, without Flask."""
