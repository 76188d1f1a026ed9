//! Deadline computation speed: `Clock::add_working_seconds` / `Clock::add_working_days`
//! over varied start instants (inside and outside working hours, weekends, holidays) and
//! budgets of 0.5, 1, 2 and 20 working days.
//!
//! Besides the criterion measurements, a plain timed loop of 10 million computations
//! prints the rate against the 10,000,000/s target.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use onestop_domain::calendar::{Calendar, Clock, WorkingHours};
use time::OffsetDateTime;
use time::macros::datetime;

const TARGET_PER_SECOND: f64 = 10_000_000.0;
const BUDGET_DAYS: [f64; 4] = [0.5, 1.0, 2.0, 20.0];

/// Deterministic pseudo-random start instants between 2024-01-01 and 2026-11-30 (so that
/// 20 working days stay inside the built-in data), at any second of the day.
fn start_instants(n: usize) -> Vec<i64> {
    let lo = datetime!(2024-01-01 00:00 +8).unix_timestamp();
    let hi = datetime!(2026-11-30 00:00 +8).unix_timestamp();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
            lo + (r % (hi - lo) as u64) as i64
        })
        .collect()
}

fn bench_deadlines(c: &mut Criterion, clock: &Clock, starts: &[i64]) {
    let day = clock.hours().day_seconds();
    let local: Vec<OffsetDateTime> = starts.iter().map(|&t| clock.to_local(t).unwrap()).collect();

    let mut group = c.benchmark_group("deadline");
    group.throughput(Throughput::Elements(starts.len() as u64));
    for days in BUDGET_DAYS {
        let budget = (days * day as f64).round() as i64;
        group.bench_with_input(
            BenchmarkId::new("add_working_seconds", days),
            &budget,
            |b, &budget| {
                b.iter(|| {
                    let mut acc = 0i64;
                    for &t in starts {
                        acc ^= clock
                            .add_working_seconds(black_box(t), black_box(budget))
                            .unwrap();
                    }
                    acc
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("add_working_days", days),
            &days,
            |b, &days| {
                b.iter(|| {
                    let mut acc = 0i64;
                    for &t in &local {
                        acc ^= clock
                            .add_working_days(black_box(t), black_box(days))
                            .unwrap()
                            .unix_timestamp();
                    }
                    acc
                })
            },
        );
    }
    group.finish();
}

/// Runs `calls` computations cycling through the starts and the four budgets; returns the
/// rate per second.
fn timed_rate(calls: usize, mut one: impl FnMut(usize) -> i64) -> f64 {
    let begin = Instant::now();
    let mut acc = 0i64;
    for k in 0..calls {
        acc ^= one(k);
    }
    black_box(acc);
    calls as f64 / begin.elapsed().as_secs_f64()
}

fn with_separators(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn report(what: &str, rate: f64) {
    let verdict = if rate >= TARGET_PER_SECOND {
        "meets target"
    } else {
        "BELOW TARGET"
    };
    println!(
        "{what}: {}/s (target {}/s) — {verdict}",
        with_separators(rate),
        with_separators(TARGET_PER_SECOND)
    );
}

fn main() {
    let clock = Clock::new(Calendar::builtin(), WorkingHours::default());
    let starts = start_instants(4096);

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_deadlines(&mut criterion, &clock, &starts);
    criterion.final_summary();

    // Under `cargo test --benches` (no `--bench`), only a short smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let calls = if full { 10_000_000 } else { 10_000 };
    let day = clock.hours().day_seconds();
    let budgets: Vec<i64> = BUDGET_DAYS
        .iter()
        .map(|d| (d * day as f64).round() as i64)
        .collect();
    let mask = starts.len() - 1; // a power of two
    let local: Vec<OffsetDateTime> = starts.iter().map(|&t| clock.to_local(t).unwrap()).collect();

    let rate = timed_rate(calls, |k| {
        clock
            .add_working_seconds(black_box(starts[k & mask]), black_box(budgets[k & 3]))
            .unwrap()
    });
    println!();
    println!(
        "timed loop of {calls} calls, start instants 2024-01-01..2026-11-30, budgets 0.5/1/2/20 working days:"
    );
    report("deadline computations", rate);
    let rate = timed_rate(calls, |k| {
        clock
            .add_working_days(black_box(local[k & mask]), black_box(BUDGET_DAYS[k & 3]))
            .unwrap()
            .unix_timestamp()
    });
    report(
        "deadline computations via add_working_days (OffsetDateTime in/out)",
        rate,
    );
}
