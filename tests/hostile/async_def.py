"""rejected@10: async functions are not allowed

A coroutine function: calling it runs nothing and hands out a coroutine
object, with cr_frame (the frame walk) and a body that runs whenever someone
awaits it.
"""
INTERFACE_VERSION = (1, 1)


async def later(ctx):
    ctx.trace("ran outside any hook")


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
