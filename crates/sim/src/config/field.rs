//! Field errors: a key path and what is wrong with the value there, and the
//! range checks every validation uses (one wording for each rule).

use super::key_path::KeyPath;
use crate::money::MAX_USD;

/// A validation failure: the key path and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct FieldError {
    /// Where: `market.btc.tiers[1].mmr`.
    pub key: KeyPath,
    /// What is wrong.
    pub message: String,
}

/// The result of one check.
pub type Check = Result<(), FieldError>;

/// A key path written in the code (`"controls.oracle.noise"`), in the one dialect
/// of [`KeyPath::parse`].
pub fn key(text: &'static str) -> KeyPath {
    debug_assert!(
        KeyPath::parse(text).is_ok(),
        "Invariant: {text} is a key path"
    );
    KeyPath::parse(text).unwrap_or_else(|_| KeyPath::from(text))
}

/// Fails with `message` at `key`.
pub fn fail(key: KeyPath, message: impl Into<String>) -> Check {
    Err(FieldError {
        key,
        message: message.into(),
    })
}

/// A finite number.
pub fn finite(key: &KeyPath, x: f64) -> Check {
    if x.is_finite() {
        Ok(())
    } else {
        fail(key.clone(), format!("must be a finite number, got {x}"))
    }
}

/// A finite number above zero.
pub fn positive(key: &KeyPath, x: f64) -> Check {
    finite(key, x)?;
    if x > 0.0 {
        Ok(())
    } else {
        fail(key.clone(), format!("must be positive, got {x}"))
    }
}

/// A finite number at least zero.
pub fn non_negative(key: &KeyPath, x: f64) -> Check {
    finite(key, x)?;
    if x >= 0.0 {
        Ok(())
    } else {
        fail(key.clone(), format!("must not be negative, got {x}"))
    }
}

/// A USD amount at least zero that integer micro-USD can hold with the engine's
/// headroom: at most [`MAX_USD`] (about 5.8e11 USD). Above it the amount is
/// refused with the limit, never zeroed or wrapped.
pub fn usd_amount(key: &KeyPath, x: f64) -> Check {
    non_negative(key, x)?;
    if x <= MAX_USD {
        Ok(())
    } else {
        fail(key.clone(), above_range(x))
    }
}

/// The message of a USD amount above [`MAX_USD`].
pub fn above_range(x: f64) -> String {
    format!(
        "{x:e} USD is above the largest amount the engine can hold, {MAX_USD:.3e} USD \
         (integer micro-USD in i64, with headroom for sums)"
    )
}

/// A number in `[0, 1]`; `what` names it in the message (`a fraction`).
pub fn in_unit(key: &KeyPath, x: f64, what: &str) -> Check {
    finite(key, x)?;
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        fail(
            key.clone(),
            format!("{what} must be between 0 and 1 (0% to 100%), got {x}"),
        )
    }
}

/// Degrees of freedom above 2 (a finite variance).
pub fn dof_above_2(key: &KeyPath, dof: f64) -> Check {
    finite(key, dof)?;
    if dof > 2.0 {
        Ok(())
    } else {
        fail(
            key.clone(),
            format!("degrees of freedom must be > 2 for a finite variance, got {dof}"),
        )
    }
}
