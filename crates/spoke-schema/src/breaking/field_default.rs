//! Field default values as buf's FIELD_SAME_DEFAULT compares and prints
//! them: numbers (bool and enum included) compare by value across types,
//! strings and bytes by content, and values print the way Go's `%v` does.

use std::cmp::Ordering;

use prost_reflect::{Kind, Value};

use super::quote;

/// A field's effective default: the explicit `[default = …]`, or the zero
/// value of its type (an enum's first value).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FieldDefault {
    value: Comparable,
    /// The value as buf prints it in messages.
    pub(super) printable: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Comparable {
    /// A string or bytes default, compared byte for byte.
    Text(Vec<u8>),
    Bool(bool),
    Integer(i128),
    Float32(f32),
    Float64(f64),
}

impl FieldDefault {
    /// The default of a singular scalar or enum field of `kind` whose
    /// default value is `value`; `None` for values that cannot be defaults
    /// (messages, lists, maps).
    pub(super) fn new(kind: &Kind, value: &Value) -> Option<Self> {
        let (value, printable) = match value {
            Value::Bool(b) => (Comparable::Bool(*b), b.to_string()),
            Value::I32(n) => (Comparable::Integer((*n).into()), n.to_string()),
            Value::I64(n) => (Comparable::Integer((*n).into()), n.to_string()),
            Value::U32(n) => (Comparable::Integer((*n).into()), n.to_string()),
            Value::U64(n) => (Comparable::Integer((*n).into()), n.to_string()),
            Value::F32(f) => (Comparable::Float32(*f), go_float(f64::from(*f), true)),
            Value::F64(f) => (Comparable::Float64(*f), go_float(*f, false)),
            Value::String(s) => (Comparable::Text(s.as_bytes().to_vec()), quote(s)),
            Value::Bytes(bytes) => {
                let listed: Vec<String> = bytes.iter().map(|b| format!("0x{b:X}")).collect();
                (
                    Comparable::Text(bytes.to_vec()),
                    format!("[{}]", listed.join(",")),
                )
            }
            Value::EnumNumber(number) => {
                let Kind::Enum(enum_) = kind else {
                    return None;
                };
                let printable = match enum_.get_value(*number) {
                    Some(value) => format!("{}.{}", enum_.name(), value.name()),
                    None => format!("{}.{number}(?)", enum_.name()),
                };
                (Comparable::Integer((*number).into()), printable)
            }
            Value::Message(_) | Value::List(_) | Value::Map(_) => return None,
        };
        Some(Self { value, printable })
    }

    /// Whether this is its type's zero value (Go's `reflect.Value.IsZero`:
    /// `-0.0` and NaN are not zero).
    pub(super) fn is_zero(&self) -> bool {
        match &self.value {
            Comparable::Text(bytes) => bytes.is_empty(),
            Comparable::Bool(b) => !b,
            Comparable::Integer(n) => *n == 0,
            Comparable::Float32(f) => f.to_bits() == 0,
            Comparable::Float64(f) => f.to_bits() == 0,
        }
    }

    /// Whether the two defaults are the same value. Lenient across types
    /// (FIELD_SAME_TYPE reports type changes): text compares with text, and
    /// numbers, bools and enums with each other by numeric value.
    pub(super) fn same_as(&self, other: &Self) -> bool {
        match (&self.value, &other.value) {
            (Comparable::Text(a), Comparable::Text(b)) => a == b,
            (Comparable::Text(_), _) | (_, Comparable::Text(_)) => false,
            // A float/double change compares at float precision, so that
            // the double nearest a float's value counts as the same.
            (Comparable::Float32(a), Comparable::Float64(b))
            | (Comparable::Float64(b), Comparable::Float32(a)) => {
                (a.is_nan() && b.is_nan()) || *a == *b as f32
            }
            (a, b) => match (a.as_number(), b.as_number()) {
                (Number::NaN, Number::NaN) => true,
                (a, b) => a.compare(&b) == Some(Ordering::Equal),
            },
        }
    }
}

/// A numeric default, exactly.
enum Number {
    Integer(i128),
    Float(f64),
    NaN,
}

impl Comparable {
    fn as_number(&self) -> Number {
        match self {
            Comparable::Bool(b) => Number::Integer(i128::from(*b)),
            Comparable::Integer(n) => Number::Integer(*n),
            Comparable::Float32(f) if f.is_nan() => Number::NaN,
            Comparable::Float64(f) if f.is_nan() => Number::NaN,
            Comparable::Float32(f) => Number::Float(f64::from(*f)),
            Comparable::Float64(f) => Number::Float(*f),
            // Text never reaches here (handled by the caller).
            Comparable::Text(_) => Number::NaN,
        }
    }
}

