//! An ordered set of `(key, slot)` entries, each with a value, answering
//! "Σ values of the entries above a key" in O(log n): a treap (a binary
//! search tree balanced by heap-ordered priorities) whose nodes carry the sum
//! of their subtree. The `pro_rata` ADL index (`adl_pro_rata.rs`) keeps the
//! lots of a side's positions in it, keyed by the price at which each stops
//! being in profit.
//!
//! Priorities are a hash of the entry's slot, not drawn from a generator: the
//! tree's shape (hence nothing at all) depends on no random state. A tree
//! built from sorted entries is perfectly balanced, its priorities set by
//! depth; entries inserted later get hashed priorities below those, so they
//! settle near the leaves as in a random treap.

/// Entry key: `(key, slot)`, unique per slot.
pub(super) type SumKey = (i64, u32);

/// "No node".
const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Node {
    key: SumKey,
    value: i64,
    sum: i64,
    priority: u32,
    left: u32,
    right: u32,
}

/// The treap; see the module documentation.
#[derive(Clone, Default)]
pub(super) struct SumTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: Option<u32>,
}

/// Priority of an entry inserted after the build: a hash of its key, below
/// every priority the build gives (those are `u32::MAX - depth`).
fn hashed_priority(key: SumKey) -> u32 {
    let mut z = (key.0 as u64) ^ (u64::from(key.1) << 32) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z as u32) >> 1
}

