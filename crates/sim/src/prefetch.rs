//! A cache prefetch hint: the one place the crate uses `unsafe`.
//!
//! The engine's "touch" passes read, in a loop of their own, the lines a
//! batch of accounts will need (an ADL close's winners, the accounts a
//! step breached), so that their cache misses overlap instead of coming one
//! account at a time. A plain load does that only as far as the processor's
//! reorder window reaches: every load must complete before it retires, so a
//! pass over dozens of accounts stalls with a few of them in flight. A
//! prefetch instruction retires at once and leaves the line on its way to
//! the cache, so the whole batch's misses are in flight together
//! (docs/performance.md, "ADL fills, round 10").

/// Asks for the cache line holding `*r` to be brought into the first-level
/// cache ahead of use. A hint only: reads nothing the program sees, changes
/// nothing, cannot fault. A no-op on other architectures than x86-64.
#[inline(always)]
pub(crate) fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `r` is a reference, so the address is valid; and a prefetch
    // of any address cannot fault and reads nothing architecturally (it only
    // moves a line into the cache), so no memory rule of Rust's is involved.
    unsafe {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(r).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

#[cfg(test)]
mod tests {
    use super::prefetch;

    #[test]
    fn a_prefetch_changes_nothing() {
        let v: Vec<u64> = (0..1000).collect();
        for x in &v {
            prefetch(x);
        }
        prefetch(&v);
        assert_eq!(v, (0..1000).collect::<Vec<u64>>());
    }
}
