//! Value at risk and expected shortfall of a loss sample.

/// Historical VaR and expected shortfall of `losses` (positive = loss) at
/// `level` (e.g. 0.99). With the losses sorted ascending `L₁ ≤ … ≤ Lₙ` and
/// `k = ⌈level × n⌉`: `VaR = L_k`, the smallest loss not exceeded on a `level`
/// share of paths, and `ES = mean(L_k … Lₙ)`, the average of the losses at or
/// beyond it (so `ES ≥ VaR`). `(NaN, NaN)` for an empty sample.
pub fn var_es(losses: &[f64], level: f64) -> (f64, f64) {
    let n = losses.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut sorted = losses.to_vec();
    sorted.sort_by(f64::total_cmp);
    // ⌈level·n⌉ computed so that 0.99 × 100 gives 99, not 100 (float noise).
    let k = ((level * n as f64) - 1e-9).ceil().clamp(1.0, n as f64) as usize;
    let tail = &sorted[k - 1..];
    let var = sorted[k - 1];
    let es = tail.iter().sum::<f64>() / tail.len() as f64;
    (var, es)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_sample_worked_by_hand() {
        // 20 losses 1..=20: at 95% k = 19, VaR = 19, ES = (19 + 20) / 2.
        let losses: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(var_es(&losses, 0.95), (19.0, 19.5));
        // At 90%: k = 18, ES = (18 + 19 + 20) / 3.
        assert_eq!(var_es(&losses, 0.90), (18.0, 19.0));
        // 100 losses 0..99: at 99% k = 99, VaR = 98, ES = (98 + 99) / 2.
        let losses: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(var_es(&losses, 0.99), (98.0, 98.5));
        // One path: both are its loss.
        assert_eq!(var_es(&[5.0], 0.99), (5.0, 5.0));
        assert!(var_es(&[], 0.99).0.is_nan());
    }
}
