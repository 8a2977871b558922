//! The lots of a side's positions by profit threshold (`adl_pro_rata.rs`):
//! Σ lots of the positions whose threshold is above a price, in O(log n) plus
//! the positions of one bucket, with updates in O(log n).
//!
//! The thresholds are bucketed (a fixed number of buckets of 2^shift ticks
//! over the range seen at the build, the outermost buckets open-ended) into a
//! Fenwick tree of bucket sums; the entries themselves are kept in one
//! unordered list per bucket (linked through a per-slot array), read only for
//! the bucket the query price falls in. A Fenwick update and a list move are a
//! few array writes with no search, which is what the ADL's many small fills
//! re-key: a filled winner's break-even price moves with every fill.

/// Entry key: `(threshold, slot)`, unique per slot.
pub(super) type ThresholdKey = (i64, u32);

/// End of a bucket's list.
const NIL: u32 = u32::MAX;

/// A slot's place in its bucket's list.
#[derive(Clone, Copy, Debug)]
struct Link {
    /// Previous slot of the bucket (`NIL`: the slot is the bucket's head).
    prev: u32,
    /// Next slot of the bucket (`NIL`: the last).
    next: u32,
    /// The slot's threshold.
    threshold: i64,
}

const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
    threshold: 0,
};

/// See the module documentation.
#[derive(Clone, Default)]
pub(super) struct ThresholdSums {
    /// Lowest threshold of the build (start of bucket 1's predecessor).
    base: i64,
    /// Bucket width, log2 ticks.
    shift: u32,
    /// Fenwick tree of bucket sums, 1-based.
    tree: Vec<i64>,
    /// Σ of every value.
    total: i64,
    /// Per bucket: the first slot of its list (`NIL`: empty).
    heads: Vec<u32>,
    /// Per slot: its place in its bucket's list (meaningful only while held).
    links: Vec<Link>,
}

