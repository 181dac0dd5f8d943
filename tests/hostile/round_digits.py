"""rejected@18: round()'s ndigits must be a constant

round(x, -10**8) computes 10**(10**8) in C: minutes out of reach of the
back-edge counter and the clock.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    x = round(request.nr_to_scan, -request.nr_to_scan * 10 ** 8)
    return []
