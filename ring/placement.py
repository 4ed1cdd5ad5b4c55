"""The rebalance engine: move as few replicas as needed to meet the targets.

State is the builder's replica table (one u16 array per replica, a device id
per partition) and the minute each partition last moved. A rebalance:

1. places replicas that have no device (new ring, removed devices). When no
   replica survives at all, it lays the whole table out at once (``layout``);
2. repairs partitions whose replicas crowd a failure domain;
3. balances level by level, top down: a region above its target gives
   replicas to a region below it, then zones within a region, nodes within a
   zone, devices within a node. A move between siblings never changes the
   counts of their common ancestors, so each level can be settled in turn,
   and a domain that is over target as a whole may give from any of its
   devices (the level below then evens it out: a two-hop chain).

Steps 2 and 3 move at most one replica of a partition per rebalance and only
partitions that have not moved for ``min_part_hours``. Every placement goes
through ``_find``, which walks the failure-domain tree choosing domains the
partition does not crowd, preferring the ones with the most room.
"""

from __future__ import annotations

import itertools
import random
from array import array
from collections import Counter

from ring.layout import fresh_layout
from ring.targets import Topology

NONE = 0xFFFF
BALANCE_PASSES = 8
_MIX = 0x9E3779B1
_STRICT = (1, 1, 1, 1)
_LOOSE = (0, 0, 0, 0)
_RECHECK = 2048
_CHAIN_BUDGET = 512
_WITNESSES = 24


