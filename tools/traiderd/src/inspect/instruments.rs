//! What a journal's instrument indices stand for, read from the journal itself: the product
//! ids and increments that turn a record's ticks and lots into decimal prices and sizes.
//!
//! Records carry an instrument's index (its place in the config that wrote the journal). The
//! journal holds the venue's products response (`products` inputs: every product's rules) and
//! the market data: an index is the product whose `l2_data` snapshot came in the input just
//! before that index's `book_synced` decision. An index never synced stays unnamed (its
//! records print ticks and lots only). With the config that wrote the journal
//! (`journal dump --config`), its product list names every index instead.

use serde_json::Value;
use std::collections::BTreeMap;
use traider_core::decision::Decision;
use traider_core::event::{DecodedBatch, FrameDecoder, FrameKind};
use traider_core::input::InputKind;
use traider_core::instrument::InstrumentSpec;
use traider_core::record::{Record, is_input};
use traider_gateways::coinbase::parse::CoinbaseDecoder;
use traider_journal::JournalReader;

/// Product ids and rules by instrument index.
#[derive(Debug, Default)]
pub struct Instruments {
    names: BTreeMap<u16, String>,
    specs: BTreeMap<String, InstrumentSpec>,
}

impl Instruments {
    /// Learns the products' rules and each index's product from the journal; `configured`,
    /// the product ids of the config that wrote it in order, names the indices instead.
    pub fn learn(reader: &JournalReader, configured: Option<&[String]>) -> Self {
        let mut learned = Self::default();
        if let Some(ids) = configured {
            learned.names = (0..).zip(ids.iter().cloned()).collect();
        }
        let mut snapshot_of_input: Option<String> = None;
        let mut bodies = Vec::new();
        for record in reader.records().map_while(Result::ok) {
            if is_input(record.kind) {
                snapshot_of_input = None;
                match Record::decode(record.kind, record.payload) {
                    Ok(Record::Input(input)) if input.kind == InputKind::Products => {
                        bodies.push(input.data.to_vec());
                    }
                    Ok(Record::Input(input)) if input.kind == InputKind::MdFrame => {
                        snapshot_of_input = l2_snapshot_product(input.data);
                    }
                    _ => {}
                }
            } else if let (Some(product), Some(Decision::BookSynced { instrument })) = (
                &snapshot_of_input,
                Decision::decode(record.kind, record.payload),
            ) {
                learned
                    .names
                    .entry(instrument.0)
                    .or_insert_with(|| product.clone());
            }
        }
        for body in &bodies {
            learned.learn_rules(body);
        }
        learned
    }

    /// The named products' rules in a products body, decoded by the daemon's own decoder
    /// (as the engine saw them; other products in the body are not read).
    fn learn_rules(&mut self, body: &[u8]) {
        let ids: Vec<&str> = self.names.values().map(String::as_str).collect();
        let mut decoder = CoinbaseDecoder::new(&ids, body.len(), 16, 16);
        let mut batch = DecodedBatch::with_capacity(16, 16);
        if decoder
            .decode(FrameKind::Products, body, &mut batch)
            .is_ok()
        {
            for (index, spec) in &batch.specs {
                self.specs.insert(ids[index.index()].to_owned(), *spec);
            }
        }
    }

    /// The product id and rules of instrument `index`, where the journal tells.
    pub fn get(&self, index: u16) -> Option<(&str, Option<&InstrumentSpec>)> {
        let name = self.names.get(&index)?;
        Some((name, self.specs.get(name)))
    }
}

/// The product of an `l2_data` snapshot frame.
fn l2_snapshot_product(frame: &[u8]) -> Option<String> {
    let frame: Value = serde_json::from_slice(frame).ok()?;
    if frame["channel"] != "l2_data" {
        return None;
    }
    let events = frame["events"].as_array()?;
    let snapshot = events.iter().find(|event| event["type"] == "snapshot")?;
    snapshot["product_id"].as_str().map(str::to_owned)
}
