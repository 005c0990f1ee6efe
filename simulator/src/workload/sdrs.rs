//! Tills that speak SDRS in the workload: part of the card sales at Swedish merchants come
//! from a till that writes its receipt as an SDRS document (ARTS DigitalReceipt with the
//! Swedish extension) naming the card's PAR. The simulator imports the document with
//! kvitt-formats, as the merchant's node does for `POST /v1/receipts` in `application/xml`,
//! and pushes the receipt and the card reference it names: from there it is a card receipt.

use kvitt_formats::{import, sdrs_document, Format, FormatError, SdrsSale, Supplement};
use kvitt_protocol::receipt::Receipt;

/// Share of the card sales at Swedish merchants whose till speaks SDRS.
pub const SDRS_SHARE: f64 = 0.05;
/// Mixed into the seed for the SDRS tills' own random stream.
pub const RNG_STREAM: u64 = 0x5d25_5d25_5d25_5d25;

/// What the SDRS till of `receipt`'s sale writes, paid with the card `par` (its last four
/// digits `last_four`), imported back: its receipt (one line, the sale's total, with the
/// buyer of `receipt` so the workload knows whose it is) and the card reference it names.
pub fn via_sdrs(receipt: &Receipt, par: &str, last_four: u32) -> Result<(Receipt, String), FormatError> {
    let sale = SdrsSale {
        seller: (&receipt.merchant.name, &receipt.merchant.org),
        register: &receipt.register,
        serial: receipt.serial,
        at: &receipt.issued_at,
        description: receipt.lines.first().map_or("Resa", |line| line.description.as_str()),
        price: receipt.total,
        par,
        last_four: last_four % 10_000,
    };
    let imported = import(Format::Sdrs, sdrs_document(&sale).as_bytes(), &Supplement::default())?;
    let card = imported.card.map(|card| card.as_str().to_owned()).unwrap_or_default();
    Ok((Receipt { buyer: receipt.buyer.clone(), ..imported.receipt }, card))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::cards::card_reference;

    #[test]
    fn a_sale_goes_through_the_document_and_keeps_its_total_buyer_and_card() {
        let sample = kvitt_protocol::sample::MERCHANT_ORG;
        let receipt = kvitt_protocol::sample::receipt(sample, kvitt_protocol::sample::AGENCY_ORG, "K1", 7);
        let par = card_reference(1, "emp-1-0");
        let (imported, card) = via_sdrs(&receipt, &par, 1234).unwrap();
        assert_eq!(card, par);
        assert_eq!(
            (imported.total, imported.serial, imported.buyer),
            (receipt.total, receipt.serial, receipt.buyer)
        );
        assert_eq!((imported.lines.len(), imported.merchant.org), (1, receipt.merchant.org));
    }
}
