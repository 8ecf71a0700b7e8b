//! Percentile math. `nearest_rank` is the exact definition on sorted samples; `Histogram` is a
//! log-linear histogram with bounded memory (a soak run records millions of samples) whose
//! answers are within 1/64 of the exact ones.

use serde::Serialize;

/// The nearest-rank percentile `p` (0..=100) of ascending `sorted` samples: the smallest sample
/// such that at least `p`% of the samples are at or below it.
pub fn nearest_rank(sorted: &[u64], p: f64) -> Option<u64> {
    let rank = rank(sorted.len() as u64, p)?;
    sorted.get(rank as usize - 1).copied()
}

/// The 1-based nearest rank of percentile `p` among `n` samples.
fn rank(n: u64, p: f64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    // p * n first, so whole percentiles of whole counts stay exact in floating point.
    let rank = (p.clamp(0.0, 100.0) * n as f64 / 100.0).ceil() as u64;
    Some(rank.clamp(1, n))
}

/// Values below `LINEAR` get a bucket each; above, every power of two is split into `SUB`
/// equal buckets, so a bucket is at most 1/64 of its values wide.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
const LINEAR: u64 = 2 * SUB;
const BUCKETS: usize = (LINEAR + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

fn bucket_of(value: u64) -> usize {
    if value < LINEAR {
        return value as usize;
    }
    let exponent = 63 - u64::from(value.leading_zeros());
    let shift = exponent - u64::from(SUB_BITS);
    let mantissa = (value >> shift) - SUB;
    (LINEAR + (exponent - u64::from(SUB_BITS) - 1) * SUB + mantissa) as usize
}

/// The largest value that falls into `bucket`.
fn bucket_high(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < LINEAR {
        return bucket;
    }
    let k = bucket - LINEAR;
    let exponent = k / SUB + u64::from(SUB_BITS) + 1;
    let mantissa = k % SUB + SUB;
    let shift = exponent - u64::from(SUB_BITS);
    // u128: the top bucket ends at 2^64 - 1.
    let high = ((u128::from(mantissa) + 1) << shift) - 1;
    u64::try_from(high).unwrap_or(u64::MAX)
}

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    pub fn record(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.count += 1;
        self.sum += u128::from(value);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// Nearest-rank percentile, reported as the top of its bucket (never beyond the exact
    /// min/max): an upper estimate, the safe side for latency.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let rank = rank(self.count, p)?;
        let mut seen = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_high(bucket).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    pub fn summary(&self) -> Summary {
        Summary {
            count: self.count,
            min_us: (self.count > 0).then_some(self.min),
            mean_us: (self.count > 0).then(|| (self.sum / u128::from(self.count)) as u64),
            p50_us: self.percentile(50.0),
            p95_us: self.percentile(95.0),
            p99_us: self.percentile(99.0),
            max_us: self.max(),
        }
    }
}

/// The usual percentiles of a histogram of microseconds; `None` (JSON null) when empty.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub min_us: Option<u64>,
    pub mean_us: Option<u64>,
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_follows_the_definition() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&samples, 50.0), Some(50));
        assert_eq!(nearest_rank(&samples, 95.0), Some(95));
        assert_eq!(nearest_rank(&samples, 99.0), Some(99));
        assert_eq!(nearest_rank(&samples, 100.0), Some(100));
        assert_eq!(nearest_rank(&samples, 0.0), Some(1));

        let five = [10, 20, 30, 40, 50];
        assert_eq!(nearest_rank(&five, 50.0), Some(30)); // rank ceil(2.5) = 3
        assert_eq!(nearest_rank(&five, 40.0), Some(20)); // rank exactly 2
        assert_eq!(nearest_rank(&five, 95.0), Some(50));
        assert_eq!(nearest_rank(&[7], 99.0), Some(7));
        assert_eq!(nearest_rank(&[], 50.0), None);
    }

    #[test]
    fn small_values_are_exact() {
        let mut histogram = Histogram::new();
        let samples: Vec<u64> = (0..LINEAR).collect();
        for &v in &samples {
            histogram.record(v);
        }
        for p in [1.0, 10.0, 50.0, 90.0, 99.0, 100.0] {
            assert_eq!(histogram.percentile(p), nearest_rank(&samples, p), "p{p}");
        }
    }

    #[test]
    fn every_value_lies_in_its_bucket_and_buckets_ascend() {
        let mut previous_high = None;
        for bucket in 0..BUCKETS {
            let high = bucket_high(bucket);
            if let Some(previous) = previous_high {
                assert!(high > previous, "bucket {bucket}");
                assert_eq!(
                    bucket_of(previous + 1),
                    bucket,
                    "first value of bucket {bucket}"
                );
            }
            assert_eq!(bucket_of(high), bucket, "last value of bucket {bucket}");
            previous_high = Some(high);
        }
        assert_eq!(previous_high, Some(u64::MAX));
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_are_within_a_64th_of_exact() {
        // Deterministic spread over nine orders of magnitude.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut samples = Vec::new();
        let mut histogram = Histogram::new();
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = (state % 1_000_000_000) >> (state % 30);
            samples.push(value);
            histogram.record(value);
        }
        samples.sort_unstable();
        for p in [1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
            let exact = nearest_rank(&samples, p).unwrap_or_default();
            let estimate = histogram.percentile(p).unwrap_or_default();
            assert!(estimate >= exact, "p{p}: {estimate} < {exact}");
            assert!(
                (estimate - exact) as f64 <= exact as f64 / 64.0,
                "p{p}: {estimate} vs {exact}"
            );
        }
        assert_eq!(histogram.max(), samples.last().copied());
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut both) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 0..1000u64 {
            let value = v * v * 37;
            if v % 3 == 0 {
                a.record(value);
            } else {
                b.record(value);
            }
            both.record(value);
        }
        a.merge(&b);
        assert_eq!(a.summary(), both.summary());
    }

    #[test]
    fn an_empty_histogram_reports_nothing() {
        let histogram = Histogram::new();
        assert_eq!(histogram.percentile(50.0), None);
        assert_eq!(histogram.summary(), Summary::default());
    }

    #[test]
    fn single_sample_is_every_percentile() {
        let mut histogram = Histogram::new();
        histogram.record(123_456);
        let summary = histogram.summary();
        assert_eq!(summary.p50_us, Some(123_456));
        assert_eq!(summary.p99_us, Some(123_456));
        assert_eq!(summary.min_us, Some(123_456));
        assert_eq!(summary.mean_us, Some(123_456));
    }
}