class Rebalancer:
    """One rebalance over a replica table, in place."""

    def __init__(
        self,
        topo: Topology,
        table: list[array],
        last_moved: array,
        *,
        now_minute: int,
        min_part_hours: int,
        rng: random.Random,
        overload: float = 0.0,
    ) -> None:
        self.topo = topo
        self.table = table
        self.last_moved = last_moved
        self.P = topo.partitions
        self.R = topo.replicas
        self.now = now_minute
        self.hold = min_part_hours * 60
        self.rng = rng
        self.overload = overload
        # moved[p]: 1 + the replica of p moved in this rebalance (0: none yet)
        self.moved = bytearray(self.P)
        self.moved_slots: list[int] = []
        self.size = len(topo.dom[3])
        count = [0] * self.size
        for col in table:
            for d, n in Counter(col).items():
                if d < self.size and topo.present[d]:
                    count[d] += n
        # room[level][x] = target - replicas held, for every domain and device
        self.room = [list(t) for t in topo.target] + [
            [topo.target_dev[d] - count[d] for d in range(self.size)]
        ]
        # drain[level][x]: replicas on devices of x whose target is zero
        self.drain = [[0] * len(t) for t in topo.target] + [[0] * self.size]
        for d in range(self.size):
            if topo.present[d]:
                for level in range(3):
                    self.room[level][topo.dom[level][d]] -= count[d]
                if not topo.target_dev[d]:
                    for level in range(4):
                        self.drain[level][topo.dom[level][d]] += count[d]

    # -- bookkeeping -----------------------------------------------------

    def _adjust(self, d: int, delta: int) -> None:
        if d >= self.size or not self.topo.present[d]:
            return
        dom, room = self.topo.dom, self.room
        for level in range(4):
            room[level][dom[level][d]] -= delta
        if not self.topo.target_dev[d]:
            for level in range(4):
                self.drain[level][dom[level][d]] += delta

    def _eligible(self, p: int, r: int) -> bool:
        """May replica r of p move? Once per partition per rebalance, and min_part_hours.

        A replica already moved in this rebalance may move on: that is still
        one move from where it was before.
        """
        if not self.hold:
            return True
        moved = self.moved[p]
        if moved:
            return moved == r + 1
        return self.now - self.last_moved[p] >= self.hold

    def _mark(self, p: int, r: int) -> None:
        if not self.moved[p]:
            self.moved_slots.append(p * self.R + r)
        self.moved[p] = r + 1
        self.last_moved[p] = self.now

    def _slack(self, level: int, x: int) -> int:
        """Imbalance not worth a move on its own: overload of target, at least one replica."""
        if self.drain[level][x]:
            return 0  # a device is being emptied: every replica of it should go
        target = self.topo.target[level][x] if level < 3 else self.topo.target_dev[x]
        return max(1, int(target * self.overload)) if target > 0 else 0

    # -- the walk --------------------------------------------------------

    def _find(
        self, p: int, mins: tuple[int, ...], level: int = 0, kids=None, floors: bool = True
    ) -> int:
        """A device for the empty slot of partition p, or -1.

        Starts at ``level`` among ``kids`` (default: all regions). A domain
        qualifies when the partition holds fewer replicas there than its cap
        and, when the partition lacks replicas in mandatory domains and has no
        slot to spare, when it is one of those; with ``mins[l]`` > 0 it also
        needs that much room. Among those, the most room wins.
        """
        topo = self.topo
        others = [d for d in (col[p] for col in self.table) if d != NONE]
        k = self.R - len(others)
        odom = [[topo.dom[lv][o] for o in others] for lv in range(3)]
        odom.append(others)
        deficit = [0, 0, 0, 0]
        for lv in range(4 if floors else 0):
            floor, od = topo.floor[lv], odom[lv]
            for x in topo.mandatory[lv]:
                short = floor[x] - od.count(x)
                if short > 0:
                    deficit[lv] += short
        salt = self.rng.getrandbits(32)
        if kids is None:
            kids = topo.roots
        return self._walk(level, kids, odom, deficit, k, mins, salt)

    def _walk(self, level, kids, odom, deficit, k, mins, salt) -> int:
        topo = self.topo
        cap, floor, od = topo.cap[level], topo.floor[level], odom[level]
        space, least = self.room[level], mins[level]
        must = 0 < deficit[level] >= k
        opts = []
        for x in kids:
            c = od.count(x)
            if c >= cap[x]:
                continue
            under = c < floor[x]
            if must and not under:
                continue
            s = space[x]
            if least and s < least:
                continue
            opts.append((under, s, ((x * _MIX) ^ salt) & 0xFFFFFFFF, x))
        if not opts:
            return -1
        if level == 3:
            return max(opts)[3]
        opts.sort(reverse=True)
        for opt in opts:
            found = self._walk(
                level + 1, topo.children[level][opt[3]], odom, deficit, k, mins, salt
            )
            if found >= 0:
                return found
        return -1

    def _fallback(self, p: int) -> int:
        """Any weighted device the partition does not use, most room first."""
        used = {col[p] for col in self.table}
        free = [d for d in self.topo.active if d not in used]
        return max(free, key=lambda d: (self.room[3][d], -d))

    def _place(self, p: int, r: int) -> None:
        """Fill the empty slot (p, r), dispersion first, then room."""
        dev = self._find(p, _STRICT)
        if dev < 0:
            dev = self._find(p, _LOOSE)
        if dev < 0:
            dev = self._find(p, _LOOSE, floors=False)
        if dev < 0:
            dev = self._fallback(p)
        self.table[r][p] = dev
        self._adjust(dev, +1)
        self._mark(p, r)

    def _try_move(self, p: int, r: int, mins: tuple[int, ...], level: int = 0, kids=None) -> bool:
        """Move replica r of p elsewhere if a qualifying device exists."""
        col = self.table[r]
        d = col[p]
        col[p] = NONE
        self._adjust(d, -1)
        new = self._find(p, mins, level, kids)
        if new < 0 or new == d:
            col[p] = d
            self._adjust(d, +1)
            return False
        col[p] = new
        self._adjust(new, +1)
        self._mark(p, r)
        return True

    # -- the phases ------------------------------------------------------

    def held(self) -> int:
        """Partitions min_part_hours keeps from moving (at the start of this rebalance)."""
        if not self.hold:
            return 0
        now, hold = self.now, self.hold
        return sum(1 for t in self.last_moved if now - t < hold)

    def run(self) -> None:
        empty = self._take_orphans()
        if len(empty) == self.P * self.R:
            self.layout()
            return
        self.rng.shuffle(empty)
        for slot in empty:
            p, r = divmod(slot, self.R)
            self._place(p, r)
        self._repair()
        self._balance()

    def _take_orphans(self) -> list[int]:
        """Empty the slots whose device left the ring; returns every empty slot."""
        present, size = self.topo.present, self.size
        empty: list[int] = []
        R = self.R
        for r, col in enumerate(self.table):
            if all(d < size and present[d] for d in set(col)):
                continue
            for p, d in enumerate(col):
                if d >= size or not present[d]:
                    if d != NONE:
                        col[p] = NONE
                    empty.append(p * R + r)
        return empty

    def layout(self) -> None:
        """Lay the whole table out afresh (see ring.layout): nothing survives to keep."""
        self.table[:] = fresh_layout(self.topo, self.rng)
        for level in range(4):
            self.room[level] = [0] * len(self.room[level])
        self.last_moved[:] = array(self.last_moved.typecode, [self.now]) * self.P

    def _repair(self) -> None:
        """Move one replica of each crowded partition (if it may move)."""
        for p in self.violations():
            for r in self._crowded_first(p):
                if not self._eligible(p, r):
                    continue
                d, was, stamp = self.table[r][p], self.moved[p], self.last_moved[p]
                if not (self._try_move(p, r, _STRICT) or self._try_move(p, r, _LOOSE)):
                    continue
                if self.partition_ok(p):
                    break
                # Not a fix: put it back and try another replica.
                self._adjust(self.table[r][p], -1)
                self.table[r][p] = d
                self._adjust(d, +1)
                self.moved[p], self.last_moved[p] = was, stamp
                if not was:
                    self.moved_slots.pop()

    def _crowded_first(self, p: int) -> list[int]:
        """Replica indexes of p, those sharing the most domains first (then the most over)."""
        topo = self.topo
        devs = [col[p] for col in self.table]
        paths = [tuple(topo.dom[level][d] for level in range(3)) for d in devs]

        def crowd(r: int) -> tuple:
            shared = tuple(sum(1 for q in paths if q[lv] == paths[r][lv]) for lv in range(3))
            return (shared, -self.room[3][devs[r]])

        return sorted(range(self.R), key=crowd, reverse=True)

    # -- balancing -------------------------------------------------------

    def _siblings(self, level: int, x: int) -> list[int]:
        topo = self.topo
        if level == 0:
            return topo.roots
        parent = topo.parent[level][x] if level < 3 else topo.dom[2][x]
        return topo.children[level - 1][parent]

    def _receivers(self, level: int, x: int) -> list[int]:
        """Siblings of an over-target domain x that may take one of its replicas."""
        excess = -self.room[level][x]
        if excess <= 0:
            return []
        slack = self._slack(level, x)
        need = 1 if excess > slack else slack + 1
        room = self.room[level]
        return [y for y in self._siblings(level, x) if y != x and room[y] >= need]

    def _balance(self) -> None:
        for _ in range(BALANCE_PASSES):
            moved = 0
            for level in range(4):
                for strict in (True, False):
                    moved += self._balance_level(level, strict)
            if moved:
                continue
            # Direct moves are stuck: try two-hop (or longer) chains.
            for level in range(4):
                moved += self._chains(level)
            if not moved:
                return

    def _givers(self, level: int) -> set[int]:
        room = self.room[level]
        return {x for x, r in enumerate(room) if r < 0 and self._receivers(level, x)}

    def _balance_level(self, level: int, strict: bool) -> int:
        """One sweep over the partitions moving replicas out of over-target domains."""
        givers = self._givers(level)
        if not givers:
            return 0
        topo, P, R = self.topo, self.P, self.R
        dom = topo.dom
        deeper = range(level + 1, 4)
        mins = _STRICT if strict else tuple(1 if lv == level else 0 for lv in range(4))
        start, stride = self.rng.randrange(P), self.rng.randrange(P) | 1
        # Replicas that already moved in this rebalance go first: moving them
        # on costs no extra move.
        again = list(self.moved_slots)
        moves = 0
        for i in range(len(again) + P):
            if i and i % _RECHECK == 0:
                givers = self._givers(level)
                if not givers:
                    break
            if i < len(again):
                p, only = divmod(again[i], R)
                replicas: range = range(only, only + 1)
            else:
                p, replicas = (start + (i - len(again)) * stride) % P, range(R)
            for r in replicas:
                if not self._eligible(p, r):
                    continue
                d = self.table[r][p]
                x = dom[level][d]
                if x not in givers or self.room[level][x] >= 0:
                    continue
                if strict and any(self.room[lv][dom[lv][d]] >= 0 for lv in deeper):
                    continue
                kids = self._receivers(level, x)
                if kids and self._try_move(p, r, mins, level, kids):
                    moves += 1
                    break
        return moves

    # -- chains --------------------------------------------------------

    def _chains(self, level: int) -> int:
        """Settle what direct moves could not, through siblings at target.

        When no partition of an over-target domain x may go to the under-target
        sibling y, one of x's may often go to a third sibling z, and one of z's
        to y. Such paths are found by breadth-first search over the siblings,
        with edges witnessed by sampled partitions, and executed from the end
        so that every hop lands in a domain with room.
        """
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for x in sorted(self._givers(level)):
            sib = self._siblings(level, x)
            extra = groups.setdefault(id(sib), (sib, []))[1]
            if x not in sib:
                extra.append(x)  # a domain without weight: not a sibling, still a giver
        moves = 0
        for sib, extra in groups.values():
            if not any(self.room[level][y] > 0 for y in sib):
                continue
            members = [*sib, *extra]
            wit = self._witnesses(level, members, sib)
            for _ in range(_CHAIN_BUDGET):
                path = self._path(level, members, sib, wit)
                if not path:
                    break
                done = self._run_path(level, path, wit)
                moves += done
                if not done:
                    break
        return moves

    def _witnesses(
        self, level: int, members: list[int], sib: list[int]
    ) -> dict[tuple[int, int], list[int]]:
        """Sample partitions: which replica could move from member u to sibling v.

        Replicas already moved in this rebalance are listed last, so they are
        used first: moving them on costs nothing extra.
        """
        P, R = self.P, self.R
        limit = min(P, max(2048, 400_000 // (R * len(sib))))
        start, stride = self.rng.randrange(P), self.rng.randrange(P) | 1
        sampled = ((start + i * stride) % P for i in range(limit))
        wit = self._witness_scan(level, members, sib, sampled, _WITNESSES)
        again = self._witness_scan(level, members, sib, [s // R for s in self.moved_slots], P)
        for edge, slots in again.items():
            wit.setdefault(edge, []).extend(slots)
        return wit

    def _witness_scan(self, level, members, sib, parts, cap_each) -> dict[tuple[int, int], list]:
        member_set = set(members)
        cap, dm, R = self.topo.cap[level], self.topo.dom[level], self.R
        wit: dict[tuple[int, int], list[int]] = {}
        for p in parts:
            doms = [dm[col[p]] for col in self.table]
            for r, u in enumerate(doms):
                if u not in member_set or not self._eligible(p, r):
                    continue
                for v in sib:
                    if v == u or doms.count(v) >= cap[v]:
                        continue
                    got = wit.setdefault((u, v), [])
                    if len(got) < cap_each:
                        got.append(p * R + r)
        return wit

    def _path(self, level: int, members: list[int], sib: list[int], wit) -> list[int] | None:
        """Shortest sibling path from the most over-target domain to one that may receive."""
        room = self.room[level]
        for x in sorted((x for x in members if room[x] < 0), key=lambda x: room[x]):
            slack = self._slack(level, x)
            need = 1 if -room[x] > slack else slack + 1
            prev = {x: x}
            frontier = [x]
            while frontier:
                nxt = []
                for u in frontier:
                    for v in sib:
                        if v in prev or not wit.get((u, v)):
                            continue
                        prev[v] = u
                        if room[v] >= need:
                            path = [v]
                            while path[-1] != x:
                                path.append(prev[path[-1]])
                            return path[::-1]
                        nxt.append(v)
                frontier = nxt
        return None

    def _run_path(self, level: int, path: list[int], wit) -> int:
        """Move along the path, last hop first; returns the hops made."""
        mins = tuple(1 if lv == level else 0 for lv in range(4))
        done = 0
        for u, v in reversed(list(itertools.pairwise(path))):
            got = wit[(u, v)]
            while got:
                p, r = divmod(got.pop(), self.R)
                if not self._eligible(p, r) or self.topo.dom[level][self.table[r][p]] != u:
                    continue
                if self._try_move(p, r, mins, level, [v]):
                    done += 1
                    break
            else:
                return done
        return done

    # -- dispersion checks -----------------------------------------------

    def partition_ok(self, p: int) -> bool:
        devs = [col[p] for col in self.table]
        return all(self._tuple_ok(level, self._doms(level, devs)) for level in range(4))

    def _doms(self, level: int, devs: list[int]) -> tuple[int, ...]:
        dm = self.topo.dom[level]
        return tuple(dm[d] for d in devs)

    def _tuple_ok(self, level: int, doms: tuple[int, ...]) -> bool:
        topo = self.topo
        cap, floor = topo.cap[level], topo.floor[level]
        seen = Counter(doms)
        for x, n in seen.items():
            if x < 0 or n > max(cap[x], 1):
                return False
        return all(seen.get(x, 0) >= floor[x] for x in topo.mandatory[level])

    def violations(self) -> list[int]:
        """Partitions whose replicas break their domains' per-partition bounds."""
        topo, R = self.topo, self.R
        first_wide = next(lv for lv in range(4) if topo.n_active[lv] >= R)
        bad = bytearray(self.P)
        for level in range(first_wide):
            memo: dict[tuple[int, ...], bool] = {}
            cols = [self._domain_column(level, col) for col in self.table]
            for p, t in enumerate(zip(*cols, strict=True)):
                ok = memo.get(t)
                if ok is None:
                    ok = memo[t] = self._tuple_ok(level, t)
                if not ok:
                    bad[p] = 1
        cols = [self._domain_column(first_wide, col) for col in self.table]
        for p, t in enumerate(zip(*cols, strict=True)):
            if len(set(t)) < R:
                bad[p] = 1
        return [p for p in range(self.P) if bad[p]]

    def _domain_column(self, level: int, col: array) -> list[int] | array:
        if level == 3:
            return col
        dm = self.topo.dom[level]
        return [dm[d] for d in col]
