"""rejected@14: attribute 'cr_frame'

The same frame walk through a coroutine object, cr_frame instead of
gi_frame (simpleeval issue #138).
"""
INTERFACE_VERSION = (1, 1)


async def nothing():
    pass


def policy_init(ctx):
    frame = nothing().cr_frame
    ctx.trace(str(frame.f_globals))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
