"""rejected@18: starred expressions (*x) are not allowed

*args in a call unpacks in C, with no guard on its length: f(*range(10**9))
builds a billion-item tuple before f runs.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    n = max(*range(10 ** 9))
    return []
