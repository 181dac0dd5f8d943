"""rejected@10: 'type' is not available

type() hands out a class, and from a class its __mro__, __subclasses__ and
the __globals__ of its methods; with three arguments it creates one.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = type(ctx)
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
