"""rejected@14: recursion: pong -> ping -> pong

Mutual recursion through two functions, which no check of one function
alone can see.
"""
INTERFACE_VERSION = (1, 1)


def ping(n):
    return pong(n + 1)


def pong(n):
    return ping(n + 1)


def policy_init(ctx):
    ping(0)


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
