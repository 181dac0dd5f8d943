"""rejected@9: attribute 'format_map'

str.format_map, the same attribute walk with a mapping of arguments.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    ctx.trace("{c.__class__.__module__}".format_map({"c": ctx}))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
