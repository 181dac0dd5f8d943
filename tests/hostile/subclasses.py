"""rejected@11: begins with an underscore

The classic Python sandbox escape: from any object up to object, down to
every class loaded, to one whose __init__.__globals__ holds os
(RestrictedPython issue #142; Ned Batchelder, "Eval really is dangerous").
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    classes = ().__class__.__bases__[0].__subclasses__()
    ctx.trace(str(classes))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
