"""rejected@10: try statements are not allowed

A caught exception's traceback leads to tb_frame, the frame of whatever
raised it (the sandbox's guards raise): the way out is the try statement.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    try:
        x = 1 // 0
    except ZeroDivisionError as err:
        frame = err.__traceback__.tb_frame
        ctx.trace(str(frame.f_globals))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
