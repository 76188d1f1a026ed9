//! The 15-minute circle's speed: `HallIndex::nearby` over 10,000 halls spread
//! over the default city's bounds (each offering one to five services with
//! varied business), from pseudo-random places, for any service, one service,
//! and one service with one business.
//!
//! Besides the criterion measurements, a timed loop of 20,000 searches times
//! each search alone and prints p50, p99 and the maximum against the issue's
//! limit (p99 < 2 ms in-process).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use onestop_domain::config::CityConfig;
use onestop_domain::hall::{Business, CircleConfig, HallIndex, Mode, Seek, parse_hall};
use serde_json::json;

const HALLS: usize = 10_000;
const SEARCHES: usize = 20_000;
const P99_LIMIT: Duration = Duration::from_millis(2);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn halls(config: &CityConfig) -> HallIndex {
    let b = config.city.bounds;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let services = ["water", "power", "gas", "heat", "network"];
    let business = ["consult", "pay", "apply", "query", "transfer"];
    let list = (0..HALLS)
        .map(|i| {
            let n = 1 + (rng.next() % 5) as usize;
            let offered: Vec<_> = (0..n)
                .map(|k| {
                    let s = services[(i + k) % 5];
                    let m = 1 + (rng.next() % 5) as usize;
                    json!({"service": s, "business": business[..m]})
                })
                .collect();
            let body = json!({
                "code": format!("h-{i}"),
                "name": format!("营业厅{i}"),
                "kind": "utility_outlet",
                "district_code": "421303",
                "address": "示例地址",
                "lng": b.min_lng + rng.unit() * (b.max_lng - b.min_lng),
                "lat": b.min_lat + rng.unit() * (b.max_lat - b.min_lat),
                "phone": "0722-3200000",
                "hours": {"workdays": "08:30-17:30"},
                "channels": ["staffed"],
                "services": offered,
            });
            parse_hall(body.as_object().unwrap(), config).expect("a valid hall")
        })
        .collect();
    let codes: Vec<String> = config.services.iter().map(|s| s.code.clone()).collect();
    HallIndex::new(list, &codes)
}

fn places(config: &CityConfig, n: usize) -> Vec<(f64, f64)> {
    let b = config.city.bounds;
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    (0..n)
        .map(|_| {
            (
                b.min_lat + rng.unit() * (b.max_lat - b.min_lat),
                b.min_lng + rng.unit() * (b.max_lng - b.min_lng),
            )
        })
        .collect()
}

type Want = (Option<&'static str>, Option<Business>);

const WANTS: [(&str, Want); 3] = [
    ("any", (None, None)),
    ("gas", (Some("gas"), None)),
    ("gas_pay", (Some("gas"), Some(Business::Pay))),
];

fn seek(p: (f64, f64), want: Want) -> Seek<'static> {
    Seek {
        lat: p.0,
        lng: p.1,
        service: want.0,
        business: want.1,
        mode: Mode::Walk,
    }
}

fn main() {
    let config = CityConfig::default_city();
    let circle = CircleConfig::default();
    let index = halls(&config);
    let at = places(&config, 1024);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("nearby_10000_halls");
    for (name, want) in WANTS {
        group.bench_function(name, |b| {
            let mut k = 0usize;
            b.iter(|| {
                k = (k + 1) % at.len();
                black_box(index.nearby(black_box(&seek(at[k], want)), &circle, 50))
            })
        });
    }
    group.finish();
    c.final_summary();

    println!("\nnearby over {HALLS} halls, {SEARCHES} searches each, one timed search at a time:");
    let places = places(&config, SEARCHES);
    for (name, want) in WANTS {
        let mut times: Vec<Duration> = Vec::with_capacity(SEARCHES);
        let mut found = 0usize;
        for p in &places {
            let s = seek(*p, want);
            let begin = Instant::now();
            let n = index.nearby(black_box(&s), &circle, 50);
            times.push(begin.elapsed());
            found += n.within.len();
        }
        times.sort();
        let q = |f: f64| times[((times.len() as f64 * f) as usize).min(times.len() - 1)];
        let (p50, p99, max) = (q(0.50), q(0.99), *times.last().unwrap());
        let verdict = if p99 < P99_LIMIT {
            "meets the limit"
        } else {
            "OVER THE LIMIT"
        };
        println!(
            "  {name:8} p50 {:7.1} µs  p99 {:7.1} µs  max {:7.1} µs  (limit p99 < {} ms: {verdict}); halls within 15 min per search: {:.2}",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            max.as_secs_f64() * 1e6,
            P99_LIMIT.as_millis(),
            found as f64 / SEARCHES as f64
        );
    }
}
