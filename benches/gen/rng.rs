//! A tiny seeded PRNG (splitmix64) and the identifier shapes CloudTrail uses.
//!
//! Everything the generator emits is derived from one `Rng` stream driven by
//! the simulation thread, so the same seed and arguments give the same bytes.

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Clone)]
pub struct Rng {
    s: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut r = Rng {
            s: seed ^ 0x5DEE_CE66_D1CE_4E5B,
        };
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.s = self.s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponentially distributed with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    pub fn pick_s(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// Index drawn with the given integer weights.
    pub fn weighted(&mut self, ws: &[u32]) -> usize {
        let total: u64 = ws.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in ws.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        ws.len() - 1
    }

    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    fn chars(&mut self, out: &mut String, alphabet: &[u8], n: usize) {
        for _ in 0..n {
            out.push(alphabet[self.below(alphabet.len() as u64) as usize] as char);
        }
    }

    pub fn alnum(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.chars(&mut s, ALNUM, n);
        s
    }

    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        // 16 hex digits per draw.
        while s.len() < n {
            let mut v = self.next_u64();
            for _ in 0..16.min(n - s.len()) {
                s.push(HEX[(v & 15) as usize] as char);
                v >>= 4;
            }
        }
        s
    }

    pub fn b64(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let mut v = self.next_u64();
            for _ in 0..10.min(n - s.len()) {
                s.push(B64[(v & 63) as usize] as char);
                v >>= 6;
            }
        }
        s
    }

    pub fn digits(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        s.push((b'1' + self.below(9) as u8) as char);
        for _ in 1..n {
            s.push((b'0' + self.below(10) as u8) as char);
        }
        s
    }

    /// A version-4 shaped UUID, lowercase.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let mut s = String::with_capacity(36);
        let nib = |v: u64, i: u32| HEX[((v >> (60 - 4 * i)) & 15) as usize] as char;
        for i in 0..16 {
            if i == 8 || i == 12 {
                s.push('-');
            }
            s.push(if i == 12 { '4' } else { nib(a, i) });
        }
        for i in 0..16 {
            if i == 0 || i == 4 {
                s.push('-');
            }
            let c = if i == 0 {
                HEX[(8 + ((b >> 60) & 3)) as usize] as char
            } else {
                nib(b, i)
            };
            s.push(c);
        }
        s
    }

    /// An IAM unique id (`AKIA`, `ASIA`, `AIDA`, `AROA` …) of `len` characters
    /// whose characters 4..13 encode `account` the way post-2019 ids do
    /// (spec 2.3.2): `account = 2*(b32(id[4..12]) - b32("QAAAAAAA")) + bit`.
    pub fn iam_id(&mut self, prefix: &str, account: u64, len: usize) -> String {
        let mut s = String::with_capacity(len);
        s.push_str(prefix);
        let v = (account / 2) + (16u64 << 35);
        for i in (0..8).rev() {
            s.push(B32[((v >> (5 * i)) & 31) as usize] as char);
        }
        let hi = if account % 2 == 1 { 16 } else { 0 };
        s.push(B32[(hi + self.below(16)) as usize] as char);
        let rest = len - s.len();
        self.chars(&mut s, B32, rest);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b32(s: &str) -> u64 {
        s.bytes().fold(0, |acc, c| {
            acc * 32 + B32.iter().position(|&x| x == c).unwrap() as u64
        })
    }

    #[test]
    fn key_encodes_account() {
        let mut r = Rng::new(7);
        for acct in [111_111_111_111u64, 222_222_222_223, 999_999_999_999] {
            let k = r.iam_id("ASIA", acct, 20);
            assert_eq!(k.len(), 20);
            let idx12 = B32.iter().position(|&x| x == k.as_bytes()[12]).unwrap();
            let decoded = 2 * (b32(&k[4..12]) - b32("QAAAAAAA")) + u64::from(idx12 >= 16);
            assert_eq!(decoded, acct);
        }
    }

    #[test]
    fn uuid_shape() {
        let mut r = Rng::new(1);
        let u = r.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(u.matches('-').count(), 4);
    }
}
