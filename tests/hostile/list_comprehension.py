"""rejected@18: list comprehensions are not allowed

A comprehension's loop runs in its own frame where the verifier's
back-edge counter is not inserted: an uncounted loop.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    squares = [i * i for i in range(10 ** 9)]
    return []
