//! Results: percentile rows from hdr histograms, criterion means read back from criterion's
//! own `estimates.json`, throughput rows, the printed table and `target/traider-bench.json`.

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use traider_core::pipeline::latency::{Latency, Stage};

/// One histogram per hot-path stage, detached from the `HotPath` so that warm-up inputs can
/// be subtracted from its totals.
#[derive(Clone)]
pub struct StageHistograms {
    hists: Vec<Histogram<u64>>,
}

impl StageHistograms {
    pub fn empty() -> Self {
        Self {
            hists: Stage::ALL.iter().map(|_| crate::histogram()).collect(),
        }
    }

    pub fn of(latency: &Latency) -> Self {
        Self {
            hists: Stage::ALL
                .iter()
                .map(|s| latency.histogram(*s).clone())
                .collect(),
        }
    }

    pub fn get(&self, stage: Stage) -> &Histogram<u64> {
        &self.hists[stage as usize]
    }

    /// Adds `after − before` (`before` an earlier copy of the same histograms).
    pub fn add_difference(&mut self, after: &Self, before: &Self) {
        for ((mine, after), before) in self.hists.iter_mut().zip(&after.hists).zip(&before.hists) {
            let mut delta = after.clone();
            delta.subtract(before).expect("an earlier copy is a subset");
            mine.add(&delta).expect("same bounds");
        }
    }

    /// Removes `other`'s samples (a subset of these).
    pub fn subtract(&mut self, other: &Self) {
        for (mine, theirs) in self.hists.iter_mut().zip(&other.hists) {
            mine.subtract(theirs)
                .expect("the excluded samples are a subset");
        }
    }
}

/// Percentiles of one histogram, in nanoseconds.
#[derive(Clone, Debug)]
pub struct Row {
    pub section: &'static str,
    pub name: String,
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Row {
    /// `scale`: histogram units per nanosecond (1 for ns, 1000 for ps).
    pub fn new(
        section: &'static str,
        name: impl Into<String>,
        hist: &Histogram<u64>,
        scale: f64,
    ) -> Self {
        let at = |q: f64| {
            if hist.is_empty() {
                0.0
            } else {
                hist.value_at_quantile(q) as f64 / scale
            }
        };
        Self {
            section,
            name: name.into(),
            count: hist.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: if hist.is_empty() {
                0.0
            } else {
                hist.max() as f64 / scale
            },
            mean: if hist.is_empty() {
                0.0
            } else {
                hist.mean() / scale
            },
        }
    }

    fn json(&self) -> Value {
        json!({"section": self.section, "name": self.name, "count": self.count, "p50_ns": self.p50,
               "p99_ns": self.p99, "p999_ns": self.p999, "max_ns": self.max, "mean_ns": self.mean})
    }
}

/// A criterion mean with its 95 % confidence interval, per element.
#[derive(Clone, Debug)]
pub struct Mean {
    pub name: String,
    pub per: &'static str,
    pub mean_ns: f64,
    pub lower_ns: f64,
    pub upper_ns: f64,
}

/// Reads `<criterion>/<group>/<id>/new/estimates.json` and divides by `elements`.
pub fn criterion_mean(
    criterion_dir: &Path,
    group: &str,
    id: &str,
    per: &'static str,
    elements: usize,
) -> Option<Mean> {
    let path = criterion_dir
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let mean = &value["mean"];
    let divide = |v: &Value| v.as_f64().map(|ns| ns / elements.max(1) as f64);
    Some(Mean {
        name: format!("{group}/{id}"),
        per,
        mean_ns: divide(&mean["point_estimate"])?,
        lower_ns: divide(&mean["confidence_interval"]["lower_bound"])?,
        upper_ns: divide(&mean["confidence_interval"]["upper_bound"])?,
    })
}

/// Best and median of one throughput measure over the passes.
#[derive(Clone, Debug)]
pub struct Rate {
    pub name: String,
    pub unit: &'static str,
    pub best: f64,
    pub median: f64,
}

/// Everything a run produced.
#[derive(Default)]
pub struct Report {
    pub machine: Value,
    pub session: Value,
    pub rows: Vec<Row>,
    pub means: Vec<Mean>,
    pub rates: Vec<Rate>,
    pub facts: Vec<(String, Value)>,
}

fn format_ns(ns: f64) -> String {
    if ns >= 100_000.0 {
        format!("{:.0}µs", ns / 1_000.0)
    } else if ns >= 10_000.0 {
        format!("{:.1}µs", ns / 1_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2}µs", ns / 1_000.0)
    } else if ns >= 10.0 {
        format!("{ns:.0}ns")
    } else {
        format!("{ns:.2}ns")
    }
}

fn format_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k", rate / 1e3)
    } else {
        format!("{rate:.1} ")
    }
}

