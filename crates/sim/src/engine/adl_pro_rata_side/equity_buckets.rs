//! The `pro_rata` side's positions by equity per lot, for the one query a gap
//! makes: every position whose equity per lot is below the loss per lot (its
//! lots are capped at `equity / loss`).
//!
//! It replaced a `BTreeSet<(equity per lot, slot)>` re-keyed at almost every
//! fill (a fill changes both the winner's equity and its lots), a fifth of the
//! 100,000-account crash once the lots order was made cheap. The query needs
//! no order (its caller sorts what it finds), so the slots sit in unordered
//! lists, one per bucket of equity per lot on a log scale (four buckets per
//! power of two); a re-key moves a slot only when its bucket changes, which a
//! fill of a lot or two rarely does. The query reads every bucket below the
//! loss's (all below the loss) and filters the loss's own.

/// Buckets: four per power of two of an `i64`, plus one for values ≤ 0.
const BUCKETS: usize = 4 * 64 + 1;

/// End of a bucket's list.
const NIL: u32 = u32::MAX;

/// The bucket of equity per lot `v`: non-decreasing in `v`.
fn bucket(v: i64) -> usize {
    if v <= 0 {
        return 0;
    }
    let log = 63 - v.leading_zeros() as usize;
    let sub = if log >= 2 {
        (v >> (log - 2)) as usize & 3
    } else {
        (v as usize) & 3
    };
    1 + 4 * log + sub
}

/// A slot's place in its bucket's list.
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
}

const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
};

/// See the module documentation.
#[derive(Clone)]
pub(in crate::engine) struct EquityBuckets {
    /// Per bucket: its first slot (`NIL`: empty).
    heads: Vec<u32>,
    /// Per slot: its place in its bucket's list (meaningful while held).
    links: Vec<Link>,
}

impl Default for EquityBuckets {
    fn default() -> Self {
        Self {
            heads: vec![NIL; BUCKETS],
            links: Vec::new(),
        }
    }
}

impl EquityBuckets {
    /// Empties the lists (the per-slot links are overwritten as slots come in).
    pub(in crate::engine) fn clear(&mut self) {
        self.heads.clear();
        self.heads.resize(BUCKETS, NIL);
    }

    /// Adds `slot` with equity per lot `v` (not held).
    pub(in crate::engine) fn insert(&mut self, v: i64, slot: u32) {
        let s = slot as usize;
        if self.links.len() <= s {
            self.links.resize(s + 1, UNLINKED);
        }
        let b = bucket(v);
        let head = self.heads[b];
        self.links[s] = Link {
            prev: NIL,
            next: head,
        };
        if head != NIL {
            self.links[head as usize].prev = slot;
        }
        self.heads[b] = slot;
    }

    /// Removes `slot`, held with equity per lot `v`.
    pub(in crate::engine) fn remove(&mut self, v: i64, slot: u32) {
        let Link { prev, next } = self.links[slot as usize];
        if prev == NIL {
            let b = bucket(v);
            debug_assert_eq!(
                self.heads[b], slot,
                "Invariant: the equity buckets remove only what they hold"
            );
            self.heads[b] = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next != NIL {
            self.links[next as usize].prev = prev;
        }
    }

    /// Moves `slot` from equity per lot `old` to `new`: nothing to do while
    /// its bucket is the same.
    pub(in crate::engine) fn rekey(&mut self, slot: u32, old: i64, new: i64) {
        if bucket(old) != bucket(new) {
            self.remove(old, slot);
            self.insert(new, slot);
        }
    }

    /// Reads `slot`'s links (nothing else): see `ProRataSide::touch`.
    pub(in crate::engine) fn touch(&self, slot: u32) -> u64 {
        self.links
            .get(slot as usize)
            .map_or(0, |l| u64::from(l.prev) ^ u64::from(l.next))
    }

    /// The slots that may have equity per lot below `loss`: every slot of the
    /// buckets up to `loss`'s, in no particular order (the caller filters
    /// with the current values).
    pub(in crate::engine) fn up_to(&self, loss: i64) -> impl Iterator<Item = u32> + '_ {
        let last = bucket(loss);
        let mut b = 0;
        let mut s = self.heads[0];
        std::iter::from_fn(move || {
            while s == NIL {
                if b >= last {
                    return None;
                }
                b += 1;
                s = self.heads[b];
            }
            let slot = s;
            s = self.links[slot as usize].next;
            Some(slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn buckets_are_monotone() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut prev = (i64::MIN, 0);
        let mut values: Vec<i64> = (0..5000)
            .map(|_| {
                let shift = rng.random_range(0..62);
                rng.random_range(-10..i64::MAX >> shift)
            })
            .collect();
        values.extend([0, 1, 2, 3, 4, 5, 7, 8, i64::MAX]);
        values.sort_unstable();
        for v in values {
            let b = bucket(v);
            assert!(b >= prev.1 && b < BUCKETS, "{v} after {prev:?}");
            prev = (v, b);
        }
    }

    /// Through random inserts, removes and re-keys, `up_to` (filtered) finds
    /// exactly the slots below the query.
    #[test]
    fn up_to_finds_every_slot_below_the_loss() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for case in 0..200 {
            let mut held: Vec<Option<i64>> = vec![None; 300];
            let mut buckets = EquityBuckets::default();
            for _ in 0..600 {
                let s = rng.random_range(0..300u32);
                let width = rng.random_range(1..40);
                let v = rng.random_range(-5..1i64 << width);
                match held[s as usize] {
                    Some(old) if rng.random_bool(0.3) => {
                        buckets.remove(old, s);
                        held[s as usize] = None;
                    }
                    Some(old) => {
                        buckets.rekey(s, old, v);
                        held[s as usize] = Some(v);
                    }
                    None => {
                        buckets.insert(v, s);
                        held[s as usize] = Some(v);
                    }
                }
            }
            let loss = rng.random_range(0..1i64 << 40);
            let mut want: Vec<u32> = (0..300u32)
                .filter(|&s| held[s as usize].is_some_and(|v| v < loss))
                .collect();
            let mut got: Vec<u32> = buckets
                .up_to(loss)
                .filter(|&s| held[s as usize].is_some_and(|v| v < loss))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "case {case}");
            let listed = buckets.up_to(i64::MAX).count();
            assert_eq!(listed, held.iter().flatten().count(), "case {case}");
        }
    }
}
