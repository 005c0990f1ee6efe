//! The vouchers an SSC keeps: each claim's booking, and its reversal if it has one, as
//! computed when the event that numbered it was signed (core::vouchers). Stored as
//! deterministic CBOR (kvitt_protocol::cbor): a map of `series`, `number`, `date`
//! (`YYYY-MM-DD`), `text` and `rows`, each row a map of `account`, `amount` (öre, a debit
//! positive) and `text`. That is what the SIE export writes; a voucher's payroll lines
//! are not kept (nothing reads them from the ledger yet).

use kvitt_books::{Voucher, VoucherRow};
use kvitt_protocol::fields::{format_date, parse_date};
use serde::{Deserialize, Serialize};

use super::*;

/// Which of a claim's vouchers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VoucherOf {
    /// The voucher of its `booked` event.
    Booking,
    /// The reversing voucher of its `reversed` event.
    Reversal,
}

impl VoucherOf {
    /// The byte that ends its keys: `b` or `r`.
    pub fn tag(self) -> u8 {
        match self {
            VoucherOf::Booking => b'b',
            VoucherOf::Reversal => b'r',
        }
    }

    /// In words, for messages: `booking` or `reversal`.
    pub fn name(self) -> &'static str {
        match self {
            VoucherOf::Booking => "booking",
            VoucherOf::Reversal => "reversal",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    series: String,
    number: u32,
    date: String,
    text: String,
    rows: Vec<KeptRow>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeptRow {
    account: u16,
    amount: i64,
    text: String,
}

/// A voucher as kept: its bytes, or `None` for one without a number (never kept: only
/// numbered vouchers are).
pub fn encode_voucher(voucher: &Voucher) -> Option<Vec<u8>> {
    let kept = Kept {
        series: voucher.series.clone(),
        number: voucher.number?,
        date: format_date(voucher.date),
        text: voucher.text.clone(),
        rows: voucher
            .rows
            .iter()
            .map(|row| KeptRow { account: row.account, amount: row.amount, text: row.text.clone() })
            .collect(),
    };
    kvitt_protocol::cbor::encode(&kept).ok()
}

fn decode_voucher(bytes: &[u8]) -> Option<Voucher> {
    let value = kvitt_protocol::cbor::decode(bytes).ok()?;
    let kept: Kept = kvitt_protocol::cbor::from_value(&value).ok()?;
    Some(Voucher {
        series: kept.series,
        number: Some(kept.number),
        date: parse_date("date", &kept.date).ok()?,
        text: kept.text,
        rows: kept
            .rows
            .into_iter()
            .map(|row| VoucherRow { account: row.account, amount: row.amount, text: row.text })
            .collect(),
        payroll: Vec::new(),
    })
}

impl Ledger {
    /// The voucher kept for a claim's booking or reversal, if one is.
    pub fn voucher(&self, claim: &RecordId, of: VoucherOf) -> Result<Option<Voucher>, LedgerError> {
        let Some(bytes) = self.store.get(&keys::voucher(claim, of))? else {
            return Ok(None);
        };
        decode_voucher(&bytes).map(Some).ok_or_else(|| LedgerError::Damaged {
            key: format!("voucher/{claim}/{}", of.name()),
            why: "not a kept voucher".into(),
        })
    }

    /// When a claim's booking or reversal voucher was last exported in an SIE file
    /// (`YYYY-MM-DD`), if it was.
    pub fn exported(&self, claim: &RecordId, of: VoucherOf) -> Result<Option<String>, LedgerError> {
        Ok(self.store.get(&keys::sie(claim, of))?.map(|date| String::from_utf8_lossy(&date).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_kept_voucher_reads_back_as_it_was_written_and_its_bytes_are_deterministic() {
        let voucher = Voucher {
            series: "K".into(),
            number: Some(u32::MAX),
            date: date!(2026 - 05 - 04),
            text: "Räkning 2026-000001 emp-1 ☕".into(),
            rows: vec![
                VoucherRow { account: 5800, amount: 10_000, text: "Taxi".into() },
                VoucherRow { account: 2820, amount: -10_000, text: "Att betala".into() },
            ],
            payroll: Vec::new(),
        };
        let bytes = encode_voucher(&voucher).unwrap();
        assert_eq!(decode_voucher(&bytes), Some(voucher.clone()));
        assert_eq!(encode_voucher(&voucher.clone()), Some(bytes.clone()), "the same bytes each time");
        assert_eq!(encode_voucher(&Voucher { number: None, ..voucher }), None, "only numbered vouchers");
        assert_eq!(decode_voucher(&bytes[..bytes.len() - 1]), None);

        let store = Arc::new(crate::store::MemoryStore::new());
        let claim = RecordId::of(b"claim");
        let mut batch = Batch::new();
        batch.insert(keys::voucher(&claim, VoucherOf::Booking), bytes);
        batch.insert(keys::voucher(&claim, VoucherOf::Reversal), b"damaged".to_vec());
        store.apply(&batch).unwrap();
        let ledger = Ledger::new(store);
        assert!(ledger.voucher(&claim, VoucherOf::Booking).unwrap().is_some());
        assert!(matches!(ledger.voucher(&claim, VoucherOf::Reversal), Err(LedgerError::Damaged { .. })));
        assert_eq!(ledger.voucher(&RecordId::of(b"other"), VoucherOf::Booking).unwrap(), None);
    }
}
