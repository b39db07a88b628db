//! A tiny deterministic random source (splitmix64), so the generated files depend only on the
//! seed and never on a third-party crate's algorithm changing between versions.

/// splitmix64: fast, good enough for synthetic data, and trivially reproducible.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A stream for one student (or orphan row set): independent of every other student's, so
    /// changing one student's row counts never shifts the values of another.
    pub(crate) fn for_item(seed: u64, stream: u64, item: u64) -> Rng {
        let mut rng = Rng(seed
            ^ stream.wrapping_mul(0xA24B_AED4_963E_E407)
            ^ item.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; 0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A count with mean `mean` (a fractional mean is reached on average, not rounded away).
    pub(crate) fn count(&mut self, mean: f64) -> usize {
        if mean <= 0.0 {
            return 0;
        }
        let spread = 0.4 + 1.2 * self.unit();
        (mean * spread + self.unit()).floor() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_counts_have_their_mean() {
        let mut a = Rng::for_item(7, 1, 3);
        let mut b = Rng::for_item(7, 1, 3);
        let mut c = Rng::for_item(7, 1, 4);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        let mut r = Rng::for_item(1, 0, 0);
        let n = 200_000;
        let total: usize = (0..n).map(|_| r.count(2.5)).sum();
        let mean = total as f64 / n as f64;
        assert!((mean - 2.5).abs() < 0.03, "mean {mean}");
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
