//! The journal's command line as a new user meets it: typos, a wrong folder, a pipe that
//! closes early, prices in decimals, and error messages that name a path once.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use traider_testkit::daemon::{capture, config, replay, summary, traiderd};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `traiderd ARGS...` run to the end.
fn run(args: &[&str], path: &Path) -> Output {
    traiderd()
        .args(args)
        .arg(path)
        .output()
        .expect("traiderd runs")
}

/// A journal of the whole recorded session, in `dir/j`.
fn replayed(dir: &Path) -> std::path::PathBuf {
    let journal = dir.join("j");
    summary(&replay(&config("replay.toml"), &capture(), &journal));
    journal
}

// Proves a misspelt --kind is an error (exit 1) that names the kind meant and lists the
// kinds, instead of an empty dump that exits 0.
#[test]
fn a_misspelt_kind_is_refused_with_the_kinds_listed() {
    let temp = tempfile::tempdir().expect("tempdir");
    let journal = replayed(temp.path());
    let output = run(&["journal", "dump", "--kind", "fills"], &journal);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("--kind fills: no such record kind; did you mean fill?"),
        "{message}"
    );
    assert!(
        message.contains("order_new") && message.contains("md_frame"),
        "{message}"
    );
    assert!(output.stdout.is_empty());
}

// Proves dump, verify, stats and prune refuse a folder that is not a journal (missing, a
// file, a directory without segments) with exit 1 and a message that names the path once and
// says what a journal is.
#[test]
fn a_folder_that_is_not_a_journal_is_refused_by_every_command() {
    let temp = tempfile::tempdir().expect("tempdir");
    let empty = temp.path().join("notes");
    std::fs::create_dir(&empty).expect("mkdir");
    std::fs::write(empty.join("readme.txt"), "not a journal").expect("write");
    let file = empty.join("readme.txt");
    let missing = temp.path().join("missing");
    let commands: [&[&str]; 4] = [
        &["journal", "dump"],
        &["journal", "verify"],
        &["journal", "stats"],
        &["journal", "prune", "--keep-segments", "1"],
    ];
    for command in commands {
        for (path, what) in [
            (&empty, "is not a journal"),
            (&file, "is not a directory"),
            (&missing, "No such file or directory"),
        ] {
            let mut args = command.to_vec();
            let path_text = path.display().to_string();
            let output = match command {
                [_, "prune", ..] => traiderd()
                    .args(&args[..2])
                    .arg(path)
                    .args(&args[2..])
                    .output()
                    .expect("runs"),
                _ => {
                    args.push(&path_text);
                    traiderd().args(&args).output().expect("runs")
                }
            };
            let message = stderr(&output);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{command:?} {path_text}: {message}"
            );
            assert!(message.contains(what), "{command:?} {path_text}: {message}");
            assert_eq!(message.matches(&path_text).count(), 1, "{message}");
            assert!(message.contains("a journal is the directory"), "{message}");
        }
    }
}

// Proves `traiderd journal dump DIR | head` ends quietly: when the reader closes the pipe
// after one line, dump exits 0 and prints no error.
#[test]
fn a_dump_into_a_pipe_closed_early_ends_quietly() {
    let temp = tempfile::tempdir().expect("tempdir");
    let journal = replayed(temp.path());
    let mut child = traiderd()
        .args(["journal", "dump"])
        .arg(&journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dump starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut first)
        .expect("a first line");
    assert!(first.contains("products"), "{first}");
    // The reader is dropped here: the pipe closes with the dump far from done.
    let output = child.wait_with_output().expect("dump ends");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
}

// Proves dump shows, beside ticks and lots, the product id and the decimal price and size of
// every order and fill (price = ticks × the product's quote increment, size = lots × its base
// increment; BTC-USD: 0.01 and 0.00000001, ETH-USD: 0.01 and 0.00000001), learnt from the
// journal alone; with --config the same.
#[test]
fn dump_names_products_and_prints_decimal_prices() {
    let temp = tempfile::tempdir().expect("tempdir");
    let journal = replayed(temp.path());
    for extra in [
        &[][..],
        &["--config", config("replay.toml").to_str().expect("utf-8")][..],
    ] {
        let output = traiderd()
            .args(["journal", "dump", "--json"])
            .args(extra)
            .arg(&journal)
            .output()
            .expect("dump runs");
        assert!(output.status.success(), "{}", stderr(&output));
        let records: Vec<serde_json::Value> = String::from_utf8(output.stdout)
            .expect("utf-8")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        let priced: Vec<&serde_json::Value> = records
            .iter()
            .filter(|r| r["kind"] == "order_new" || r["kind"] == "fill")
            .map(|r| &r["detail"])
            .collect();
        assert!(priced.len() > 10, "orders and fills: {}", priced.len());
        for detail in priced {
            let product =
                ["BTC-USD", "ETH-USD"][detail["instrument"].as_u64().expect("index") as usize];
            assert_eq!(detail["product_id"], product, "{detail}");
            let ticks = detail["price_ticks"].as_i64().expect("ticks");
            let lots = detail["size_lots"].as_i64().expect("lots");
            // Exact decimals, as the summary prints them: no trailing zeros.
            let decimal = |units: i64, digits: usize| {
                let scale = 10_i64.pow(digits as u32);
                let text = format!("{}.{:0digits$}", units / scale, units % scale);
                text.trim_end_matches('0').trim_end_matches('.').to_owned()
            };
            assert_eq!(detail["price"], decimal(ticks, 2).as_str(), "{detail}");
            assert_eq!(detail["size"], decimal(lots, 8).as_str(), "{detail}");
        }
    }
}

// Proves the daemon's log carries no ANSI colour codes when stderr is not a terminal (a
// file, a pipe, journald).
#[test]
fn logs_into_a_pipe_have_no_colour_codes() {
    let temp = tempfile::tempdir().expect("tempdir");
    // A capture with a damaged line: the replay logs a warning for it and plays the rest.
    let mut lines = traider_testkit::daemon::capture_lines();
    lines.truncate(40);
    lines.push("not a capture line".to_owned());
    let damaged = temp.path().join("damaged.jsonl");
    traider_testkit::daemon::write_lines(&damaged, &lines);
    let output = traiderd()
        .args(["replay", "--config"])
        .arg(config("replay.toml"))
        .arg("--capture")
        .arg(&damaged)
        .arg("--journal-dir")
        .arg(temp.path().join("j"))
        .env("RUST_LOG", "info")
        .output()
        .expect("traiderd runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(
        log.contains("WARN") && log.contains("capture line skipped"),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "an escape code in: {log}");
}

// Proves an error names the path it is about once: a missing config, a missing capture and a
// missing journal each appear exactly once in the message.
#[test]
fn errors_name_a_path_once() {
    let temp = tempfile::tempdir().expect("tempdir");
    let missing_config = temp.path().join("missing.toml");
    let output = traiderd()
        .args(["run", "--config"])
        .arg(&missing_config)
        .output()
        .expect("runs");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(
        message.matches(&*missing_config.to_string_lossy()).count(),
        1,
        "{message}"
    );
    assert!(message.contains("cannot read"), "{message}");

    let missing_capture = temp.path().join("missing.jsonl.zst");
    let output = traiderd()
        .args(["replay", "--config"])
        .arg(config("replay.toml"))
        .arg("--capture")
        .arg(&missing_capture)
        .arg("--journal-dir")
        .arg(temp.path().join("j"))
        .output()
        .expect("runs");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(
        message.matches(&*missing_capture.to_string_lossy()).count(),
        1,
        "{message}"
    );
    assert!(message.contains("No such file or directory"), "{message}");
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "{message}"
    );
}
