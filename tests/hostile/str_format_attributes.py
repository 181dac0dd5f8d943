"""rejected@11: attribute 'format'

str.format walks the attributes of its arguments inside the format string,
where no _getattr_ guard sees them (Armin Ronacher, "Be Careful with Python's
New-Style String Format"; GHSA-xjw2-6jm9-rf67).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    ctx.trace("{0.__class__.__init__.__globals__}".format(ctx))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
