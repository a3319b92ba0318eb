//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte string a JSON value signs as.
//!
//! Members are sorted by the UTF-16 code units of their names, no whitespace is written,
//! strings are escaped minimally (`"`, `\`, and U+0000–U+001F only; `\b \t \n \f \r` by
//! name, the rest as `\u00xx` in lowercase hex), and numbers are written as ECMAScript's
//! `Number.prototype.toString` writes an IEEE-754 double (shortest round-trip digits; plain
//! notation from 1e-6 up to 1e21, exponent notation such as `1e+30` and `1.5e-50` outside
//! it). Integers are written exactly up to 2^53; a larger integer has no exact JCS form and
//! is refused rather than silently rounded.

use std::cmp::Ordering;
use std::fmt::Write;

use serde_json::{Map, Value};

/// Largest integer a double holds exactly (2^53).
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// The canonical form of `value`, or why it has none (a non-finite number, an integer
/// beyond 2^53).
pub fn canonicalize(value: &Value) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(1024);
    write_value(value, &mut out)?;
    Ok(out)
}

/// The canonical form of the object `members` without its member `skip`: what a signature
/// block inside an object covers, without copying the object.
pub fn canonicalize_without(
    members: &Map<String, Value>,
    skip: &str,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(1024);
    write_object(members, Some(skip), &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut String) -> std::result::Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u > MAX_EXACT_INTEGER {
                    return Err(format!("integer {u} is beyond 2^53: no exact JCS form"));
                }
                write!(out, "{u}").expect("writing to a String");
            } else if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > MAX_EXACT_INTEGER {
                    return Err(format!("integer {i} is beyond 2^53: no exact JCS form"));
                }
                write!(out, "{i}").expect("writing to a String");
            } else {
                let f = n.as_f64().ok_or("a number that is not a double")?;
                write_number(f, out)?;
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => write_object(members, None, out)?,
    }
    Ok(())
}

fn write_object(
    members: &Map<String, Value>,
    skip: Option<&str>,
    out: &mut String,
) -> std::result::Result<(), String> {
    let mut sorted: Vec<(&String, &Value)> = members
        .iter()
        .filter(|(name, _)| Some(name.as_str()) != skip)
        .collect();
    sorted.sort_by(|(a, _), (b, _)| utf16_order(a, b));
    out.push('{');
    for (i, (name, item)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(name, out);
        out.push(':');
        write_value(item, out)?;
    }
    out.push('}');
    Ok(())
}

/// Order by UTF-16 code units. UTF-8 bytes order strings by code point, which is the same
/// order unless a character from U+E000 up is involved (lead bytes 0xEE and above): only
/// then are the code units compared.
fn utf16_order(a: &str, b: &str) -> Ordering {
    if a.bytes().chain(b.bytes()).all(|byte| byte < 0xee) {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript's `Number.prototype.toString` of a finite double (ECMA-262, 7.1.12.1).
pub fn number(f: f64) -> std::result::Result<String, String> {
    let mut out = String::new();
    write_number(f, &mut out)?;
    Ok(out)
}

/// [`number`], appended to `out` without allocating (the value's own digits are written
/// to `out` first, read back, and replaced).
fn write_number(f: f64, out: &mut String) -> std::result::Result<(), String> {
    if !f.is_finite() {
        return Err(format!("{f} has no JSON form"));
    }
    if f == 0.0 {
        out.push('0'); // -0 too
        return Ok(());
    }
    // Rust's `{:e}` writes the shortest digits that round-trip: "1.2345e-7", "5e-324".
    let start = out.len();
    write!(out, "{:e}", f.abs()).expect("writing to a String");
    let (mantissa, exponent) = out[start..]
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let mut buffer = [0u8; 24];
    let mut k = 0;
    for b in mantissa.bytes().filter(|b| *b != b'.') {
        buffer[k] = b;
        k += 1;
    }
    out.truncate(start);
    ties_to_even(&mut buffer[..k], exponent, f.abs());
    let digits = std::str::from_utf8(&buffer[..k]).expect("ASCII digits");
    let k = k as i32;
    // The value is 0.DIGITS x 10^n.
    let n = exponent + 1;
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n - 1 < 0 { '-' } else { '+' });
        write!(out, "{}", (n - 1).abs()).expect("writing to a String");
    }
    Ok(())
}

