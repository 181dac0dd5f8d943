"""rejected@11: 'eval' is not available

eval spelt in fullwidth letters, which Python folds to plain ASCII (NFKC,
PEP 3131) before it looks the name up: a check of the source text would
find no eval; the parsed name is eval.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = ｅｖａｌ("ctx._core")
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
