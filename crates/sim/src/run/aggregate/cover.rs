//! Cover-1 and Cover-2: the stressed shortfall of the largest accounts.

/// Cover-1 and Cover-2 across paths (the CPMI-IOSCO "cover" standard applied to
/// a venue's accounts): on each path, the deficit of the account that left the
/// largest one, and of the two largest together; across paths, the worst of each.
/// The insurance fund covers the venue's Cover-2 if it is at least that large.
/// `largest` holds each path's `(largest, second largest)` deficit.
pub fn cover(largest: &[(f64, f64)]) -> (f64, f64) {
    largest.iter().fold((0.0, 0.0), |(c1, c2), &(a, b)| {
        (f64::max(c1, a), f64::max(c2, a + b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_single_and_pair_may_come_from_different_paths() {
        // Path 0 has the largest single deficit, path 1 the largest pair.
        assert_eq!(cover(&[(10.0, 0.0), (7.0, 6.0), (1.0, 1.0)]), (10.0, 13.0));
        assert_eq!(cover(&[]), (0.0, 0.0));
    }
}
