"""Reference solution of the throwaway `queue-echo` assignment."""


def double(x):
    return 2 * x
