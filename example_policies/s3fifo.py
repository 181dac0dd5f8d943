"""S3-FIFO: a small FIFO filters out folios used once, a main FIFO keeps the rest.

Yang, Zhang, Qiu, Yue and Vinayak, "FIFO queues are all you need for cache
eviction", SOSP 2023, as libCacheSim 0.3.5 implements it (S3FIFO.c, its
"12/4/24" version), whose miss counts this policy matches in exact cache
mode from C = 20 pages on (tests/test_example_s3fifo.py). For a memory of
C pages, per lruvec and type:

- small (S) is a FIFO of new folios, its share floor(C/10); main (M) is a
  FIFO of the folios that proved themselves, the rest. Each resident folio
  counts its uses (folio_data), from 0 when it enters S or M.
- ghost (G) remembers the floor(9C/10) folios most recently evicted from S
  (a ghost list: ids only, no memory).
- A missed folio found in G goes to M; any other goes to S.
- Eviction takes from S while S holds at least its share, else (or when
  S is empty) from M. S, from its oldest: a folio used twice or more
  moves to M's head with its count reset to 0; the first one used less
  leaves memory and enters G. M, from its oldest: a folio used at least
  once goes back to M's head with its count lowered (a 2-bit CLOCK); the
  first unused one leaves memory, and G does not remember it.

Where libCacheSim differs from the paper, this follows libCacheSim:
- warm-up: until the first eviction, a new folio goes straight to M once
  S holds its share;
- a folio moved from S to M restarts at count 0, and the move evicts
  nothing from M at once (the paper's evictS evicts from a full M): M
  holds more than its share until S falls below its own;
- G holds floor(0.9 C) ids, not |M|;
- a hit in G counts at lookup, before the eviction it causes makes room
  (exact cache mode learns it in on_refault, which runs before that
  eviction with the folio resident: it marks the folio for M there);
- counts have no cap in libCacheSim while a folio is resident, but every
  decision reads min(count, 3) (promotion at 2, M's reinsertion at
  min(count, 3) - 1); here counts saturate at 3, the same decisions.

Small memories: libCacheSim aborts below C = 10 (its S would hold no
object) and caches nothing from 10 to 19 (it refuses an object as large as
S). Here S's share is at least one folio and G's size floor(9C/10) (no G
for C = 1), so every C works; the comparison with libCacheSim starts at
C = 20.

In the simulated machine (anon and file, several lruvecs, batches):
- C is the node's memory (ctx.node_pages): S's warm-up limit and G's size
  for each lruvec and type. S's share at eviction is a tenth of the folios
  the type's S and M hold (exactly C in exact cache mode, where memory is
  full whenever something is evicted; the type's part of the node in the
  machine).
- Uses through a mapping reach no hook: a young PTE (ctx.folio_referenced,
  which clears it) counts as one use when reclaim looks at the folio. It
  looks at a queue's oldest folios CHUNK at a time; a folio of the chunk
  that eviction did not reach keeps the use for the next look.
- select_victims takes up to nr_to_scan victims, all from one queue: when
  eviction turns to the other queue it returns, and nr_used (the number of
  victims) has the core call again for the rest. Folios moved along the
  way count as scanned. After MAX_STEPS chunks a call gives up (exact
  cache mode calls again); a sweep of S that has met only folios to move
  goes on in the next call, as libCacheSim's evict_small goes on until it
  evicts (or S is empty) whatever the sizes have become.
- folio_putback: a folio reclaim could not free returns to the head of
  its own queue, one whose writeback ended to the tail, to be freed next.
- on_refault answers REFAULT_ACTIVATE for a hit in G: M counts as active.
- The core hands every new folio with count 0 and no policy flags (both
  hosts clear folio_data and the flags when a folio enters memory).

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback, folio_evicted, on_refault.
Helpers: node_pages, lruvec_node, list_create, ghost_list_create, list_add,
list_del, list_len, list_peek, folio_lruvec, folio_type, folio_flags,
folio_set_flags, folio_data, folio_set_data, folio_referenced.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64
IN_MAIN = PG_policy0  # the folio's queue is M (clear: S)
PROMOTE = 2  # uses in S that earn a place in M (libCacheSim's move_to_main_threshold)
MAX_USES = 3  # counts saturate here: M's 2-bit CLOCK reads no more
CHUNK = 32  # folios of a queue looked at together
MAX_STEPS = 256  # chunks one select_victims call looks at

# what eviction is doing in a (lruvec, type)
WARMING_UP = 0  # nothing evicted yet
EVICTING = 1
SWEEPING_SMALL = 2  # evicting, in the middle of a sweep of S that has not evicted yet

# each keyed lruvec * 2 + type
SMALL = ArrayMap(MAX_LRUVECS * 2)
MAIN = ArrayMap(MAX_LRUVECS * 2)
GHOST = ArrayMap(MAX_LRUVECS * 2)
SMALL_SIZE = ArrayMap(MAX_LRUVECS * 2)  # S's share of C, for the warm-up
GHOST_SIZE = ArrayMap(MAX_LRUVECS * 2)
STATE = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        pages = ctx.node_pages(ctx.lruvec_node(lruvec))
        for lru_type in LRU_TYPES:
            key = lruvec * 2 + lru_type
            SMALL.update(key, ctx.list_create(lruvec, lru_type, False, "s3fifo-small"))
            MAIN.update(key, ctx.list_create(lruvec, lru_type, True, "s3fifo-main"))
            GHOST.update(key, ctx.ghost_list_create(lruvec, lru_type, "s3fifo-ghost"))
            SMALL_SIZE.update(key, max(1, pages // 10))
            GHOST_SIZE.update(key, pages * 9 // 10)


def keys_of(ctx, folios):
    return ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)


def add(ctx, folios, tail):
    """Each folio to the head (or the tail) of its queue; in one call per
    queue when the batch is all of one lruvec and type, as it almost always is."""
    if len(folios) == 0:
        return
    keys = keys_of(ctx, folios)
    if len(folios[keys != keys[0]]) == 0:
        add_to_queues(ctx, keys[0], folios, tail)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            add_to_queues(ctx, key, folios[keys == key], tail)


def add_to_queues(ctx, key, folios, tail):
    if len(folios) == 0:
        return
    small = SMALL.lookup(key)
    if STATE.lookup(key) == WARMING_UP:  # (never so for a putback: it follows select_victims)
        fresh = folios[(ctx.folio_flags(folios) & IN_MAIN) == 0]
        ctx.folio_set_flags(fresh[max(0, SMALL_SIZE.lookup(key) - ctx.list_len(small)):], IN_MAIN)
    in_main = (ctx.folio_flags(folios) & IN_MAIN) != 0
    ctx.list_add(small, folios[~in_main], tail)
    ctx.list_add(MAIN.lookup(key), folios[in_main], tail)


def folio_added(ctx, folios):
    add(ctx, folios, False)


def on_refault(ctx, folios, refault):
    """A folio found in G goes to M (folio_added reads the mark)."""
    in_ghost = refault.ghost >= 0
    back = folios[in_ghost]
    if len(back) == 0:
        return None
    ctx.folio_set_flags(back, IN_MAIN)
    return in_ghost * REFAULT_ACTIVATE


def folio_accessed(ctx, folios):
    # one by one: a folio used twice in the batch appears twice, and every
    # use counts (no helper adds to folio_data once per occurrence)
    for folio in folios:
        uses = ctx.folio_data(folio)
        if uses < MAX_USES:
            ctx.folio_set_data(folio, uses + 1)


def uses_of(ctx, folios):
    """Each folio's count of uses, a young PTE counted (and kept) as one more."""
    uses = ctx.folio_data(folios)
    young = ctx.folio_referenced(folios) > 0
    if len(folios[young]) == 0:
        return uses
    uses = uses + young
    uses = uses - (uses > MAX_USES)
    ctx.folio_set_data(folios, uses)
    return uses


