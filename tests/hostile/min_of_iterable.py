"""rejected@17: min() takes two or more values here

min() over one iterable loops in C: min(range(10**18)) never returns.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    x = min(range(10 ** 18))
    return []
