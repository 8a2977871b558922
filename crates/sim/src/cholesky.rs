//! The Cholesky factor of a correlation matrix.
//!
//! Pure linear algebra at the bottom of the crate: the scenario's validation
//! uses it to check that a `correlation.matrix` is a correlation matrix (positive
//! definite included), and the path models use the factor to correlate their
//! innovations (`crate::paths::models`).

/// Why a matrix is not a usable correlation matrix: a phrase that follows the
/// matrix's name in a message (`` `path.correlation.matrix`: is not symmetric: … ``).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CorrelationMatrixError {
    /// Not one row per market.
    #[error("has {rows} rows, expected one per market ({markets})")]
    Rows {
        /// Rows given.
        rows: usize,
        /// Markets.
        markets: usize,
    },
    /// A row of the wrong length.
    #[error("is not square: row {row} has {len} entries, expected {n}")]
    NotSquare {
        /// Row index.
        row: usize,
        /// Its length.
        len: usize,
        /// Rows.
        n: usize,
    },
    /// An entry outside [-1, 1] (or not finite).
    #[error("has entry [{i}][{j}] = {value} outside [-1, 1]")]
    OutOfRange {
        /// Row.
        i: usize,
        /// Column.
        j: usize,
        /// Entry.
        value: f64,
    },
    /// A diagonal entry other than 1.
    #[error("has diagonal entry [{i}][{i}] = {value}, expected 1")]
    Diagonal {
        /// Row and column.
        i: usize,
        /// Entry.
        value: f64,
    },
    /// `C[i][j] ≠ C[j][i]` beyond 1e-12.
    #[error("is not symmetric: [{i}][{j}] = {value} but [{j}][{i}] = {mirror}")]
    NotSymmetric {
        /// Row.
        i: usize,
        /// Column.
        j: usize,
        /// `C[i][j]`.
        value: f64,
        /// `C[j][i]`.
        mirror: f64,
    },
    /// A pivot at or below 1e-12.
    #[error(
        "is not positive definite (pivot {pivot} is {value:.3e}): some markets are perfectly or inconsistently correlated"
    )]
    NotPositiveDefinite {
        /// Pivot index.
        pivot: usize,
        /// Its value.
        value: f64,
    },
}

/// The lower-triangular Cholesky factor `L` of a correlation matrix (`L·Lᵀ = C`).
#[derive(Clone, Debug, PartialEq)]
pub struct Cholesky {
    n: usize,
    /// Row-major `n × n`, zero above the diagonal.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors `matrix`, checking that it is a `markets × markets` correlation
    /// matrix: square, symmetric (to 1e-12), unit diagonal, entries in [-1, 1],
    /// positive definite (every pivot > 1e-12).
    ///
    /// # Errors
    /// What is wrong ([`CorrelationMatrixError`], a phrase to follow the matrix's
    /// name: `"is not symmetric: …"`).
    pub fn new(matrix: &[Vec<f64>], markets: usize) -> Result<Cholesky, CorrelationMatrixError> {
        check_shape(matrix, markets)?;
        let n = matrix.len();
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = matrix[i][j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    if s <= 1e-12 {
                        return Err(CorrelationMatrixError::NotPositiveDefinite {
                            pivot: i,
                            value: s,
                        });
                    }
                    l[i * n + i] = s.sqrt();
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        Ok(Cholesky { n, l })
    }

    /// Number of markets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the factor is empty (no market).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Entry `(i, j)` of `L`.
    #[must_use]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.l[i * self.n + j]
    }

    /// `z ← L·z`, in place: row `i` only reads `z[..=i]`, so rows go last to first.
    pub fn correlate(&self, z: &mut [f64]) {
        debug_assert_eq!(z.len(), self.n);
        for i in (0..self.n).rev() {
            let row = &self.l[i * self.n..i * self.n + i + 1];
            z[i] = row.iter().zip(&z[..=i]).map(|(a, b)| a * b).sum();
        }
    }
}

/// Square, one row per market, entries in [-1, 1], unit diagonal, symmetric.
fn check_shape(matrix: &[Vec<f64>], markets: usize) -> Result<(), CorrelationMatrixError> {
    use CorrelationMatrixError as E;
    let n = matrix.len();
    if n != markets {
        return Err(E::Rows { rows: n, markets });
    }
    for (i, row) in matrix.iter().enumerate() {
        if row.len() != n {
            return Err(E::NotSquare {
                row: i,
                len: row.len(),
                n,
            });
        }
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
                return Err(E::OutOfRange { i, j, value: v });
            }
        }
        if row[i] != 1.0 {
            return Err(E::Diagonal { i, value: row[i] });
        }
    }
    for (i, row) in matrix.iter().enumerate() {
        for (j, &v) in row.iter().enumerate().take(i) {
            if (v - matrix[j][i]).abs() > 1e-12 {
                return Err(E::NotSymmetric {
                    i,
                    j,
                    value: v,
                    mirror: matrix[j][i],
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_reproduces_the_matrix() {
        let c = vec![
            vec![1.0, 0.5, -0.3],
            vec![0.5, 1.0, 0.2],
            vec![-0.3, 0.2, 1.0],
        ];
        let l = Cholesky::new(&c, 3).unwrap();
        for (i, row) in c.iter().enumerate() {
            for (j, want) in row.iter().enumerate() {
                let v: f64 = (0..3).map(|k| l.get(i, k) * l.get(j, k)).sum();
                assert!((v - want).abs() < 1e-14, "({i},{j}) {v}");
            }
        }
    }

    #[test]
    fn messages_follow_the_matrix_name() {
        let e = Cholesky::new(&[vec![1.0, 1.0], vec![1.0, 1.0]], 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "is not positive definite (pivot 1 is 0.000e0): some markets are perfectly or \
             inconsistently correlated"
        );
        let e = Cholesky::new(&[vec![1.0, 0.5], vec![0.4, 1.0]], 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "is not symmetric: [1][0] = 0.4 but [0][1] = 0.5"
        );
    }
}