impl ThresholdSums {
    /// Rebuilds from `(key, value)` entries (any order; values positive).
    pub(super) fn build(&mut self, entries: &[(ThresholdKey, i64)]) {
        let lo = entries.iter().map(|e| e.0.0).min().unwrap_or(0);
        let hi = entries.iter().map(|e| e.0.0).max().unwrap_or(0);
        let buckets = entries.len().next_power_of_two().clamp(1024, 1 << 20);
        let range = (i128::from(hi) - i128::from(lo)) as u128;
        let mut shift = 0;
        while (range >> shift) >= buckets as u128 {
            shift += 1;
        }
        self.base = lo;
        self.shift = shift;
        self.tree.clear();
        self.tree.resize(buckets + 1, 0);
        self.total = 0;
        self.heads.clear();
        self.heads.resize(buckets, NIL);
        for &(key, value) in entries {
            let b = self.bucket(key.0);
            self.tree[b + 1] += value;
            self.total += value;
            self.link(key);
        }
        for i in 1..=buckets {
            let parent = i + (i & i.wrapping_neg());
            if parent <= buckets {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    /// The bucket of threshold `t` (0-based).
    fn bucket(&self, t: i64) -> usize {
        let last = self.tree.len().saturating_sub(2);
        let offset = i128::from(t) - i128::from(self.base);
        if offset <= 0 {
            return 0;
        }
        usize::try_from(offset >> self.shift).map_or(last, |b| b.min(last))
    }

    fn add(&mut self, t: i64, value: i64) {
        let n = self.tree.len() - 1;
        let mut i = self.bucket(t) + 1;
        while i <= n {
            self.tree[i] += value;
            i += i & i.wrapping_neg();
        }
        self.total += value;
    }

    /// Σ of the buckets up to `b` (inclusive).
    fn prefix(&self, b: usize) -> i64 {
        let mut i = b + 1;
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// Puts `key`'s slot at the head of its bucket's list.
    fn link(&mut self, (t, slot): ThresholdKey) {
        let s = slot as usize;
        if self.links.len() <= s {
            self.links.resize(s + 1, UNLINKED);
        }
        let b = self.bucket(t);
        let head = self.heads[b];
        self.links[s] = Link {
            prev: NIL,
            next: head,
            threshold: t,
        };
        if head != NIL {
            self.links[head as usize].prev = slot;
        }
        self.heads[b] = slot;
    }

    /// Takes `key`'s slot out of its bucket's list.
    fn unlink(&mut self, (t, slot): ThresholdKey) {
        let Link {
            prev,
            next,
            threshold,
        } = self.links[slot as usize];
        debug_assert_eq!(
            threshold, t,
            "Invariant: threshold sums remove only a key they hold"
        );
        if prev == NIL {
            let b = self.bucket(t);
            debug_assert_eq!(self.heads[b], slot, "Invariant: a bucket's head is held");
            self.heads[b] = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next != NIL {
            self.links[next as usize].prev = prev;
        }
    }

    /// Inserts `key` (not present) with `value` (positive).
    pub(super) fn insert(&mut self, key: ThresholdKey, value: i64) {
        debug_assert!(value > 0, "Invariant: threshold sums hold positive values");
        self.link(key);
        self.add(key.0, value);
    }

    /// Removes `key` (present, with `value`).
    pub(super) fn remove(&mut self, key: ThresholdKey, value: i64) {
        self.unlink(key);
        self.add(key.0, -value);
    }

    /// Replaces `old` (present, with `old_value`) by `new` with `new_value`
    /// (positive): the slot's list moves only when its bucket changes.
    pub(super) fn replace(
        &mut self,
        old: ThresholdKey,
        old_value: i64,
        new: ThresholdKey,
        new_value: i64,
    ) {
        if old.1 == new.1 && self.bucket(old.0) == self.bucket(new.0) {
            debug_assert!(
                new_value > 0,
                "Invariant: threshold sums hold positive values"
            );
            debug_assert_eq!(
                self.links[old.1 as usize].threshold, old.0,
                "Invariant: threshold sums replace only a key they hold"
            );
            self.links[old.1 as usize].threshold = new.0;
            if old_value != new_value {
                self.add(old.0, new_value - old_value);
            }
            return;
        }
        self.remove(old, old_value);
        self.insert(new, new_value);
    }

    /// Σ of every value.
    pub(super) fn total(&self) -> i64 {
        self.total
    }

    /// The slots of bucket `b`, in list order.
    fn bucket_slots(&self, b: usize) -> impl Iterator<Item = u32> + '_ {
        let mut s = self.heads[b];
        std::iter::from_fn(move || {
            let slot = s;
            if slot == NIL {
                return None;
            }
            s = self.links[slot as usize].next;
            Some(slot)
        })
    }

    /// Σ values of the entries with threshold above `x`; `value(slot)` gives
    /// the value of an entry of the bucket `x` falls in.
    pub(super) fn sum_above(&self, x: i64, value: impl Fn(u32) -> i64) -> i64 {
        if self.tree.len() < 2 {
            return 0;
        }
        let b = self.bucket(x);
        let mut sum = self.total - self.prefix(b);
        for slot in self.bucket_slots(b) {
            if self.links[slot as usize].threshold > x {
                sum += value(slot);
            }
        }
        sum
    }

    /// The first bucket after the first `after` buckets whose sum is
    /// positive (values are positive: the non-empty buckets), O(log n).
    fn next_nonempty(&self, after: usize) -> Option<usize> {
        let n = self.tree.len().checked_sub(1)?;
        if n == 0 || after >= n {
            return None;
        }
        let below = if after == 0 {
            0
        } else {
            self.prefix(after - 1)
        };
        // The largest `pos` with prefix(pos buckets) ≤ below: bucket `pos` is
        // the first beyond it.
        let (mut pos, mut rest, mut step) = (0, below, 1 << n.ilog2());
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= rest {
                pos = next;
                rest -= self.tree[next];
            }
            step >>= 1;
        }
        (pos < n).then_some(pos)
    }

    /// The keys with threshold at most `x`, in no particular order.
    pub(super) fn up_to(&self, x: i64) -> impl Iterator<Item = ThresholdKey> + '_ {
        let last = if self.tree.len() < 2 {
            None
        } else {
            Some(self.bucket(x))
        };
        let mut b = last.and_then(|_| self.next_nonempty(0));
        let mut slots = b.map(|b| self.bucket_slots(b));
        std::iter::from_fn(move || {
            loop {
                let (bucket, last) = (b?, last?);
                if bucket > last {
                    return None;
                }
                if let Some(slot) = slots.as_mut()?.next() {
                    let t = self.links[slot as usize].threshold;
                    if t <= x {
                        return Some((t, slot));
                    }
                    continue;
                }
                b = self.next_nonempty(bucket + 1);
                slots = b.map(|b| self.bucket_slots(b));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn sums_match_a_plain_scan_through_inserts_and_removes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..300 {
            // Narrow ranges (one tick per bucket, many entries a tick) and
            // wide ones (many ticks per bucket).
            let spread = if case % 2 == 0 { 5 } else { 1_000_000_000 };
            let mut by_slot: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
            for slot in 0..rng.random_range(0..60u32) {
                let t = rng.random_range(-spread..spread);
                by_slot.insert(slot, (t, rng.random_range(1..100)));
            }
            let mut sums = ThresholdSums::default();
            let entries: Vec<(ThresholdKey, i64)> =
                by_slot.iter().map(|(&s, &(t, v))| ((t, s), v)).collect();
            sums.build(&entries);
            for _ in 0..80 {
                let slot = rng.random_range(0..80u32);
                if let Some((t, v)) = by_slot.remove(&slot) {
                    if rng.random_range(0..2) == 0 {
                        sums.remove((t, slot), v);
                    } else {
                        // Same key (new value) or a new key.
                        let nt = if rng.random_range(0..2) == 0 {
                            t
                        } else {
                            t + 1
                        };
                        let nv = rng.random_range(1..100);
                        sums.replace((t, slot), v, (nt, slot), nv);
                        by_slot.insert(slot, (nt, nv));
                    }
                } else {
                    // Thresholds outside the built range too.
                    let t = rng.random_range(-3 * spread..3 * spread);
                    let v = rng.random_range(1..100);
                    by_slot.insert(slot, (t, v));
                    sums.insert((t, slot), v);
                }
                let x = rng.random_range(-4 * spread..4 * spread);
                let want: i64 = by_slot.values().filter(|e| e.0 > x).map(|e| e.1).sum();
                let got = sums.sum_above(x, |slot| by_slot[&slot].1);
                assert_eq!(got, want, "case {case}");
                assert_eq!(sums.total(), by_slot.values().map(|e| e.1).sum::<i64>());
                let mut want_up: Vec<ThresholdKey> = by_slot
                    .iter()
                    .filter(|(_, e)| e.0 <= x)
                    .map(|(&s, e)| (e.0, s))
                    .collect();
                want_up.sort_unstable();
                let mut got_up: Vec<ThresholdKey> = sums.up_to(x).collect();
                got_up.sort_unstable();
                assert_eq!(got_up, want_up, "case {case}");
            }
        }
    }
}
