"""rejected@10: '%' formatting is not allowed

%-formatting with a * width taken from the arguments: "%*d" % (10**8, 1)
allocates a hundred megabytes in C.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    ctx.trace("%*d" % (10 ** 8, 1))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