def select_victims(ctx, request):
    """libCacheSim's evictions one after another, up to nr_to_scan of them,
    walking a chunk of a queue's oldest folios at a time. A victim stays at
    the tail of its queue (what lay between moved away) until the core
    takes it, so the next chunk starts past the `taken` ones."""
    key = request.lruvec * 2 + request.lru_type
    small = SMALL.lookup(key)
    main = MAIN.lookup(key)
    sweeping = STATE.lookup(key) == SWEEPING_SMALL
    nr_small = ctx.list_len(small)
    nr_main = ctx.list_len(main)
    share = max(1, (nr_small + nr_main) // 10)
    queue = small  # the victims' queue
    taken = 0
    looked = 0
    for step in range(MAX_STEPS):
        if taken >= request.nr_to_scan:
            break
        # the next eviction's queue: S if it holds its share, or its sweep
        # is under way; else M (libCacheSim: M if |M| > its share or S is empty)
        small_left = nr_small - taken if queue == small else nr_small
        if small_left > 0 and (sweeping or small_left >= share):
            lst = small
        elif nr_main - (taken if queue == main else 0) > 0:
            lst = main
        else:
            break
        if taken > 0 and lst != queue:
            break
        queue = lst
        oldest = ctx.list_peek(lst, taken + CHUNK)[taken:]
        uses = uses_of(ctx, oldest)
        if lst == small:
            moves = uses >= PROMOTE  # to M
        else:
            moves = uses > 0  # back to M's head
        moved = 0
        seen = 0
        for i in range(min(len(moves), CHUNK)):
            seen = i + 1
            if moves[i]:
                moved += 1
                sweeping = lst == small
                continue
            taken += 1
            sweeping = False
            if taken >= request.nr_to_scan:
                break
            # M's evictions leave S as it is: only S's can turn to M
            if lst == small and nr_small - moved - taken < share:
                break
        movers = oldest[:seen][moves[:seen]]
        if lst == small:
            ctx.folio_set_data(movers, 0)
            ctx.folio_set_flags(movers, IN_MAIN)
            nr_small -= moved
            nr_main += moved
        else:
            ctx.folio_set_data(movers, uses[:seen][moves[:seen]] - 1)
        ctx.list_add(main, movers)
        looked += seen
    STATE.update(key, SWEEPING_SMALL if sweeping else EVICTING)
    return Victims(ctx.list_peek(queue, taken), min(looked, nr_small + nr_main), None, taken)


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free goes back to the head of its queue; a
    folio whose writeback ended to the tail, to be freed next."""
    rotate = reasons == PutbackReason.ROTATE
    add(ctx, folios[~rotate], False)
    add(ctx, folios[rotate], True)


def folio_evicted(ctx, folios):
    """Folios evicted from S enter G."""
    from_small = folios[(ctx.folio_flags(folios) & IN_MAIN) == 0]
    if len(from_small) == 0:
        return
    keys = keys_of(ctx, from_small)
    if len(from_small[keys != keys[0]]) == 0:
        remember(ctx, keys[0], from_small)
        return
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            remember(ctx, key, from_small[keys == key])


def remember(ctx, key, folios):
    """Into G at its head; G forgets its oldest beyond its size."""
    size = GHOST_SIZE.lookup(key)
    if len(folios) == 0 or size == 0:
        return
    ghost = GHOST.lookup(key)
    ctx.list_add(ghost, folios)
    excess = ctx.list_len(ghost) - size
    if excess > 0:
        ctx.list_del(ctx.list_peek(ghost, excess))