impl Report {
    /// The compact table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n== TRAIDER bench == {}", self.machine);
        let _ = writeln!(out, "session: {}", self.session);
        let _ = writeln!(
            out,
            "\n{:<50} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (hdrhistogram)", "count", "p50", "p99", "p99.9", "max", "mean"
        );
        let mut section = "";
        for row in &self.rows {
            if row.section != section {
                section = row.section;
                let _ = writeln!(out, "[{section}]");
            }
            let _ = writeln!(
                out,
                "  {:<48} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                row.name,
                row.count,
                format_ns(row.p50),
                format_ns(row.p99),
                format_ns(row.p999),
                format_ns(row.max),
                format_ns(row.mean)
            );
        }
        if !self.means.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<50} {:>12} {:>24}",
                "criterion mean", "mean", "95% CI"
            );
            for mean in &self.means {
                let _ = writeln!(
                    out,
                    "  {:<48} {:>12} {:>24}",
                    format!("{} (per {})", mean.name, mean.per),
                    format_ns(mean.mean_ns),
                    format!(
                        "[{} {}]",
                        format_ns(mean.lower_ns),
                        format_ns(mean.upper_ns)
                    )
                );
            }
        }
        if !self.rates.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<50} {:>14} {:>14}",
                "throughput (one core)", "best", "median"
            );
            for rate in &self.rates {
                let _ = writeln!(
                    out,
                    "  {:<48} {:>14} {:>14}",
                    rate.name,
                    format!("{}{}", format_rate(rate.best), rate.unit),
                    format!("{}{}", format_rate(rate.median), rate.unit)
                );
            }
        }
        for (name, value) in &self.facts {
            let _ = writeln!(out, "{name}: {value}");
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "machine": self.machine,
            "session": self.session,
            "latency": self.rows.iter().map(Row::json).collect::<Vec<_>>(),
            "criterion": self.means.iter().map(|m| json!({"name": m.name, "per": m.per,
                "mean_ns": m.mean_ns, "ci95_lower_ns": m.lower_ns, "ci95_upper_ns": m.upper_ns}))
                .collect::<Vec<_>>(),
            "throughput": self.rates.iter().map(|r| json!({"name": r.name, "unit": r.unit,
                "best": r.best, "median": r.median})).collect::<Vec<_>>(),
            "facts": self.facts.iter().cloned().collect::<serde_json::Map<_, _>>(),
        })
    }

    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(&self.json()).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

/// CPU model and core count, from `/proc/cpuinfo` and the scheduler.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    json!({"cpu": cpu, "cores": cores})
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves warm-up subtraction leaves exactly the measured samples.
    #[test]
    fn warm_samples_are_subtracted() {
        let mut latency = Latency::new();
        latency.record(Stage::Decode, 10);
        let before = StageHistograms::of(&latency);
        latency.record(Stage::Decode, 5_000_000);
        let after = StageHistograms::of(&latency);
        latency.record(Stage::Decode, 20);
        let mut excluded = StageHistograms::empty();
        excluded.add_difference(&after, &before);
        let mut measured = StageHistograms::of(&latency);
        measured.subtract(&excluded);
        let decode = measured.get(Stage::Decode);
        assert_eq!(decode.len(), 2);
        assert!(decode.max() < 100);
        let row = Row::new("t", "decode", decode, 1.0);
        assert_eq!(row.count, 2);
        assert!(Report::default().table().contains("latency"));
    }
}
