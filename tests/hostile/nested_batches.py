"""rejected@21: more than the limit of 1,000,000

Two nested loops over folio batches: each is bounded (4096 folios a call),
their product (16 million) is not within the limit.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []


def folio_putback(ctx, folios, reasons):
    n = 0
    for folio in folios:
        for reason in reasons:
            n += 1