impl SumTree {
    /// Rebuilds the tree from entries sorted by key (strictly increasing), O(n).
    pub(super) fn build_sorted(&mut self, entries: &[(SumKey, i64)]) {
        debug_assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0),
            "Invariant: a sum tree is built from strictly increasing keys"
        );
        self.nodes.clear();
        self.free.clear();
        self.nodes.extend(entries.iter().map(|&(key, value)| Node {
            key,
            value,
            sum: value,
            priority: 0,
            left: NIL,
            right: NIL,
        }));
        let root = self.build_range(0, entries.len(), 0);
        self.root = (root != NIL).then_some(root);
    }

    /// Links `nodes[lo..hi]` into a balanced subtree at `depth`; returns its root.
    fn build_range(&mut self, lo: usize, hi: usize, depth: u32) -> u32 {
        if lo >= hi {
            return NIL;
        }
        let mid = lo + (hi - lo) / 2;
        let left = self.build_range(lo, mid, depth + 1);
        let right = self.build_range(mid + 1, hi, depth + 1);
        let sum = self.sum_of(left) + self.sum_of(right);
        let n = &mut self.nodes[mid];
        n.left = left;
        n.right = right;
        n.sum += sum;
        n.priority = u32::MAX - depth;
        mid as u32
    }

    fn sum_of(&self, n: u32) -> i64 {
        if n == NIL {
            0
        } else {
            self.nodes[n as usize].sum
        }
    }

    fn update(&mut self, n: u32) {
        let node = self.nodes[n as usize];
        self.nodes[n as usize].sum = node.value + self.sum_of(node.left) + self.sum_of(node.right);
    }

    /// Splits the subtree `n` into (keys ≤ `key`, keys > `key`).
    fn split(&mut self, n: u32, key: SumKey) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        let node = self.nodes[n as usize];
        if node.key <= key {
            let (l, r) = self.split(node.right, key);
            self.nodes[n as usize].right = l;
            self.update(n);
            (n, r)
        } else {
            let (l, r) = self.split(node.left, key);
            self.nodes[n as usize].left = r;
            self.update(n);
            (l, n)
        }
    }

    /// Joins two subtrees, every key of `a` below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority >= self.nodes[b as usize].priority {
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.update(a);
            a
        } else {
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.update(b);
            b
        }
    }

    /// Inserts `key` (not present) with `value`, O(log n) expected: down the
    /// path while the nodes outrank the new one (adding `value` to their sums),
    /// then the subtree met there is split around it.
    pub(super) fn insert(&mut self, key: SumKey, value: i64) {
        let priority = hashed_priority(key);
        let mut parent = NIL;
        let mut n = self.root.unwrap_or(NIL);
        while n != NIL && self.nodes[n as usize].priority >= priority {
            let node = &mut self.nodes[n as usize];
            node.sum += value;
            parent = n;
            n = if key < node.key {
                node.left
            } else {
                node.right
            };
        }
        let (left, right) = self.split(n, key);
        let node = Node {
            key,
            value,
            sum: value + self.sum_of(left) + self.sum_of(right),
            priority,
            left,
            right,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.attach(parent, key, id);
    }

    /// Makes `child` (keys around `key`) the child of `parent` on `key`'s side,
    /// or the root.
    fn attach(&mut self, parent: u32, key: SumKey, child: u32) {
        if parent == NIL {
            self.root = (child != NIL).then_some(child);
        } else if key < self.nodes[parent as usize].key {
            self.nodes[parent as usize].left = child;
        } else {
            self.nodes[parent as usize].right = child;
        }
    }

    /// Removes `key` (present, with `value`), O(log n) expected: down the path
    /// (subtracting `value` from the sums), then the node's two subtrees are
    /// merged in its place.
    pub(super) fn remove(&mut self, key: SumKey, value: i64) {
        let mut parent = NIL;
        let mut n = self.root.unwrap_or(NIL);
        while n != NIL && self.nodes[n as usize].key != key {
            let node = &mut self.nodes[n as usize];
            node.sum -= value;
            parent = n;
            n = if key < node.key {
                node.left
            } else {
                node.right
            };
        }
        debug_assert!(
            n != NIL,
            "Invariant: a sum tree removes only a key it holds"
        );
        if n == NIL {
            return;
        }
        let node = self.nodes[n as usize];
        debug_assert_eq!(node.value, value, "Invariant: removed with its value");
        let merged = self.merge(node.left, node.right);
        self.attach(parent, key, merged);
        self.free.push(n);
    }

    /// Σ values of the entries with keys above `key`, O(log n).
    pub(super) fn sum_above(&self, key: SumKey) -> i64 {
        let mut sum = 0;
        let mut n = self.root.unwrap_or(NIL);
        while n != NIL {
            let node = &self.nodes[n as usize];
            if node.key > key {
                sum += node.value + self.sum_of(node.right);
                n = node.left;
            } else {
                n = node.right;
            }
        }
        sum
    }

    /// Σ of every value.
    pub(super) fn total(&self) -> i64 {
        self.sum_of(self.root.unwrap_or(NIL))
    }

    /// Calls `f` on every entry with key ≤ `key`, in key order, O(log n + k).
    pub(super) fn for_each_up_to(&self, key: SumKey, f: &mut impl FnMut(SumKey, i64)) {
        self.visit_up_to(self.root.unwrap_or(NIL), key, f);
    }

    fn visit_up_to(&self, n: u32, key: SumKey, f: &mut impl FnMut(SumKey, i64)) {
        if n == NIL {
            return;
        }
        let node = self.nodes[n as usize];
        self.visit_up_to(node.left, key, f);
        if node.key <= key {
            f(node.key, node.value);
            self.visit_up_to(node.right, key, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn sums_and_walks_match_a_sorted_map_through_inserts_and_removes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..200 {
            let n = rng.random_range(0..60usize);
            let mut map: BTreeMap<SumKey, i64> = BTreeMap::new();
            for _ in 0..n {
                let k = (rng.random_range(-5..5i64), rng.random_range(0..20u32));
                map.insert(k, rng.random_range(1..100));
            }
            let mut tree = SumTree::default();
            let sorted: Vec<(SumKey, i64)> = map.iter().map(|(&k, &v)| (k, v)).collect();
            tree.build_sorted(&sorted);
            for _ in 0..80 {
                let k = (rng.random_range(-5..5i64), rng.random_range(0..20u32));
                if let Some(v) = map.remove(&k) {
                    tree.remove(k, v);
                } else {
                    let v = rng.random_range(1..100);
                    map.insert(k, v);
                    tree.insert(k, v);
                }
                let q = (rng.random_range(-6..6i64), rng.random_range(0..21u32));
                let want: i64 = map
                    .range((std::ops::Bound::Excluded(q), std::ops::Bound::Unbounded))
                    .map(|(_, v)| v)
                    .sum();
                assert_eq!(tree.sum_above(q), want, "case {case}");
                assert_eq!(tree.total(), map.values().sum::<i64>(), "case {case}");
                let mut seen = Vec::new();
                tree.for_each_up_to(q, &mut |k, v| seen.push((k, v)));
                let want: Vec<(SumKey, i64)> = map.range(..=q).map(|(&k, &v)| (k, v)).collect();
                assert_eq!(seen, want, "case {case}");
            }
        }
    }
}