impl Number {
    fn compare(&self, other: &Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Integer(a), Number::Integer(b)) => Some(a.cmp(b)),
            (Number::Float(a), Number::Float(b)) => a.partial_cmp(b),
            (Number::Integer(i), Number::Float(f)) => compare_integer_float(*i, *f),
            (Number::Float(f), Number::Integer(i)) => {
                compare_integer_float(*i, *f).map(Ordering::reverse)
            }
            (Number::NaN, _) | (_, Number::NaN) => None,
        }
    }
}

/// Compares an integer with a float without rounding either (every
/// integral `f64` within ±2^127 converts to `i128` exactly).
fn compare_integer_float(integer: i128, float: f64) -> Option<Ordering> {
    if float.is_nan() {
        return None;
    }
    const LIMIT: f64 = 1.7014118346046923e38; // 2^127
    if float >= LIMIT {
        return Some(Ordering::Less);
    }
    if float < -LIMIT {
        return Some(Ordering::Greater);
    }
    let truncated = float.trunc();
    // In range, so the cast is exact.
    let whole = truncated as i128;
    match integer.cmp(&whole) {
        Ordering::Equal if float > truncated => Some(Ordering::Less),
        Ordering::Equal if float < truncated => Some(Ordering::Greater),
        ordering => Some(ordering),
    }
}

/// Formats a float like Go's `%v`: the shortest representation that
/// round-trips (at `float` precision when `single`), in exponent form when
/// the exponent is below -4 or at least 6 (e.g. `1e+06`, `1.5e-07`).
pub(super) fn go_float(value: f64, single: bool) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` is the shortest round-trip form, e.g. `-1.5e-7`.
    let scientific = if single {
        format!("{:e}", value as f32)
    } else {
        format!("{value:e}")
    };
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        );
    }
    // Plain form: place the decimal point `exponent + 1` digits in.
    let point = exponent + 1;
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point.unsigned_abs() as usize;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{plain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(0.5, false), "0.5");
        assert_eq!(go_float(0.25, false), "0.25");
        assert_eq!(go_float(1.5, true), "1.5");
        assert_eq!(go_float(0.1, true), "0.1");
        assert_eq!(go_float(100000.0, false), "100000");
        assert_eq!(go_float(1_000_000.0, false), "1e+06");
        assert_eq!(go_float(1_234_567.0, false), "1.234567e+06");
        assert_eq!(go_float(0.0001, false), "0.0001");
        assert_eq!(go_float(0.00001, false), "1e-05");
        assert_eq!(go_float(-1.5e-7, false), "-1.5e-07");
        assert_eq!(go_float(0.0, false), "0");
        assert_eq!(go_float(-0.0, false), "-0");
        assert_eq!(go_float(1e300, false), "1e+300");
        assert_eq!(go_float(f64::INFINITY, false), "+Inf");
        assert_eq!(go_float(f64::NEG_INFINITY, false), "-Inf");
        assert_eq!(go_float(f64::NAN, false), "NaN");
    }

    fn default(value: Value) -> FieldDefault {
        FieldDefault::new(&Kind::Int32, &value).unwrap()
    }

    #[test]
    fn numbers_compare_across_types() {
        assert!(default(Value::I32(1)).same_as(&default(Value::Bool(true))));
        assert!(default(Value::U64(u64::MAX)).same_as(&default(Value::U64(u64::MAX))));
        assert!(!default(Value::I64(-1)).same_as(&default(Value::U64(u64::MAX))));
        assert!(default(Value::F32(0.1)).same_as(&default(Value::F64(0.1))));
        assert!(!default(Value::F64(0.1)).same_as(&default(Value::F64(0.2))));
        assert!(default(Value::F64(3.0)).same_as(&default(Value::I32(3))));
        assert!(!default(Value::F64(3.5)).same_as(&default(Value::I32(3))));
        assert!(default(Value::F64(f64::NAN)).same_as(&default(Value::F32(f32::NAN))));
        assert!(!default(Value::String("7".into())).same_as(&default(Value::I64(7))));
        assert!(
            default(Value::String("ab".into()))
                .same_as(&default(Value::Bytes(b"ab".to_vec().into())))
        );
    }

    #[test]
    fn zero_is_go_zero() {
        assert!(default(Value::F64(0.0)).is_zero());
        assert!(!default(Value::F64(-0.0)).is_zero());
        assert!(!default(Value::F64(f64::NAN)).is_zero());
        assert!(default(Value::String(String::new())).is_zero());
        assert!(default(Value::Bool(false)).is_zero());
    }
}
