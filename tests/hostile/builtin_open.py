"""rejected@9: 'open' is not available

open() reads and writes the host's files.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = open("/etc/passwd").read()
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