/// Where two shortest digit strings are equally close to the value, ECMAScript takes the
/// even one; Rust's shortest formatting rounds the tie up (RFC 8785's 1424953923781206.2).
/// `digits` are the shortest digits of `f` (positive), `exponent` its decimal exponent.
fn ties_to_even(digits: &mut [u8], exponent: i32, f: f64) {
    let k = digits.len();
    let last = digits[k - 1];
    if last.is_multiple_of(2) || !exact_tie(f, k as i32, exponent) {
        return;
    }
    // The value is exactly LOWER5 x 10^(exponent - k): write those k + 1 digits out.
    let exact = format!("{f:.k$e}");
    let lower: Vec<u8> = exact
        .bytes()
        .take_while(|b| *b != b'e')
        .filter(|b| *b != b'.')
        .take(k)
        .collect();
    if lower != digits {
        // The digits were rounded up to an odd last digit: the even one is below.
        digits.copy_from_slice(&lower);
    } else if last != b'9' {
        // Rounded down to an odd digit: the even one is above (a 9 would carry into a
        // shorter string, which the shortest digits would have been).
        digits[k - 1] = last + 1;
    }
}

/// Whether the positive double `f` is exactly halfway between two decimals of `k`
/// significant digits at decimal exponent `exponent`: whether 2 f 10^(k-1-exponent) is an
/// odd integer, decided on f's integer significand and binary exponent.
fn exact_tie(f: f64, k: i32, exponent: i32) -> bool {
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut m, q) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    if m == 0 {
        return false;
    }
    // 2 f 10^s = m 5^s 2^(q + 1 + s).
    let s = k - 1 - exponent;
    let twos = q + 1 + s;
    if s < 0 {
        // Divide m by 5^-s; m < 2^53 < 5^23.
        if -s >= 23 {
            return false;
        }
        let five_power = 5u64.pow((-s) as u32);
        if !m.is_multiple_of(five_power) {
            return false;
        }
        m /= five_power;
    }
    twos <= 0 && m.trailing_zeros() as i32 == -twos
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8785, Appendix B: IEEE-754 doubles (as bit patterns) and their JCS text.
    #[test]
    fn numbers_are_written_as_rfc_8785_appendix_b() {
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, text) in cases {
            assert_eq!(number(f64::from_bits(bits)).unwrap(), text, "{bits:016x}");
        }
        assert!(number(f64::from_bits(0x7fffffffffffffff)).is_err()); // NaN
        assert!(number(f64::from_bits(0x7ff0000000000000)).is_err()); // Infinity
    }

    /// Exact halfway values take the even digit; values near halfway do not move.
    #[test]
    fn ties_go_to_the_even_digit() {
        // 1424953923781206.25 is exactly representable: .2 and .3 are equally close.
        let tie = f64::from_bits(0x43143ff3c1cb0959);
        assert_eq!(tie * 4.0, 5699815695124825.0);
        assert_eq!(number(tie).unwrap(), "1424953923781206.2");
        assert_eq!(number(-tie).unwrap(), "-1424953923781206.2");
        // 0.1 + 0.2 and friends keep Rust's (closest, unique) digits.
        assert_eq!(number(0.1 + 0.2).unwrap(), "0.30000000000000004");
        assert_eq!(number(1.0 / 3.0).unwrap(), "0.3333333333333333");
        assert_eq!(number(2.0f64.powi(60)).unwrap(), "1152921504606847000");
        assert_eq!(number(1.5e-50).unwrap(), "1.5e-50");
        // Every digit string read back is the same double.
        let mut x = 0.123456789f64;
        for _ in 0..10_000 {
            x = (x * 3.7 + 0.1).fract() * 1e3;
            let text = number(x).unwrap();
            assert_eq!(text.parse::<f64>().unwrap(), x, "{text}");
        }
    }

    /// RFC 8785, section 3.2.2's example.
    #[test]
    fn the_rfc_8785_example_canonicalizes_exactly() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canonicalize(&value).unwrap(),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
             \"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    /// RFC 8785, section 3.2.3: members sort by UTF-16 code units, not by code points.
    #[test]
    fn members_sort_by_utf16_code_units() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        let text = canonicalize(&value).unwrap();
        let order: Vec<&str> = [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        ]
        .to_vec();
        let positions: Vec<usize> = order.iter().map(|v| text.find(v).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn integers_beyond_2_53_are_refused() {
        assert_eq!(
            canonicalize(&serde_json::json!([9007199254740992u64, -3])).unwrap(),
            "[9007199254740992,-3]"
        );
        assert!(canonicalize(&serde_json::json!(9007199254740993u64)).is_err());
    }

    #[test]
    fn whitespace_and_spelling_do_not_change_the_canonical_form() {
        let a: Value = serde_json::from_str(r#"{"b": [1.50, "A"], "a": 1e-50}"#).unwrap();
        let b: Value = serde_json::from_str("{\"a\":1.0E-50,\"b\":[1.5,\"\\u0041\"]}").unwrap();
        assert_eq!(canonicalize(&a).unwrap(), canonicalize(&b).unwrap());
        assert_eq!(canonicalize(&a).unwrap(), r#"{"a":1e-50,"b":[1.5,"A"]}"#);
    }
}
