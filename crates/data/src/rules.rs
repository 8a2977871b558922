//! The value rules of the schemas (finite, positive, not empty, ...): one check
//! each, failing with a [`Broken`] rule that says, in the words of the error
//! messages, what is wrong with the value. Writers check before writing and
//! readers after reading, with the same functions, so both report a bad value
//! alike ([`DataError::InvalidValue`](crate::DataError::InvalidValue)).

use std::fmt;
use std::path::Path;

use crate::error::DataError;

/// A value rule a value breaks, with the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Broken {
    /// NaN or infinite.
    NotFinite(f64),
    /// Not finite, or not above zero.
    NotPositive(f64),
    /// Not finite, or below zero.
    Negative(f64),
    /// Not finite, or zero.
    ZeroOrNotFinite(f64),
    /// Finite but below 1.
    BelowOne(f64),
    /// A whole number not above zero.
    NotPositiveWhole(i64),
    /// An empty string.
    Empty,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite(v) => write!(f, "must be finite, got {v}"),
            Self::NotPositive(v) => write!(f, "must be finite and > 0, got {v}"),
            Self::Negative(v) => write!(f, "must be finite and >= 0, got {v}"),
            Self::ZeroOrNotFinite(v) => write!(f, "must be finite and non-zero, got {v}"),
            Self::BelowOne(v) => write!(f, "must be at least 1, got {v}"),
            Self::NotPositiveWhole(v) => write!(f, "must be > 0, got {v}"),
            Self::Empty => f.write_str("must not be empty"),
        }
    }
}

impl Broken {
    /// The [`DataError::InvalidValue`] for this value at `row` of `column` in
    /// `path`.
    pub(crate) fn at(self, path: &Path, row: usize, column: &str) -> DataError {
        DataError::invalid(path, row, column, self.to_string())
    }
}

/// A broken rule and the column whose value broke it (the row is the caller's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BadValue {
    /// The column.
    pub(crate) column: &'static str,
    /// What is wrong with its value.
    pub(crate) broken: Broken,
}

impl BadValue {
    /// The [`DataError::InvalidValue`] for this value at `row` of `path`.
    pub(crate) fn at(self, path: &Path, row: usize) -> DataError {
        self.broken.at(path, row, self.column)
    }
}

/// Tags a rule check with its column: `finite(x).map_err(column("rate"))`.
pub(crate) fn column(name: &'static str) -> impl Fn(Broken) -> BadValue {
    move |broken| BadValue {
        column: name,
        broken,
    }
}

/// A finite float.
#[inline]
pub(crate) fn finite(value: f64) -> Result<(), Broken> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Broken::NotFinite(value))
    }
}

/// A finite float above zero.
#[inline]
pub(crate) fn positive(value: f64) -> Result<(), Broken> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Broken::NotPositive(value))
    }
}

/// A finite float not below zero.
#[inline]
pub(crate) fn non_negative(value: f64) -> Result<(), Broken> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Broken::Negative(value))
    }
}

/// A finite float other than zero.
#[inline]
pub(crate) fn non_zero(value: f64) -> Result<(), Broken> {
    if value.is_finite() && value != 0.0 {
        Ok(())
    } else {
        Err(Broken::ZeroOrNotFinite(value))
    }
}

/// A finite float of at least 1 (a multiplier).
#[inline]
pub(crate) fn at_least_one(value: f64) -> Result<(), Broken> {
    finite(value)?;
    if value >= 1.0 {
        Ok(())
    } else {
        Err(Broken::BelowOne(value))
    }
}

/// A whole number above zero.
#[inline]
pub(crate) fn positive_whole(value: i64) -> Result<(), Broken> {
    if value > 0 {
        Ok(())
    } else {
        Err(Broken::NotPositiveWhole(value))
    }
}

/// A string that is not empty.
#[inline]
pub(crate) fn non_empty(value: &str) -> Result<(), Broken> {
    if value.is_empty() {
        Err(Broken::Empty)
    } else {
        Ok(())
    }
}

/// Checks that every `(column, length)` has `expected` values, the length of
/// the column named `reference`.
///
/// # Errors
/// [`DataError::LengthMismatch`] naming the first column of another length.
pub(crate) fn check_lengths(
    path: &Path,
    (reference, expected): (&str, usize),
    lengths: &[(&str, usize)],
) -> Result<(), DataError> {
    match lengths.iter().find(|(_, found)| *found != expected) {
        None => Ok(()),
        Some((column, found)) => Err(DataError::LengthMismatch {
            path: Some(path.to_owned()),
            column: (*column).to_owned(),
            reference: format!("column `{reference}`"),
            expected,
            found: *found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_their_words() {
        assert!(finite(-1.0).is_ok());
        assert!(finite(f64::INFINITY).is_err());
        assert!(positive(0.0).is_err());
        assert!(positive(f64::NAN).unwrap_err().to_string().contains("NaN"));
        assert!(non_negative(0.0).is_ok());
        assert!(non_negative(-0.5).unwrap_err().to_string().contains("-0.5"));
        assert!(non_zero(0.0).is_err() && non_zero(-2.0).is_ok());
        assert!(non_empty("").is_err());
        assert_eq!(
            at_least_one(0.5).unwrap_err().to_string(),
            "must be at least 1, got 0.5"
        );
        assert_eq!(
            at_least_one(f64::NAN).unwrap_err().to_string(),
            "must be finite, got NaN"
        );
        assert_eq!(
            positive_whole(0).unwrap_err().to_string(),
            "must be > 0, got 0"
        );
        let err = check_lengths(Path::new("t"), ("a", 2), &[("a", 2), ("b", 1)]).unwrap_err();
        assert!(
            matches!(err, DataError::LengthMismatch { ref column, found: 1, .. } if column == "b")
        );
    }
}
